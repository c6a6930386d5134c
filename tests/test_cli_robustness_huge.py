"""An error never echoes a huge input (#13): a value a message quotes is cut to 40 characters and an
ellipsis, and a file with very many errors says the first of them and how many more. 10 MB facts files (a
value, a key, not JSON at all), a 10 MB answer to chat --jsonl, huge settings and arguments: the output
stays under 1 KB and the exit status is the documented one."""

from __future__ import annotations

import io
import json

import pytest
from audit_fixtures import populate

from bot import cli
from bot.settings import Settings
from conversations.records.db import open_db
from conversations.records.store import Store

KEYS = [f.alias for f in Settings.model_fields.values()]
MB10 = 10 * 1024 * 1024
BIG = "x" * MB10
SHORT = 1024


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


def run_cli(capsys, monkeypatch, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---- evaluate ----------------------------------------------------------------------------------------------

FACTS = {
    "a-choice": {"sex": BIG},
    "a-number": {"age_years": BIG},
    "a-yes-no": {"hcq": BIG},
    "a-list-item": {"ln_classes": [BIG]},
    "a-key": {BIG: 1},
    "a-key-in-a-list": {"dmards": [{BIG: BIG}]},
    "a-nested-value": {"age_years": {"value": BIG}},
}


@pytest.mark.parametrize("name", list(FACTS))
def test_a_10_mb_value_or_key_is_quoted_short(tmp_path, capsys, monkeypatch, name):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(FACTS[name]), encoding="utf-8")
    assert path.stat().st_size >= MB10
    code, out, err = run_cli(capsys, monkeypatch, ["evaluate", str(path)])
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith("screening-bot evaluate: invalid facts: ") and len(err) < SHORT, len(err)
    assert "x" * 41 not in err and "…" in err


def test_a_short_value_is_still_quoted_whole(tmp_path, capsys, monkeypatch):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"sex": "femal"}), encoding="utf-8")
    _, _, err = run_cli(capsys, monkeypatch, ["evaluate", str(path)])
    assert '(got "femal")' in err


@pytest.mark.parametrize("data", [BIG, "{" + BIG, '{"sex": "' + BIG, "[" + "1," * (MB10 // 2) + "x]"],
                         ids=["text", "an-open-object", "an-open-string", "a-long-list-gone-wrong"])
def test_a_10_mb_file_that_is_not_json_is_one_short_line(tmp_path, capsys, monkeypatch, data):
    path = tmp_path / "facts.json"
    path.write_text(data, encoding="utf-8")
    code, out, err = run_cli(capsys, monkeypatch, ["evaluate", str(path)])
    assert code == 2 and out == "" and err.count("\n") == 1 and len(err) < SHORT
    assert "is not valid JSON" in err


def test_a_10_mb_binary_file_is_one_short_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "facts.json"
    path.write_bytes(bytes(range(256)) * (MB10 // 256))
    code, _, err = run_cli(capsys, monkeypatch, ["evaluate", str(path)])
    assert code == 2 and err.count("\n") == 1 and len(err) < SHORT


def test_a_10_mb_key_given_twice(tmp_path, capsys, monkeypatch):
    path = tmp_path / "facts.json"
    path.write_text(f'{{"{BIG}": 1, "{BIG}": 2}}', encoding="utf-8")
    code, _, err = run_cli(capsys, monkeypatch, ["evaluate", str(path)])
    assert code == 2 and err.count("\n") == 1 and len(err) < SHORT and "twice" in err


def test_very_many_errors_are_the_first_twenty_and_a_count(tmp_path, capsys, monkeypatch):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"dmards": ["no such drug"] * 500_000}), encoding="utf-8")
    code, _, err = run_cli(capsys, monkeypatch, ["evaluate", str(path)])
    lines = err.splitlines()
    assert code == 2 and len(lines) == 21 and len(err) < 20 * 400
    assert lines[-1] == "screening-bot evaluate: invalid facts: 499980 more errors not shown"


def test_10_mb_on_standard_input(capsys, monkeypatch):
    code, out, err = run_cli(capsys, monkeypatch, ["evaluate", "-"], stdin=json.dumps({"sex": BIG}))
    assert code == 2 and out == "" and len(err) < SHORT


def test_a_huge_file_name_is_cut_short(capsys, monkeypatch):
    code, _, err = run_cli(capsys, monkeypatch, ["evaluate", "f" * 100_000])
    assert code == 2 and err.count("\n") == 1 and len(err) < SHORT and "cannot read" in err


# ---- chat --jsonl ------------------------------------------------------------------------------------------

def test_a_10_mb_answer_is_refused_in_a_short_line_and_the_session_goes_on(tmp_path, capsys, monkeypatch):
    db = tmp_path / "screening.db"
    code, out, err = run_cli(capsys, monkeypatch, ["chat", "--jsonl", "--db", str(db)], stdin=BIG + "\n")
    assert code == 0 and err == ""
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["type"] for x in lines] == ["question", "reprompt"] and len(out) < SHORT
    code, out, err = run_cli(capsys, monkeypatch, ["chat", "--jsonl", "--resume", lines[0]["referral_id"],
                                                   "--db", str(db)], stdin="14\n")
    assert code == 0 and [json.loads(x)["type"] for x in out.splitlines()] == ["question", "accepted", "question"]
    assert db.stat().st_size < MB10 // 10, "the answer was not stored"


@pytest.mark.parametrize("line", ["amend " + BIG, "change 1" + BIG, "/" + BIG, BIG + " yes", "?" + BIG],
                         ids=["amend", "change", "a-command", "an-answer-with-a-comment", "help"])
def test_10_mb_commands_and_answers_are_short_lines_too(tmp_path, capsys, monkeypatch, line):
    code, out, err = run_cli(capsys, monkeypatch, ["chat", "--jsonl", "--db", str(tmp_path / "s.db")],
                             stdin="14\n" + line + "\n")
    assert code == 0 and err == ""
    reply = out.split("\n", 3)[3]  # after the first question, its echo and the second question
    assert 0 < len(reply) < SHORT


def test_a_10_mb_line_that_is_not_utf8(tmp_path, capsys, monkeypatch):
    data = b"\xff" * MB10 + b"\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape"))
    assert cli.main(["chat", "--jsonl", "--db", str(tmp_path / "s.db")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and len(out) < SHORT and json.loads(out.splitlines()[-1])["code"] == "not_utf8"


def test_resuming_a_huge_referral_id(tmp_path, capsys, monkeypatch):
    db = tmp_path / "s.db"
    Store.open(db).close()
    code, out, err = run_cli(capsys, monkeypatch, ["chat", "--jsonl", "--resume", "R" * 100_000, "--db", str(db)])
    assert code == 2 and out == "" and err.count("\n") == 1 and len(err) < SHORT


# ---- settings and arguments --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["SCREENING_DB_PATH", "SCREENING_COORDINATOR_IDS", "SCREENING_PHYSICIAN_IDS",
                                 "TELEGRAM_API_URL", "SCREENING_WEBHOOK_URL", "SCREENING_WEBHOOK_PORT",
                                 "SCREENING_WEBHOOK_SECRET"])
def test_a_10_mb_setting_is_one_short_line_naming_it(tmp_path, capsys, monkeypatch, key):
    (tmp_path / ".env").write_text(f"{key}={'9' if 'PORT' in key else 'x'}{BIG}\n", encoding="utf-8")
    code, out, err = run_cli(capsys, monkeypatch, ["log"])
    assert code == 2 and out == "" and err.count("\n") == 1 and len(err) < SHORT, err[:300]
    assert err.startswith(f"screening-bot log: {key}") and "Traceback" not in err


def test_a_database_name_longer_than_the_system_takes(tmp_path, capsys, monkeypatch):
    for path in ["n" * 300, "d/" * 3000]:
        monkeypatch.setenv("SCREENING_DB_PATH", path)
        for argv in (["log"], ["chat", "--jsonl"], ["backup", "copy.db"]):
            code, out, err = run_cli(capsys, monkeypatch, argv)
            assert code == 2 and err.count("\n") == 1 and len(err) < SHORT, (argv, err[:300])
            assert "Traceback" not in err


def test_a_huge_since_to_audit_export(tmp_path, capsys, monkeypatch):
    db = tmp_path / "s.db"
    Store.open(db).close()
    d = open_db(db)
    populate(d)
    d.close()
    argv = ["audit", "export", "--format", "jsonl", "--out", str(tmp_path / "e.jsonl"), "--since", "2" * 100_000,
            "--db", str(db)]
    code, _, err = run_cli(capsys, monkeypatch, argv)
    assert code == 2 and err.count("\n") == 1 and len(err) < SHORT
