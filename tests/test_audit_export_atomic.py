"""Concurrent exports to one path never interleave (#14): each export is written to a temporary file of its
own beside the target (mkstemp, owner-only) and put into place atomically without overwriting, so the file
at the path is one export whole, and the other export is refused in one line, leaving nothing behind."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from audit_fixtures import fresh_db, populate

from bot import cli
from conversations.records import audit_export, fhir_export
from conversations.records.audit_export import _write_csv, _write_jsonl, publish, read_jsonl
from conversations.records.db import open_db


@pytest.fixture
def path(tmp_path) -> Path:
    db = fresh_db(tmp_path)
    for _ in range(5):
        populate(db)
    db.conn.close()
    return tmp_path / "screening.db"


def whole(out: Path) -> str:
    """Which format the file at ``out`` is, asserting it is one export complete (its head record last)."""
    text = out.read_text(encoding="utf-8")
    if text.startswith("{"):
        f = read_jsonl(out)
        assert f.head is not None and f.head["events"] == len(f.events) > 0
        assert "record,seq" not in text
        return "jsonl"
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][0] == "record" and rows[-1][0] == "head"
    assert sum(r[0] == "event" for r in rows) == int(rows[-1][1]) > 0
    assert all(not line.startswith("{") for line in text.splitlines())
    return "csv"


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") or p.name.endswith(".partial"))


def test_two_exports_to_one_path_at_once_never_interleave(path, tmp_path):
    """Both are in the middle of writing at the same moment (a barrier before and after each writer)."""
    out = tmp_path / "export"
    barrier = threading.Barrier(2, timeout=20)
    results: dict[str, object] = {}

    def slow(writer):
        def write(db, target, selection, **kwargs):
            barrier.wait()
            counts = writer(db, target, selection, **kwargs)
            barrier.wait()
            return counts
        return write

    def one(fmt: str, writer) -> None:
        db = open_db(path)
        try:
            results[fmt] = publish(db, out, fmt, slow(writer), actor_role="operator", actor_id=1,
                                   referral_id=None, since=None)
        except FileExistsError as exc:
            results[fmt] = exc
        finally:
            db.conn.close()

    threads = [threading.Thread(target=one, args=("jsonl", _write_jsonl)),
               threading.Thread(target=one, args=("csv", _write_csv))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winner = whole(out)
    assert isinstance(results[winner], audit_export.ExportResult)
    loser = "csv" if winner == "jsonl" else "jsonl"
    assert isinstance(results[loser], FileExistsError), results
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)
    assert leftovers(tmp_path) == []


def test_the_temporary_file_is_unique_private_and_beside_the_target(path, tmp_path, monkeypatch):
    seen = []

    def writer(db, target, selection):
        seen.append((target, oct(os.stat(target).st_mode & 0o777)))
        return _write_jsonl(db, target, selection)

    for n in range(2):
        db = open_db(path)
        publish(db, tmp_path / f"e{n}.jsonl", "jsonl", writer, actor_role="operator", actor_id=1, referral_id=None,
                since=None)
        db.conn.close()
    (a, mode_a), (b, mode_b) = seen
    assert a != b and a.parent == b.parent == tmp_path and mode_a == mode_b == oct(0o600)
    assert a.name != "e0.jsonl.partial"
    assert leftovers(tmp_path) == []


def test_two_export_processes_to_one_path(path, tmp_path):
    out = tmp_path / "export"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_"))}
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "audit", "export", "--format", fmt, "--out",
                               str(out), "--db", str(path)], cwd=Path(__file__).parents[1], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for fmt in ("jsonl", "csv")]
    done = [(p.wait(60), *p.communicate()) for p in procs]
    whole(out)
    assert sorted(code for code, _, _ in done)[0] == 0
    for code, _, err in done:
        assert code in (0, 2) and "Traceback" not in err, err
        if code == 2:
            assert err.count("\n") == 1 and "already exists" in err, err
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "fhir"])
def test_an_export_finishing_second_is_one_line_and_the_first_stays_whole(path, tmp_path, capsys, monkeypatch, fmt):
    out = tmp_path / f"export.{fmt}"
    first = b"the other export, complete\n"
    module, name = (fhir_export, "_write_ndjson") if fmt == "fhir" else (audit_export, f"_write_{fmt}")
    real = getattr(module, name)

    def and_meanwhile(db, target, selection, **kwargs):
        counts = real(db, target, selection, **kwargs)
        out.write_bytes(first)  # the other export is put into place while this one is being recorded
        return counts

    monkeypatch.setattr(module, name, and_meanwhile)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["audit", "export", "--format", fmt, "--out", str(out), "--db", str(path)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and f"{out} already exists" in captured.err
    assert out.read_bytes() == first
    assert leftovers(tmp_path) == []
