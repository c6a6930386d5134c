"""The `screening-bot` command: each subcommand lives in a module of its own."""

import argparse
import os
import sys

from . import audit_cmd, backup_cmd, chat_cmd, evaluate_cmd, log_cmd, protocol_cmd, reassess_cmd, run_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screening-bot",
        description="Pre-screening assistant for the pediatric anti-CD19 CAR-T refractory SLE study.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    evaluate_cmd.add_parser(sub)
    chat_cmd.add_parser(sub)
    backup_cmd.add_parser(sub)
    audit_cmd.add_parser(sub)
    log_cmd.add_parser(sub)
    reassess_cmd.add_parser(sub)
    protocol_cmd.add_parser(sub)
    run_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not getattr(args, "func", None):
            return main_job(args)
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush fails silently
        return 1


def main_job(args: argparse.Namespace) -> int:
    """With no command: the Telegram bot when a token is configured, otherwise the terminal pre-screen."""
    if telegram_configured():
        from . import run_cmd

        return run_cmd.run(args)
    return chat_cmd.run(args)


def telegram_configured() -> bool:
    import os

    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        return True
    try:
        with open(".env", encoding="utf-8") as env:
            return any(line.strip().startswith("TELEGRAM_BOT_TOKEN=") and line.split("=", 1)[1].strip()
                       for line in env)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
