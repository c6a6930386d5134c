"""`screening-bot evaluate FILE [--json]`: decide the outcome for a facts file."""

import argparse
import json
import sys

from pydantic import ValidationError

from criteria import Facts, evaluate

from . import i18n
from .report import outcome_text
from .settings import clip

# A file can hold a million wrong values: the first of them say what is wrong, a count says the rest.
MAX_ERRORS = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a facts file (JSON object; '-' for standard input)")
    p.add_argument("file", help="path of a JSON facts file, or - for standard input")
    p.add_argument("--json", action="store_true", help="print the machine-readable outcome")
    p.add_argument("--lang", metavar="LANG", help="the language of the text: zh or en (default: the system locale)")
    p.set_defaults(func=run)


# Errors about a value the user gave: the message says what was given, so a typo is easy to spot.
_SHOW_INPUT = frozenset({
    "literal_error", "less_than", "less_than_equal", "greater_than", "greater_than_equal",
    "finite_number", "float_type", "int_type", "int_from_float", "bool_type", "list_type",
    "string_type", "model_type", "dict_type",
})


def validation_messages(error: ValidationError) -> list[str]:
    out = []
    for e in error.errors(include_url=False):
        where = ".".join(clip(str(p)) for p in e["loc"])  # a key is input too
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key: not a fact of this protocol (see criteria.md)"
        elif e["type"] in _SHOW_INPUT:
            msg = f"{msg} (got {clip(json.dumps(e['input'], ensure_ascii=False, default=str))})"
        out.append(f"{where}: {msg}" if where else msg)
    return out


class DuplicateKey(ValueError):
    """A JSON object names a key twice."""


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    with open(file, encoding="utf-8") as f:
        return f.read()


def run(args: argparse.Namespace) -> int:
    file = clip(args.file, 100)  # as the messages name it
    try:
        raw = _read(args.file)
    except OSError as exc:
        print(f"screening-bot evaluate: cannot read {file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"screening-bot evaluate: {file} is not UTF-8 text: {exc.reason} at byte {exc.start}",
              file=sys.stderr)
        return 2
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:  # its message is a position, never the text
        print(f"screening-bot evaluate: {file} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    except DuplicateKey as exc:  # the last would win silently: the outcome would depend on key order
        print(f"screening-bot evaluate: {file} gives {clip(str(exc))!r} twice; give each fact once",
              file=sys.stderr)
        return 2
    except ValueError:  # an integer too long to convert (Python refuses more than 4300 digits)
        print(f"screening-bot evaluate: {file} holds a number too long to be a fact", file=sys.stderr)
        return 2
    except RecursionError:
        print(f"screening-bot evaluate: {file} is not a facts file: JSON nested too deeply",
              file=sys.stderr)
        return 2
    if not isinstance(data, dict):
        print("screening-bot evaluate: the facts file must hold a JSON object", file=sys.stderr)
        return 2
    try:
        facts = Facts.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        lines = validation_messages(exc)
        for line in lines[:MAX_ERRORS]:
            print(f"screening-bot evaluate: invalid facts: {line}", file=sys.stderr)
        if len(lines) > MAX_ERRORS:
            print(f"screening-bot evaluate: invalid facts: {len(lines) - MAX_ERRORS} more errors not shown",
                  file=sys.stderr)
        return 2
    outcome = evaluate(facts)
    lang = getattr(args, "lang", None)  # the text only: --json is language-neutral
    i18n.set_current(i18n.negotiate(lang) if lang else i18n.system_language())
    if args.json:
        print(json.dumps(outcome.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print(outcome_text(outcome))
    return 0
