"""The protocol as the engine holds it, for `screening-bot protocol`: a coordinator checks this against the
protocol document, so everything here is read from the protocol data, the calculators' constants and the
code lists at call time, never written a second time."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterator
from typing import Any

from . import calculators, codes, derive
from .labels import fmt_number
from .logic import Compare, Context, CountAtLeast, Expr, Includes
from .protocol import CRITERIA, FLAGS, PROTOCOL_VERSION, RECHECK_BY_ID, Criterion

# I6 and E11 are functions (their pending verdicts depend on sex and childbearing potential in ways an
# expression cannot phrase), so they carry no Expr to render: these two sentences are the only rule texts
# written by hand, and must follow _i6 and _e11 in protocol.py when those change.
_FUNCTION_RULES = {
    "I6": "met when sex is male or childbearing_potential is false; with childbearing potential (or a known "
          "pregnancy): not met when agrees_contraception is false, otherwise pending; unknown while sex, or "
          "a girl's childbearing_potential, is unknown",
    "E11": "excluded when pregnant; clear when sex is male or childbearing_potential is false; otherwise "
           "pending",
}
ALWAYS_PENDING = "always pending"

_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def protocol_document() -> dict[str, Any]:
    return {
        "protocol_version": PROTOCOL_VERSION,
        "criteria": [_criterion(c) for c in CRITERIA],
        "derived": _derived(),
        "codes": _codes(),
        "readings": [{"criterion": c.id, "text": c.reading} for c in CRITERIA if c.reading],
    }


def _criterion(c: Criterion) -> dict[str, Any]:
    expr = c.rule if isinstance(c.rule, Expr) else None
    recheck = RECHECK_BY_ID.get(c.id)
    can_pend = c.unknown_is_pending or expr is None
    return {
        "id": c.id,
        "kind": c.kind,
        "title": c.title,
        "rule": expr.text() if expr is not None else _function_rule(c),
        "facts": sorted(c.facts),
        "thresholds": _thresholds(expr) if expr is not None else [],
        "alternatives": [{"name": name, "rule": path.text()} for name, path in c.paths],
        "pending": c.pending_reason if can_pend and c.pending_reason else None,
        "reading": c.reading or None,
        "flags": [{"when": f.when.text(), "text": f.text} for f in FLAGS if f.criterion == c.id],
        "recheck": None if recheck is None else {
            "parts": [{"when": cond.text(), "text": text} for cond, text in recheck.parts],
            "unless": recheck.unless.text() if recheck.unless is not None else None,
        },
    }


def _function_rule(c: Criterion) -> str:
    # A rule that reads no fact and is pending on an empty referral is pending on every referral.
    if not c.facts and c.judge(Context({})).verdict == "pending":
        return ALWAYS_PENDING
    if c.id not in _FUNCTION_RULES:
        raise KeyError(f"{c.id} has a function rule: describe it in protocol_doc._FUNCTION_RULES")
    return _FUNCTION_RULES[c.id]


def _atoms(expr: Expr) -> Iterator[Expr]:
    """Every sub-expression, depth first: fields holding an Expr or a tuple of them are its children."""
    yield expr
    for f in dataclasses.fields(expr):  # type: ignore[arg-type]
        value = getattr(expr, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, Expr):
                yield from _atoms(child)


def _thresholds(expr: Expr) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in _atoms(expr):
        if isinstance(e, Compare):
            item = {"fact": e.key, "op": _SYMBOL[e.op], "value": e.threshold}
        elif isinstance(e, CountAtLeast):
            item = {"fact": e.key, "op": "distinct count ≥", "value": e.n}
        elif isinstance(e, Includes):
            item = {"fact": e.key, "op": "holds one of", "value": list(e.members)}
        else:
            continue
        if item not in out:
            out.append(item)
    return out


def _limit(fact: str, op: str, value: float) -> dict[str, Any]:
    return {"fact": fact, "op": op, "value": value}


def _derived() -> list[dict[str, Any]]:
    # Read through the modules, not imported by name: a changed constant must show here.
    d, c = derive, calculators
    clinical = [dom for dom in dict.fromkeys(v[0] for v in codes.EULAR_ACR_2019_ITEMS.values())
                if dom in codes.EULAR_ACR_2019_CLINICAL_DOMAINS]
    egfr_k, umol = c.SCHWARTZ_BEDSIDE_K, c.UMOL_PER_MG_DL_CREATININE
    return [
        {"fact": "sledai_2k", "inputs": ["sledai_2k_items", "sledai_2k_unknown"],
         "rule": "the sum of the weights of the SLEDAI-2K descriptors present; with descriptors not assessed "
                 "a range: low = the sum of those present, high = low plus the weights of those not assessed "
                 "(sledai_2k_unknown without sledai_2k_items gives no range)",
         "thresholds": [], "tolerance": None},
        {"fact": "target_not_reached", "inputs": ["sledai_2k"],
         "rule": f"sledai_2k ≥ {d.SLEDAI_TARGET} (or a SLEDAI-2K range whose low end is ≥ {d.SLEDAI_TARGET}) "
                 f"gives true: the childhood LLDAS needs SLEDAI-2K ≤ {d.SLEDAI_TARGET - 1}",
         "thresholds": [_limit("sledai_2k", "≥", d.SLEDAI_TARGET)], "tolerance": None},
        {"fact": "sle_eular_acr_2019", "inputs": ["eular_acr_2019"],
         "rule": f"classified when ana_ge_1_80 is true, the total (the highest item of each domain) is "
                 f"≥ {c.EULAR_ACR_2019_THRESHOLD} and a clinical item ({', '.join(clinical)}) is present; "
                 f"not classified when ANA is false, the highest possible total is < {c.EULAR_ACR_2019_THRESHOLD} "
                 "or no clinical item is possible; without items only a negative ANA decides",
         "thresholds": [_limit("eular_acr_2019_total", "≥", c.EULAR_ACR_2019_THRESHOLD)], "tolerance": None},
        {"fact": "gc_high_dose", "inputs": ["gc_peak_mg_kg_day", "gc_peak_mg_day", "weight_kg"],
         "rule": f"true when gc_peak_mg_kg_day ≥ {d.GC_MG_KG_DAY:g} or gc_peak_mg_day ≥ {d.GC_MG_DAY:g}; false "
                 "when both are known and below; with weight_kg each gives the other (mg/day = mg/kg/day × "
                 f"weight); all three more than {d.DOSE_TOLERANCE * 100:g} % apart is a contradiction",
         "thresholds": [_limit("gc_peak_mg_kg_day", "≥", d.GC_MG_KG_DAY), _limit("gc_peak_mg_day", "≥", d.GC_MG_DAY)],
         "tolerance": {"value": d.DOSE_TOLERANCE, "unit": "fraction of mg/kg/day × weight_kg"}},
        {"fact": "steroid_dependent", "inputs": ["gc_taper_floor_mg_kg_day"],
         "rule": f"gc_taper_floor_mg_kg_day ≥ {d.TAPER_FLOOR:g} gives true, below it false",
         "thresholds": [_limit("gc_taper_floor_mg_kg_day", "≥", d.TAPER_FLOOR)], "tolerance": None},
        {"fact": "egfr", "inputs": ["creatinine", "creatinine_unit", "height_cm"],
         "rule": f"bedside Schwartz: egfr = {egfr_k:g} × height_cm / creatinine (mg/dL), with 1 mg/dL = "
                 f"{umol:g} µmol/L ({egfr_k * umol:.1f} × height_cm / creatinine in µmol/L); a given egfr more "
                 f"than {d.EGFR_TOLERANCE:g} mL/min/1.73 m² from it is a contradiction",
         "thresholds": [], "tolerance": {"value": d.EGFR_TOLERANCE, "unit": "mL/min/1.73 m²"}},
    ]


def _codes() -> dict[str, Any]:
    return {
        "dmards": list(codes.DMARDS),
        "cardiac_conditions": list(codes.CARDIAC_CONDITIONS),
        "ln_classes": list(codes.LN_CLASSES),
        "sledai_2k": [{"code": k, "label": codes.SLEDAI_2K_LABELS[k], "weight": w}
                      for k, w in codes.SLEDAI_2K_WEIGHTS.items()],
        "eular_acr_2019": [{"code": k, "label": codes.EULAR_ACR_2019_LABELS[k], "domain": dom, "weight": w,
                            "clinical": dom in codes.EULAR_ACR_2019_CLINICAL_DOMAINS}
                           for k, (dom, w) in codes.EULAR_ACR_2019_ITEMS.items()],
        "prednisone_equivalents": [{"drug": k, "mg_equal_to_5_mg_prednisone": mg}
                                   for k, mg in codes.GLUCOCORTICOID_MG_PER_5MG_PREDNISONE.items()],
    }


# ---- plain text, for paper -------------------------------------------------------------------------------

_WIDTH = 100
_INDENT = " " * 18


def _field(name: str, text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=f"    {name + ':':<14}", subsequent_indent=_INDENT,
                         break_long_words=False, break_on_hyphens=False)


def _limits(items: list[dict[str, Any]]) -> str:
    def value(v: Any) -> str:
        return ", ".join(v) if isinstance(v, list) else fmt_number(v)
    return "; ".join(f"{t['fact']} {t['op']} {value(t['value'])}" for t in items)


def _criterion_text(c: dict[str, Any]) -> list[str]:
    lines = textwrap.wrap(f"{c['id']:<5} {c['title']}", _WIDTH, subsequent_indent=" " * 6)
    lines += _field("rule", c["rule"])
    for alt in c["alternatives"]:
        lines += _field("alternative", f"{alt['name']}: {alt['rule']}")
    if c["thresholds"]:
        lines += _field("thresholds", _limits(c["thresholds"]))
    if c["pending"]:
        lines += _field("pending", c["pending"])
    for flag in c["flags"]:
        lines += _field("flag", flag["text"])
        lines += textwrap.wrap(f"raised when {flag['when']}", _WIDTH, initial_indent=_INDENT,
                               subsequent_indent=_INDENT + "  ", break_long_words=False, break_on_hyphens=False)
    if c["recheck"]:
        parts = "; ".join(f"{p['text']} (when {p['when']})" for p in c["recheck"]["parts"])
        unless = f"; not when {c['recheck']['unless']}" if c["recheck"]["unless"] else ""
        lines += _field("re-check", f"may be re-referred {parts}{unless}")
    if c["reading"]:
        lines += _field("reading", c["reading"])
    return lines


def _items(name: str, items: list[str]) -> list[str]:
    """A code list wrapped between its items only: "visual_disturbance 8" never splits over two lines."""
    lines, line = [], f"{name}:"
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(line) + 1 + len(piece) > _WIDTH:
            lines.append(line)
            line = "   "
        line += " " + piece
    return [*lines, line]


def _codes_text(cl: dict[str, Any]) -> list[str]:
    eular = [f"{i['code']} ({i['domain']}{'*' if i['clinical'] else ''}, {i['weight']})" for i in cl["eular_acr_2019"]]
    pred = [f"{i['drug']} {fmt_number(i['mg_equal_to_5_mg_prednisone'])}" for i in cl["prednisone_equivalents"]]
    return [
        *_items("DMARDs", cl["dmards"]),
        *_items("Cardiac conditions", cl["cardiac_conditions"]),
        *_items("Lupus nephritis classes", cl["ln_classes"]),
        *_items("SLEDAI-2K descriptors (weight)", [f"{i['code']} {i['weight']}" for i in cl["sledai_2k"]]),
        *_items("2019 EULAR/ACR items (domain, weight; * a clinical domain)", eular),
        *_items("Prednisone equivalents (mg equal to 5 mg prednisone)", pred),
    ]


def protocol_text(doc: dict[str, Any]) -> str:
    lines = [f"Protocol {doc['protocol_version']}, as the screening engine holds it", ""]
    kind = None
    for c in doc["criteria"]:
        if c["kind"] != kind:
            kind = c["kind"]
            lines += [f"{kind.upper()} CRITERIA", ""]
        lines += [*_criterion_text(c), ""]
    lines += ["DERIVED FACTS", ""]
    for d in doc["derived"]:
        lines += textwrap.wrap(f"{d['fact']} (from {', '.join(d['inputs'])})", _WIDTH, subsequent_indent="    ")
        lines += _field("rule", d["rule"])
        if d["thresholds"]:
            lines += _field("thresholds", _limits(d["thresholds"]))
        lines.append("")
    lines += ["CODE LISTS", "", *_codes_text(doc["codes"])]
    return "\n".join(lines)
