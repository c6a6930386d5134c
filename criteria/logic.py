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

from . import messages as m
from .derive import Derived
from .labels import label
from .messages import Code, Fact, Joined, Msg, Qty, Word

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


# Derived facts whose explanation says everything (their label and yes/no would only repeat it).
WHY_ALONE = frozenset({"sle_eular_acr_2019"})


@dataclass(frozen=True)
class Context:
    """Effective fact values (derived facts filled in) and what the calculators said: for a fact they
    decided, how; for one they could not decide, what could (``calc``)."""

    values: Mapping[str, Any]
    calc: Mapping[str, Derived] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def decided(self, key: str) -> Derived | None:
        d = self.calc.get(key)
        return d if d is not None and d.value is not None else None

    def undecided(self, key: str) -> Derived | None:
        d = self.calc.get(key)
        return d if d is not None and d.value is None else None

    def source(self, key: str) -> str | None:
        """The calculator input that decided ``key``, if one did."""
        d = self.decided(key)
        return d.source if d else None

    def open_of(self, key: str) -> list[OpenFact]:
        """The unknown facts that can decide ``key``: the calculator's open inputs where it could not
        decide, else the fact itself."""
        d = self.undecided(key)
        return [(k, ()) for k in d.open] if d is not None and d.open else [(key, ())]


# An open fact: a fact still unknown that can change the verdict, with the known facts that make it matter.
OpenFact = tuple[str, tuple[Msg, ...]]


class Expr:
    def value(self, ctx: Context) -> Tri:
        raise NotImplementedError

    def text(self) -> str:
        """The rule in the spec's notation, for `screening-bot protocol`."""
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
        return ctx.open_of(self.key)

    def keys(self) -> frozenset[str]:
        return frozenset({self.key})

    def describe(self, ctx: Context) -> Msg:
        """The atom with its actual value, phrased for its truth value: "LVEF 54 % < 55 %" (``str()`` of
        the message)."""
        raise NotImplementedError


def _codes(key: str, values: Any) -> Joined:
    """A list fact's codes, each one a code an edge names by its label."""
    return Joined(tuple(Code(key, c) for c in values))


@dataclass(frozen=True)
class Yes(Atom):
    key: str

    def value(self, ctx: Context) -> Tri:
        return ctx.values.get(self.key)

    def text(self) -> str:
        return self.key

    def describe(self, ctx: Context) -> Msg:
        d = ctx.decided(self.key)
        says = d.says if d is not None else ""
        if says and self.key in WHY_ALONE:
            return says if isinstance(says, Msg) else Msg(says)
        answer = Word("yes" if ctx.get(self.key) else "no")
        if says:
            return m.msg(m.YES_NO_WHY, fact=Fact(self.key), answer=answer, why=says)
        if (source := ctx.source(self.key)) is not None:
            return m.msg(m.YES_NO_CALCULATED, fact=Fact(self.key), answer=answer, source=Fact(source))
        return m.msg(m.YES_NO, fact=Fact(self.key), answer=answer)


_OPS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    ">=": (operator.ge, "<"), "<=": (operator.le, ">"), ">": (operator.gt, "≤"), "<": (operator.lt, "≥"),
    "==": (operator.eq, "≠"),
}
_SHOWN = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


@dataclass(frozen=True)
class Compare(Atom):
    key: str
    op: str
    threshold: float
    # When the fact is unknown and this condition holds, the comparison counts as false (E3b).
    unknown_false_if: Expr | None = None

    def value(self, ctx: Context) -> Tri:
        v = ctx.values.get(self.key)
        if v is None:
            d = ctx.undecided(self.key)
            if d is not None and d.range is not None:  # a score known as a range: decided if both ends agree
                op = _OPS[self.op][0]
                low, high = op(d.range[0], self.threshold), op(d.range[1], self.threshold)
                return low if low == high else None
            if self.unknown_false_if is not None and self.unknown_false_if.value(ctx) is True:
                return False
            return None
        return _OPS[self.op][0](v, self.threshold)

    def text(self) -> str:
        rule = f"{self.key} {_SHOWN[self.op]} {self.threshold:g}"
        if self.unknown_false_if is not None:
            rule += f" (unknown counts as false when {self.unknown_false_if.text()})"
        return rule

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        # The condition's own unknown facts matter only while it is unknown: once it is known to be
        # false (biopsy-proven LN on record), asking for it again cannot change the verdict.
        cond = self.unknown_false_if
        extra = cond.open_facts(ctx) if cond is not None and cond.value(ctx) is None else []
        own = ctx.open_of(self.key)
        return [*own, *[f for f in extra if f[0] != self.key]]

    def keys(self) -> frozenset[str]:
        extra = self.unknown_false_if.keys() if self.unknown_false_if is not None else frozenset()
        return frozenset({self.key}) | extra

    def describe(self, ctx: Context) -> Msg:
        v = ctx.get(self.key)
        d = ctx.undecided(self.key)
        threshold = Qty(self.key, self.threshold)
        if v is None and d is not None and d.range is not None:
            truth = self.value(ctx)
            op = _SHOWN[self.op] if truth else _OPS[self.op][1]
            return m.msg(m.RANGE_COMPARED, range=d.says, op=op, threshold=threshold)
        if v is None and self.unknown_false_if is not None:
            reasons = Joined(tuple(a.describe(ctx) for a in self.unknown_false_if.deciders(ctx)), "; ")
            return m.msg(m.NOT_NEEDED, fact=Fact(self.key), reasons=reasons)
        truth = self.value(ctx)
        op = _SHOWN[self.op] if truth else _OPS[self.op][1]
        if (source := ctx.source(self.key)) is not None:
            return m.msg(m.COMPARED_CALCULATED, fact=Fact(self.key), value=Qty(self.key, v), source=Fact(source),
                         op=op, threshold=threshold)
        return m.msg(m.COMPARED, fact=Fact(self.key), value=Qty(self.key, v), op=op, threshold=threshold)


@dataclass(frozen=True)
class Equals(Atom):
    key: str
    expected: Any

    def value(self, ctx: Context) -> Tri:
        v = ctx.values.get(self.key)
        return None if v is None else v == self.expected

    def text(self) -> str:
        return f"{self.key} = {self.expected}"

    def describe(self, ctx: Context) -> Msg:
        return m.msg(m.IS, fact=Fact(self.key), value=Word(str(ctx.get(self.key))))


@dataclass(frozen=True)
class Includes(Atom):
    """A list fact holds at least one of ``members``."""

    key: str
    members: tuple[str, ...]

    def value(self, ctx: Context) -> Tri:
        v = ctx.values.get(self.key)
        return None if v is None else any(m in v for m in self.members)

    def text(self) -> str:
        return f"{self.key} holds {_or_list(self.members)}"

    def describe(self, ctx: Context) -> Msg:
        v = ctx.get(self.key)
        hits = [x for x in v if x in self.members]
        if hits:
            return m.msg(m.LISTED, fact=Fact(self.key), items=_codes(self.key, hits))
        listed = _codes(self.key, v) if v else Word("none")
        return m.msg(m.LISTED_NONE_OF, fact=Fact(self.key), items=listed, members=_codes(self.key, self.members))


@dataclass(frozen=True)
class CountAtLeast(Atom):
    key: str
    n: int

    def value(self, ctx: Context) -> Tri:
        v = ctx.values.get(self.key)
        return None if v is None else len(set(v)) >= self.n

    def text(self) -> str:
        return f"number of distinct {self.key} ≥ {self.n}"

    def describe(self, ctx: Context) -> Msg:
        v = ctx.get(self.key)
        op = "≥" if self.value(ctx) else "<"
        count, name = len(set(v)), label(self.key)
        fact: Fact | Word = Fact(self.key)
        if count == 1 and name.endswith("s"):  # "1 DMARD", "2 DMARDs"
            fact = Word(name[:-1])
        if not v:
            return m.msg(m.COUNTED, count=str(count), fact=fact, op=op, n=str(self.n))
        return m.msg(m.COUNTED_LISTED, count=str(count), fact=fact, items=_codes(self.key, v), op=op, n=str(self.n))


@dataclass(frozen=True)
class NonEmpty(Atom):
    key: str

    def value(self, ctx: Context) -> Tri:
        v = ctx.values.get(self.key)
        return None if v is None else len(v) > 0

    def text(self) -> str:
        return f"{self.key} is non-empty"

    def describe(self, ctx: Context) -> Msg:
        v = ctx.get(self.key)
        return m.msg(m.LISTED, fact=Fact(self.key), items=_codes(self.key, v)) if v else \
            m.msg(m.NONE, fact=Fact(self.key))


@dataclass(frozen=True)
class Not(Expr):
    item: Expr

    def value(self, ctx: Context) -> Tri:
        return k_not(self.item.value(ctx))

    def text(self) -> str:
        return f"NOT {self.item.text()}"

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
        # k_and, unrolled: evaluate() runs this some thousands of times a second
        result: Tri = True
        for i in self.items:
            v = i.value(ctx)
            if v is False:
                return False
            if v is None:
                result = None
        return result

    def text(self) -> str:
        return " AND ".join(_part(i) for i in self.items)

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        # Every unknown part matters; the true parts are why (HBV-DNA matters because HBcAb is positive).
        values = [(i, i.value(ctx)) for i in self.items]
        because = tuple(a.describe(ctx) for i, v in values if v is True for a in i.deciders(ctx))
        return [(k, b + because) for i, v in values if v is None for k, b in i.open_facts(ctx)]


class Any_(_Junction):
    def value(self, ctx: Context) -> Tri:
        # k_or, unrolled (see All.value)
        result: Tri = False
        for i in self.items:
            v = i.value(ctx)
            if v is True:
                return True
            if v is None:
                result = None
        return result

    def text(self) -> str:
        return " OR ".join(_part(i) for i in self.items)

    def open_facts(self, ctx: Context) -> list[OpenFact]:
        return [f for i in self.items if i.value(ctx) is None for f in i.open_facts(ctx)]


def _part(e: Expr) -> str:
    inner = e.item if isinstance(e, IsTrue) else e  # IsTrue prints its expression as it is
    return f"({e.text()})" if isinstance(inner, _Junction) and len(inner.items) > 1 else e.text()


def _or_list(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


# ---- conditions of flags and re-checks: two-valued questions about a three-valued expression -------------

@dataclass(frozen=True)
class IsTrue(Expr):
    """True exactly when ``item`` is known to be true (an unknown part never raises a flag)."""

    item: Expr

    def value(self, ctx: Context) -> Tri:
        return self.item.value(ctx) is True

    def text(self) -> str:
        return self.item.text()

    def keys(self) -> frozenset[str]:
        return self.item.keys()


@dataclass(frozen=True)
class NotTrue(Expr):
    """True when ``item`` is false or unknown ("the mg/kg/day is below 1 or unknown")."""

    item: Expr

    def value(self, ctx: Context) -> Tri:
        return self.item.value(ctx) is not True

    def text(self) -> str:
        return f"({self.item.text()}) is false or unknown"

    def keys(self) -> frozenset[str]:
        return self.item.keys()


@dataclass(frozen=True)
class NotFalse(Expr):
    """True when ``item`` is true or unknown."""

    item: Expr

    def value(self, ctx: Context) -> Tri:
        return self.item.value(ctx) is not False

    def text(self) -> str:
        return f"({self.item.text()}) is true or unknown"

    def keys(self) -> frozenset[str]:
        return self.item.keys()


@dataclass(frozen=True)
class OnlyThrough(Expr):
    """``target`` is true and none of ``others`` is: an unknown path does not count (criteria.md)."""

    target: Expr
    others: tuple[Expr, ...]

    def value(self, ctx: Context) -> Tri:
        return self.target.value(ctx) is True and not any(o.value(ctx) is True for o in self.others)

    def text(self) -> str:
        return f"only through {_part(self.target)} (not {' nor '.join(_part(o) for o in self.others)})"

    def keys(self) -> frozenset[str]:
        return frozenset().union(self.target.keys(), *(o.keys() for o in self.others))
