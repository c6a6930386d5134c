"""`screening-bot protocol [--json]`: the protocol as the engine holds it, for a coordinator to check
against the protocol document."""

from __future__ import annotations

import argparse
import json

from criteria.protocol_doc import protocol_document, protocol_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="print the protocol as the engine holds it: criteria, rules, thresholds, "
                                        "flags, re-checks, derived facts and code lists")
    p.add_argument("--json", action="store_true", help="print the protocol document as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    doc = protocol_document()
    print(json.dumps(doc, ensure_ascii=False, indent=2) if args.json else protocol_text(doc))
    return 0
