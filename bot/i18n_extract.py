"""A Babel extractor for the phrase tables (babel.cfg): the msgids are the English sentences as they stand
in the modules' constants, so no literal needs wrapping. It imports the module and yields every string a
module-level UPPER_CASE constant holds (in dicts: the values; tuples, lists: the items; a Plural as a
msgid with its plural), the questions' texts, help and choice labels (QuestionDef, Choice) and the fact
labels' names (criteria.labels.Label): exactly the strings the edges pass to ``bot.i18n._`` at run time,
computed ones included ("class IV"). Each message's comment names its constant (``bot.phrases.HELP``,
``bot.phrases.SENTENCES[started]``), which tests/test_i18n.py uses to name the ones left untranslated.

Options (babel.cfg): ``skip``: names to leave out (words the readers take, codes); ``only``: the names to
take, when a module holds more than sentences.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
from collections.abc import Iterator
from typing import Any

_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_LETTER = re.compile(r"[^\W\d_]")


def module_name(path: str) -> str:
    rel = os.path.relpath(os.path.abspath(path))
    return rel[:-3].replace(os.sep, ".") if rel.endswith(".py") else rel.replace(os.sep, ".")


def strings(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(where, message) for every translatable string of ``value``; message a str or (singular, plural)."""
    from bot.i18n import Plural
    from conversations.dialogue.answers import Choice, short_label
    from conversations.dialogue.questions import QuestionDef
    from criteria.labels import Label

    if isinstance(value, Plural):
        yield where, (value.one, value.other)
    elif isinstance(value, str):
        if _LETTER.search(value):
            yield where, value
    elif isinstance(value, QuestionDef):
        yield f"{where}.text", value.text
        if value.help:
            yield f"{where}.help", value.help
        for c in value.choices:
            yield from strings(c, f"{where}.choices[{c.value}]")
    elif isinstance(value, Choice):
        yield where, value.label
        if (short := short_label(value.label)) != value.label:  # how summaries name an item
            yield f"{where}.short", short
    elif isinstance(value, Label):
        yield where, value.name
        if _LETTER.search(value.unit):
            yield f"{where}.unit", value.unit
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, f"{where}[{k}]")
    elif isinstance(value, tuple | list):
        for i, v in enumerate(value):
            key = getattr(v, "id", None) or i
            yield from strings(v, f"{where}[{key}]")


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: dict[str, str]) -> Iterator[tuple]:
    """Babel's extractor interface: (lineno, funcname, message, comments)."""
    source = fileobj.read()
    source = source.decode(options.get("encoding", "utf-8")) if isinstance(source, bytes) else source
    lines: dict[str, int] = {}
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name) and _NAME.match(t.id):
                lines.setdefault(t.id, node.lineno)
    skip = set(options.get("skip", "").split())
    only = set(options.get("only", "").split())
    name = module_name(fileobj.name)
    module = importlib.import_module(name)
    seen: set[Any] = set()
    for const, lineno in sorted(lines.items(), key=lambda kv: kv[1]):
        if const in skip or (only and const not in only):
            continue
        for where, message in strings(getattr(module, const), f"{name}.{const}"):
            if message in seen:
                continue
            seen.add(message)
            yield lineno, ("ngettext" if isinstance(message, tuple) else "gettext"), message, [where]
