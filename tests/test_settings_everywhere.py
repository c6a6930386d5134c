"""One configuration for every subcommand (issue 11): the database named by SCREENING_DB_PATH in `.env`
alone is the one `chat`, `audit`, `log`, `backup`, `reassess` and `run` use; the environment wins over
`.env`; `--db` wins over both; a malformed setting stops any command with one line and exit status 2."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from audit_fixtures import populate
from strategies import eligible_facts

from bot import chat_cmd, cli, run_cmd
from bot.settings import DEFAULT_DB_PATH, Settings, load_settings
from conversations.records import audit, audit_key
from conversations.records.db import open_db

ROOT = Path(__file__).resolve().parents[1]
KEYS = [f.alias for f in Settings.model_fields.values()]
SCRIPT = Path(sys.executable).parent / "screening-bot"
BOT = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]




def trail(path: Path) -> Path:
    """A database with a realistic audit trail at ``path``, keyed with the key file the bot keeps beside it."""
    db = open_db(path)
    audit.ensure_schema(db)
    audit.bind(db, audit_key.generate(path.with_name(path.name + ".audit-key")))
    populate(db)
    db.conn.close()
    return path


def events(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {audit.TABLE}").fetchone()[0]
    finally:
        conn.close()


def dotenv(cwd: Path, **values: object) -> None:
    (cwd / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def main(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def env_db(cwd, tmp_path):
    """The database SCREENING_DB_PATH in `.env` names (not ./screening.db)."""
    db = trail(tmp_path / "data" / "trial.db")
    dotenv(cwd, SCREENING_DB_PATH=db)
    yield db
    assert not (cwd / DEFAULT_DB_PATH).exists(), "nothing fell back to the default database"


@pytest.fixture
def serve(monkeypatch):
    """`run` up to serving, not Telegram: what it would serve with, and whether it held the lock."""
    seen = {}

    def fake_serve(settings: Settings) -> int:
        seen["settings"] = settings
        seen["locked"] = run_cmd.acquire_lock(settings.db_path) is None
        return 0

    monkeypatch.setattr(run_cmd, "serve", fake_serve)
    return seen


# ---- the database in .env is the one every command uses ---------------------------------------------------

@pytest.mark.slow  # a process of its own
def test_chat_uses_the_database_in_dotenv(env_db, cwd):
    # A process of its own: the terminal writes to the standard output it started with.
    proc = subprocess.run([*BOT, "chat", "--jsonl"], input="4\nfemale\nyes\n", capture_output=True, text=True,
                          cwd=cwd, env={k: v for k, v in os.environ.items() if k not in KEYS}, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    outcome = next(x for x in lines if x["type"] == "outcome")  # the session goes on after it (issue 12)
    assert outcome["status"] == "ineligible"
    conn = sqlite3.connect(env_db)
    try:
        stored = {r[0] for r in conn.execute("SELECT referral_id FROM prescreens")}
    finally:
        conn.close()
    assert lines[0]["referral_id"] in stored


def test_evaluate_loads_the_settings_and_works(env_db, capsys, tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(eligible_facts()), encoding="utf-8")
    code, out, err = main(capsys, "evaluate", str(facts), "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["status"] == "eligible"


def test_audit_verify_checks_the_database_in_dotenv(env_db, capsys):
    seq, head = audit.head(open_db(env_db))
    code, out, err = main(capsys, "audit", "verify")
    assert code == 0 and err == ""
    assert out.strip().startswith(f"audit trail sound: {seq} events, head {seq} {head}; keyed from event 1 (key ")


def test_audit_export_reads_and_records_in_the_database_in_dotenv(env_db, capsys, tmp_path):
    before = events(env_db)
    out_path = tmp_path / "export.jsonl"
    code, out, err = main(capsys, "audit", "export", "--format", "jsonl", "--out", str(out_path))
    assert code == 0 and err == "" and out_path.is_file()
    assert events(env_db) == before + 1, "the export is recorded in the trail it exported"


def test_log_counts_the_database_in_dotenv(env_db, capsys):
    code, out, err = main(capsys, "log", "--json")
    assert code == 0 and err == ""
    assert json.loads(out)


def test_backup_copies_the_database_in_dotenv(env_db, capsys, tmp_path):
    copy = tmp_path / "copy.db"
    code, out, err = main(capsys, "backup", str(copy))
    assert code == 0 and err == "" and out.startswith(f"backup written: {copy}")
    assert events(copy) == events(env_db)


def test_reassess_reads_the_database_in_dotenv(env_db, capsys):
    code, out, err = main(capsys, "reassess", "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == []


def test_run_serves_the_database_in_dotenv(env_db, cwd, capsys, serve):
    dotenv(cwd, SCREENING_DB_PATH=env_db, TELEGRAM_BOT_TOKEN="1:x", SCREENING_COORDINATOR_IDS="9")
    assert load_settings().db_path == env_db
    code, _, err = main(capsys, "run")
    assert code == 0 and err == ""
    assert serve["settings"].db_path == env_db and serve["locked"], "the lock beside the database in .env"
    assert serve["settings"].token.get_secret_value() == "1:x" and serve["settings"].coordinator_ids == {9}


def test_the_main_job_is_telegram_when_the_token_is_only_in_dotenv(env_db, cwd, capsys, serve):
    dotenv(cwd, SCREENING_DB_PATH=env_db, TELEGRAM_BOT_TOKEN="1:x", SCREENING_COORDINATOR_IDS="9")
    assert main(capsys)[0] == 0
    assert serve["settings"].db_path == env_db


def test_the_main_job_is_the_terminal_without_a_token(env_db, cwd, capsys, serve, monkeypatch):
    dotenv(cwd, SCREENING_DB_PATH=env_db, TELEGRAM_BOT_TOKEN="", SCREENING_COORDINATOR_IDS="9")
    used = []
    monkeypatch.setattr(chat_cmd, "run", lambda args: used.append(args.settings.db_path) or 0)
    assert main(capsys)[0] == 0
    assert used == [env_db] and serve == {}


def test_run_without_a_token_still_stops_with_one_line(env_db, capsys, serve):
    code, _, err = main(capsys, "run")
    assert code == 2 and err == "screening-bot run: TELEGRAM_BOT_TOKEN is not set (the token from @BotFather)\n"
    assert serve == {}


# ---- the environment wins over .env; --db wins over both ------------------------------------------------

def test_the_environment_wins_over_dotenv(cwd, tmp_path, capsys, monkeypatch, serve):
    real = trail(tmp_path / "real.db")
    missing = tmp_path / "missing.db"
    dotenv(cwd, SCREENING_DB_PATH=missing, TELEGRAM_BOT_TOKEN="1:x", SCREENING_COORDINATOR_IDS="9")
    monkeypatch.setenv("SCREENING_DB_PATH", str(real))
    for argv in (["audit", "verify"], ["log"], ["reassess"], ["backup", str(tmp_path / "copy.db")]):
        code, _, err = main(capsys, *argv)
        assert code == 0 and err == "", argv
    assert main(capsys, "run")[0] == 0 and serve["settings"].db_path == real
    # And the other way round: the environment names a file that is not there, .env the real one.
    dotenv(cwd, SCREENING_DB_PATH=real)
    monkeypatch.setenv("SCREENING_DB_PATH", str(missing))
    code, _, err = main(capsys, "audit", "verify")
    assert code == 2 and err.strip().endswith(f"no database at {missing} (give --db PATH or set SCREENING_DB_PATH)")
    assert not missing.exists()


def test_db_wins_over_the_environment_and_dotenv(cwd, tmp_path, capsys, monkeypatch):
    real = trail(tmp_path / "real.db")
    dotenv(cwd, SCREENING_DB_PATH=tmp_path / "from-dotenv.db")
    monkeypatch.setenv("SCREENING_DB_PATH", str(tmp_path / "from-env.db"))
    for argv in (["audit", "verify"], ["audit", "export", "--format", "csv", "--out", str(tmp_path / "x.csv")],
                 ["log"], ["reassess"], ["backup", str(tmp_path / "copy.db")]):
        code, _, err = main(capsys, *argv, "--db", str(real))
        assert code == 0 and err == "", argv
    monkeypatch.setattr("sys.stdin", io.StringIO("4\n"))
    chat = tmp_path / "chat.db"
    assert main(capsys, "chat", "--jsonl", "--db", str(chat))[0] == 0
    assert chat.is_file()
    assert not (tmp_path / "from-dotenv.db").exists() and not (tmp_path / "from-env.db").exists()
    assert not (cwd / DEFAULT_DB_PATH).exists()


def test_without_any_setting_the_one_default_is_used(cwd, capsys):
    trail(cwd / "screening.db")
    assert load_settings().db_path == Path(DEFAULT_DB_PATH)
    assert main(capsys, "audit", "verify")[0] == 0


def test_an_empty_db_path_in_dotenv_is_the_default(cwd, capsys):
    dotenv(cwd, SCREENING_DB_PATH="")
    assert load_settings().db_path == Path(DEFAULT_DB_PATH)
    code, _, err = main(capsys, "log")
    assert code == 2 and "no database at screening.db" in err


# ---- a malformed setting: one line naming the key, exit status 2, whatever the command -------------------

COMMANDS = [
    ["chat", "--jsonl"], ["evaluate", "-", "--json"], ["audit", "verify"],
    ["audit", "export", "--format", "jsonl", "--out", "export.jsonl"], ["log"], ["backup", "copy.db"],
    ["reassess"], ["protocol"], ["run"], [], ["audit", "verify", "--db", "other.db"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "main-job")
def test_a_malformed_setting_in_dotenv_is_one_line_and_status_2(cwd, capsys, monkeypatch, argv):
    dotenv(cwd, SCREENING_WEBHOOK_PORT="abc", TELEGRAM_BOT_TOKEN="1:secret")
    monkeypatch.setattr("sys.stdin", io.StringIO("{}\n"))
    code, out, err = main(capsys, *argv)
    words = [w for w in argv[:2] if not w.startswith("-")] if argv[:1] == ["audit"] else argv[:1]
    prog = " ".join(["screening-bot", *words])
    assert code == 2 and out == ""
    assert err.startswith(f"{prog}: SCREENING_WEBHOOK_PORT: Input should be a valid integer"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "abc" not in err and "secret" not in err, "values are not echoed"
    assert sorted(p.name for p in cwd.iterdir()) == [".env"], "nothing was created"


def test_a_malformed_setting_in_the_environment_too(cwd, capsys, monkeypatch):
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "12,@alice")
    code, _, err = main(capsys, "log")
    assert code == 2 and err.startswith("screening-bot log: SCREENING_COORDINATOR_IDS: '@alice' is not a numeric")
    assert err.count("\n") == 1


def test_the_environment_can_mend_a_malformed_dotenv(cwd, capsys, monkeypatch):
    trail(cwd / "screening.db")
    dotenv(cwd, SCREENING_WEBHOOK_PORT="abc")
    monkeypatch.setenv("SCREENING_WEBHOOK_PORT", "8080")
    assert main(capsys, "audit", "verify")[0] == 0


def test_a_dotenv_that_is_not_utf8_is_one_line(cwd, capsys):
    (cwd / ".env").write_bytes(b"SCREENING_DB_PATH=caf\xe9.db\n")
    code, out, err = main(capsys, "audit", "verify")
    assert code == 2 and out == "" and err.startswith("screening-bot audit verify: .env: not UTF-8 text")
    assert err.count("\n") == 1


def test_an_unreadable_dotenv_is_one_line(cwd, capsys, monkeypatch):
    dotenv(cwd, SCREENING_DB_PATH="x.db")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("pydantic_settings.sources.providers.dotenv.dotenv_values", refuse)
    code, _, err = main(capsys, "backup", "copy.db")
    assert (code, err) == (2, "screening-bot backup: .env: cannot read it (Permission denied)\n")


# ---- one place: the default and the reading of .env are in bot/settings.py only ------------------------

def test_the_default_and_the_dotenv_are_in_settings_only():
    assert not (ROOT / "bot" / "paths.py").exists()
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "settings.py":
            continue
        code = path.read_text(encoding="utf-8")
        assert "screening.db" not in code, f"{path.name} has a default database of its own"
        assert not re.search(r"""open\(\s*["']\.env""", code), f"{path.name} reads .env by hand"
        assert not re.search(r"(environ|getenv)\W+[\"'](SCREENING|TELEGRAM)_", code), \
            f"{path.name} reads a setting from the environment by hand"
