"""Rules as data: Kleene three-valued expressions over facts that can also say why.

Each expression answers three questions about a set of facts: its value (True, False or None for
unknown), the atoms that decided a known value (for the "failed because" lines), and, when the value is
unknown, the unknown facts that could still change it (for the minimal list of missing items).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .labels import FACT_LABELS, fmt_quantity, label

Tri = bool | None


def k_and(values: Iterable[Tri]) -> Tri:
    result: Tri = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def k_or(values: Iterable[Tri]) -> Tri:
    result: Tri = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result


def k_not(value: Tri) -> Tri:
    return None if value is None else not value


@dataclass(frozen=True)
class Context:
    """Effective fact values (derived facts filled in) and, for derived facts, the input they came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def note(self, key: str) -> str:
        source = self.sources.get(key)
        return f" (calculated from {FACT_LABELS[source].name})" if source else ""


# An open fact: a fact still unknown that can change the verdict, with the known facts that make it matter.
OpenFact = tuple[str, tuple[str, ...]]


class Expr:
    def value(self, ctx: Context) -> Tri:
        raise NotImplementedError

    def deciders(self, ctx: Context) -> list[Atom]:
        """The atoms that give this expression its known value."""
        raise NotImplementedError

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        """For an unknown value: the unknown facts whose answer could change it."""
        raise NotImplementedError

    def keys(self) -> frozenset[str]:
        raise NotImplementedError


class Atom(Expr):
    key: str

    def deciders(self, ctx: Context) -> list[Atom]:
        return [self]

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        return [(self.key, ())]

    def keys(self) -> frozenset[str]:
        return frozenset({self.key})

    def describe(self, ctx: Context) -> str:
        """The atom with its actual value, phrased for its truth value: "LVEF 54 % < 55 %"."""
        raise NotImplementedError


@dataclass(frozen=True)
class Yes(Atom):
    key: str

    def value(self, ctx: Context) -> Tri:
        return ctx.get(self.key)

    def describe(self, ctx: Context) -> str:
        return f"{label(self.key)}: {'yes' if ctx.get(self.key) else 'no'}{ctx.note(self.key)}"


_OPS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    ">=": (operator.ge, "<"), "<=": (operator.le, ">"), ">": (operator.gt, "≤"), "<": (operator.lt, "≥"),
}
_SHOWN = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


@dataclass(frozen=True)
class Compare(Atom):
    key: str
    op: str
    threshold: float
    # When the fact is unknown and this condition holds, the comparison counts as false (E3b).
    unknown_false_if: Expr | None = None

    def value(self, ctx: Context) -> Tri:
        v = ctx.get(self.key)
        if v is None:
            if self.unknown_false_if is not None and self.unknown_false_if.value(ctx) is True:
                return False
            return None
        return _OPS[self.op][0](v, self.threshold)

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        # The condition's own unknown facts matter only while it is unknown: once it is known to be
        # false (biopsy-proven LN on record), asking for it again cannot change the verdict.
        cond = self.unknown_false_if
        extra = cond.open_facts(ctx) if cond is not None and cond.value(ctx) is None else []
        return [(self.key, ()), *[f for f in extra if f[0] != self.key]]

    def keys(self) -> frozenset[str]:
        extra = self.unknown_false_if.keys() if self.unknown_false_if is not None else frozenset()
        return frozenset({self.key}) | extra

    def describe(self, ctx: Context) -> str:
        v = ctx.get(self.key)
        if v is None and self.unknown_false_if is not None:
            reasons = "; ".join(a.describe(ctx) for a in self.unknown_false_if.deciders(ctx))
            return f"{label(self.key)} not needed ({reasons})"
        truth = self.value(ctx)
        op = _SHOWN[self.op] if truth else _OPS[self.op][1]
        return (f"{label(self.key)} {fmt_quantity(self.key, v)}{ctx.note(self.key)} {op} "
                f"{fmt_quantity(self.key, self.threshold)}")


@dataclass(frozen=True)
class Equals(Atom):
    key: str
    expected: Any

    def value(self, ctx: Context) -> Tri:
        v = ctx.get(self.key)
        return None if v is None else v == self.expected

    def describe(self, ctx: Context) -> str:
        return f"{label(self.key)} is {ctx.get(self.key)}"


@dataclass(frozen=True)
class Includes(Atom):
    """A list fact holds at least one of ``members``."""

    key: str
    members: tuple[str, ...]

    def value(self, ctx: Context) -> Tri:
        v = ctx.get(self.key)
        return None if v is None else any(m in v for m in self.members)

    def describe(self, ctx: Context) -> str:
        v = ctx.get(self.key)
        hits = [m for m in v if m in self.members]
        if hits:
            return f"{label(self.key)}: {', '.join(hits)}"
        listed = ", ".join(v) if v else "none"
        return f"{label(self.key)}: {listed} (none of {', '.join(self.members)})"


@dataclass(frozen=True)
class CountAtLeast(Atom):
    key: str
    n: int

    def value(self, ctx: Context) -> Tri:
        v = ctx.get(self.key)
        return None if v is None else len(set(v)) >= self.n

    def describe(self, ctx: Context) -> str:
        v = ctx.get(self.key)
        listed = f" ({', '.join(v)})" if v else ""
        op = "≥" if self.value(ctx) else "<"
        return f"{label(self.key)}: {len(set(v))}{listed} {op} {self.n}"


@dataclass(frozen=True)
class NonEmpty(Atom):
    key: str

    def value(self, ctx: Context) -> Tri:
        v = ctx.get(self.key)
        return None if v is None else len(v) > 0

    def describe(self, ctx: Context) -> str:
        v = ctx.get(self.key)
        return f"{label(self.key)}: {', '.join(v)}" if v else f"{label(self.key)}: none"


@dataclass(frozen=True)
class Not(Expr):
    item: Expr

    def value(self, ctx: Context) -> Tri:
        return k_not(self.item.value(ctx))

    def deciders(self, ctx: Context) -> list[Atom]:
        return self.item.deciders(ctx)

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        return self.item.open_facts(ctx)

    def keys(self) -> frozenset[str]:
        return self.item.keys()


@dataclass(frozen=True, init=False)
class _Junction(Expr):
    """AND or OR of parts: the parts whose value equals the whole's decide it (for AND false, every
    false part; for AND true, all parts; for OR the mirror image)."""

    items: tuple[Expr, ...]

    def __init__(self, *items: Expr) -> None:
        object.__setattr__(self, "items", items)

    def deciders(self, ctx: Context) -> list[Atom]:
        want = self.value(ctx)
        return [a for i in self.items if i.value(ctx) is want for a in i.deciders(ctx)]

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(i.keys() for i in self.items))


class All(_Junction):
    def value(self, ctx: Context) -> Tri:
        return k_and(i.value(ctx) for i in self.items)

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        # Every unknown part matters; the true parts are why (HBV-DNA matters because HBcAb is positive).
        values = [(i, i.value(ctx)) for i in self.items]
        because = tuple(a.describe(ctx) for i, v in values if v is True for a in i.deciders(ctx))
        return [(k, b + because) for i, v in values if v is None for k, b in i.open_facts(ctx)]


class Any_(_Junction):
    def value(self, ctx: Context) -> Tri:
        return k_or(i.value(ctx) for i in self.items)

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        return [f for i in self.items if i.value(ctx) is None for f in i.open_facts(ctx)]
