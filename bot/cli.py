"""The `screening-bot` command: each subcommand lives in a module of its own."""

import argparse
import sys

from . import audit_cmd, evaluate_cmd, log_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screening-bot",
        description="Pre-screening assistant for the pediatric anti-CD19 CAR-T refractory SLE study.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    evaluate_cmd.add_parser(sub)
    audit_cmd.add_parser(sub)
    log_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
