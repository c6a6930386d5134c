"""`screening-bot backup OUT`: a consistent, verified copy of the database, safe while the bot runs."""

import argparse
import sys
from pathlib import Path

from conversations.records.backup import backup

from .settings import add_db_argument, settings_for


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="write a consistent copy of the database and verify it")
    p.add_argument("out", help="path of the new copy (must not exist)")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source = settings_for(args).db_path
    if not Path(source).exists():
        print(f"screening-bot backup: no database at {source}", file=sys.stderr)
        return 2
    try:
        result = backup(source, args.out)
    except FileExistsError as exc:
        print(f"screening-bot backup: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # where the copy goes: a directory that is not there, or not ours to write
        print(f"screening-bot backup: cannot write {args.out} ({exc.strerror or type(exc).__name__})",
              file=sys.stderr)
        return 2
    if not result.ok:
        print(f"screening-bot backup: the copy {result.path} FAILED its checks: integrity {result.integrity}; "
              f"audit {'ok' if result.audit.ok else result.audit.reason}", file=sys.stderr)
        return 1
    print(f"backup written: {result.path} ({result.size} bytes); integrity ok; audit chain intact: "
          f"{result.audit.events} events, head {result.audit.head}")
    return 0
