"""Anchored heads (#14): the anchors list's reader, the daily anchor (once a UTC day, across restarts), the
anchors file (owner-only, one line a day, nothing lost when a write fails), `audit verify --anchors`, and the
anchors every export makes (`audit export`, the coordinators' /export)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end

from bot.cli import main
from bot.telegram import anchoring, render
from conversations.records import anchors, audit
from conversations.records.db import open_db

SECOND = 9002
H1 = "a" * 40 + "0123456789abcdef01234567"  # 64 hex digits
H2 = hashlib.sha256(b"another head").hexdigest()
DAY1 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def anchor_rows(db) -> list[tuple[str, int, str]]:
    return db.conn.execute("SELECT key, chat_id, text FROM telegram_outbox WHERE key LIKE 'anchor:%'"
                           " ORDER BY id").fetchall()


def events(db, type_: str = anchors.HEAD_ANCHORED) -> list[tuple[int, dict]]:
    return [(seq, json.loads(p)) for seq, p in db.conn.execute(
        f"SELECT seq, payload FROM {audit.TABLE} WHERE type = ? ORDER BY seq", (type_,))]


# ---- parse -------------------------------------------------------------------------------------------


def test_parse_reads_the_anchors_files_own_lines():
    text = anchors.line(12, H1, "2026-12-02T09:00:00Z", "daily") + anchors.line(30, H2, "2026-12-03T09:00:00Z",
                                                                                "export")
    assert anchors.parse(text) == [anchors.Anchor(12, H1, 1), anchors.Anchor(30, H2, 2)]


def test_parse_reads_a_daily_message_without_taking_the_dates_digits():
    message = render.anchor_text("daily", "2026-12-02", 12, H1)
    assert "2026-12-02" in message and H1 in message
    assert anchors.parse(message) == [anchors.Anchor(12, H1, 1)]
    # as pasted from the chat (Telegram shows no tags), and the export's message too
    plain = message.replace("<code>", "").replace("</code>", "")
    assert anchors.parse(plain) == [anchors.Anchor(12, H1, 1)]
    assert anchors.parse(render.anchor_text("export", "2026-12-31", 7, H2)) == [anchors.Anchor(7, H2, 1)]


def test_parse_reads_the_export_caption_bare_heads_and_uppercase_hex():
    text = f"#12 <code>{H1}</code>\n12 {H2}\n40 {H2.upper()}\n"
    assert anchors.parse(text) == [anchors.Anchor(12, H1, 1), anchors.Anchor(12, H2, 2), anchors.Anchor(40, H2, 3)]


def test_parse_skips_comments_and_blank_lines_and_keeps_line_numbers():
    text = f"# heads received in December\n\n   \n#\n12 {H1}\n\n# another\n13 {H2}\n"
    assert anchors.parse(text) == [anchors.Anchor(12, H1, 5), anchors.Anchor(13, H2, 8)]
    assert anchors.parse("") == [] and anchors.parse("\n# nothing\n") == []


@pytest.mark.parametrize("bad", ["hello there", H1, f"event {H1}", "12 deadbeef", f"#comment 12 {H1[:-1]}"])
def test_a_line_with_no_head_is_not_an_anchor_naming_the_line(bad):
    with pytest.raises(anchors.NotAnAnchor, match=r"^line 3 names no head"):
        anchors.parse(f"12 {H1}\n\n{bad}\n13 {H2}\n")


# ---- the daily anchor --------------------------------------------------------------------------------


async def test_the_daily_anchor_once_a_utc_day_across_restarts(tmp_path):
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND), clock=lambda: DAY1) as h:
        await h.say(COORDINATOR, "/help")  # a trail with events in it
        seq, head = audit.head(h.db)
        assert seq > 0
        made = anchoring.anchor_due(h.services, now=DAY1)
        assert made is not None and (made.seq, made.head) == (seq, head)
        rows = anchor_rows(h.db)
        text = render.anchor_text("daily", "2026-12-02", seq, head)
        assert rows == [(f"anchor:daily:{seq}:{COORDINATOR}", COORDINATOR, text),
                        (f"anchor:daily:{seq}:{SECOND}", SECOND, text)]
        assert events(h.db) == [(seq + 1, {"why": "daily", "day": "2026-12-02", "seq": seq, "head": head,
                                           "chats": [COORDINATOR, SECOND]})]
        assert anchors.anchored_on(h.db, "2026-12-02") == (seq, head)

        # later the same UTC day (and in another time zone, still 2026-12-02 in UTC): nothing
        for later in (DAY1 + timedelta(hours=14), datetime(2026, 12, 2, 18, 0, tzinfo=timezone(timedelta(hours=5)))):
            assert anchoring.anchor_due(h.services, now=later) is None
        assert len(anchor_rows(h.db)) == 2 and len(events(h.db)) == 1

        assert await h.deliver() == 0
        for chat in (COORDINATOR, SECOND):
            sent = [c.text for c in h.request.sent(chat) if head in c.text]
            assert len(sent) == 1 and f"event {seq}" in sent[0] and len(sent[0]) <= 4096

        # the next UTC day: again, naming the head as it now is (the first anchor's event included)
        seq2, head2 = audit.head(h.db)
        made2 = anchoring.anchor_due(h.services, now=DAY2)
        assert made2 is not None and (made2.seq, made2.head) == (seq2, head2) and seq2 > seq
        assert [p["day"] for _, p in events(h.db)] == ["2026-12-02", "2026-12-03"]
        assert len(anchor_rows(h.db)) == 4
        assert await h.deliver() == 0
        for chat in (COORDINATOR, SECOND):
            assert len([c for c in h.request.sent(chat) if head2 in c.text]) == 1

    # a restart the same day finds the day's anchor in the trail: nothing queued, nothing recorded
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND), clock=lambda: DAY2) as h:
        before = audit.head(h.db)
        assert anchoring.anchor_due(h.services, now=DAY2 + timedelta(hours=10)) is None
        assert audit.head(h.db) == before and len(anchor_rows(h.db)) == 4 and len(events(h.db)) == 2
        assert await h.deliver() == 0
        assert [c for c in h.request.sent() if "audit anchor" in c.text] == []


async def test_midnight_utc_starts_a_new_day(tmp_path):
    async with Harness(tmp_path) as h:
        late = datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)
        assert anchoring.anchor_due(h.services, now=late) is not None
        assert anchoring.anchor_due(h.services, now=late + timedelta(seconds=1)) is not None
        assert [p["day"] for _, p in events(h.db)] == ["2026-12-02", "2026-12-03"]


# ---- the anchors file --------------------------------------------------------------------------------


async def test_the_anchors_file_one_owner_only_line_a_day(tmp_path, cwd, monkeypatch, capsys):
    file = tmp_path / "anchors.txt"
    heads = []
    async with Harness(tmp_path, SCREENING_AUDIT_ANCHORS_FILE=str(file)) as h:
        assert h.services.settings.anchors_file == file
        for now in (DAY1, DAY1 + timedelta(hours=3), DAY2, DAY2 + timedelta(hours=1)):
            made = anchoring.anchor_due(h.services, now=now)
            if made is not None:
                heads.append((made.seq, made.head))
        assert len(heads) == 2
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
        assert file.read_text(encoding="ascii") == (anchors.line(*heads[0], "2026-12-02T09:00:00Z", "daily")
                                                   + anchors.line(*heads[1], "2026-12-03T09:00:00Z", "daily"))
        assert [(a.seq, a.head) for a in anchors.parse(file.read_text(encoding="ascii"))] == heads

        # the file cannot be written once: the chats and the trail have the anchor, the next look writes it
        real, failures = anchors.write, []

        def flaky(*args, **kwargs):
            if not failures:
                failures.append(args)
                raise OSError(28, "No space left on device")
            return real(*args, **kwargs)

        monkeypatch.setattr(anchors, "write", flaky)
        made = anchoring.anchor_due(h.services, now=DAY3)
        assert made is not None and failures and len(file.read_text(encoding="ascii").splitlines()) == 2
        assert events(h.db)[-1][1]["day"] == "2026-12-04" and len(anchor_rows(h.db)) == 3
        assert anchoring.anchor_due(h.services, now=DAY3 + timedelta(hours=1)) is None
        assert anchoring.anchor_due(h.services, now=DAY3 + timedelta(hours=2)) is None
        lines = file.read_text(encoding="ascii").splitlines()
        assert len(lines) == 3 and lines[2].endswith(f" event {made.seq} {made.head} daily")
        heads.append((made.seq, made.head))
        assert [(a.seq, a.head) for a in anchors.parse(file.read_text(encoding="ascii"))] == heads

    # the file proves the trail (the key beside the database, where the bot keeps it)
    code, out, err = run(capsys, "audit", "verify", "--db", str(tmp_path / "screening.db"), "--anchors", str(file))
    assert (code, err) == (0, "") and out.rstrip().endswith("; 3 anchored heads held")


async def test_an_export_line_does_not_make_the_next_look_repeat_the_daily_line(tmp_path):
    file = tmp_path / "anchors.txt"
    async with Harness(tmp_path, SCREENING_AUDIT_ANCHORS_FILE=str(file)) as h:
        await h.say(COORDINATOR, "/help")
        daily = anchoring.anchor_due(h.services, now=DAY1)
        export, _ = anchoring.after_export(h.db, h.services.settings, now=DAY1 + timedelta(hours=1))
        for hours in (2, 3):
            assert anchoring.anchor_due(h.services, now=DAY1 + timedelta(hours=hours)) is None
        assert [(a.seq, a.head) for a in anchors.parse(file.read_text(encoding="ascii"))] == [
            (daily.seq, daily.head), (export.seq, export.head)]


async def test_no_anchors_file_configured_writes_no_file(tmp_path):
    async with Harness(tmp_path) as h:
        assert h.services.settings.anchors_file is None
        before = sorted(p.name for p in tmp_path.rglob("*"))
        assert anchoring.anchor_due(h.services, now=DAY1) is not None
        assert sorted(p.name for p in tmp_path.rglob("*")) == before


# ---- audit verify --anchors --------------------------------------------------------------------------


def heads_of(db_path: Path) -> tuple[tuple[int, str], tuple[int, str], str]:
    """The trail's head, an older head (event 5), and the hash of event 6."""
    db = open_db(db_path)
    try:
        last = audit.head(db)
        h5, h6 = (r[0] for r in db.conn.execute(f"SELECT chain_hash FROM {audit.TABLE} WHERE seq IN (5, 6)"
                                                 " ORDER BY seq"))
        return last, (5, h5), h6
    finally:
        db.conn.close()


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_verify_anchors_held_gone_and_rewritten(db_path, capsys, monkeypatch, tmp_path, stdin):
    (seq, head), (old_seq, old_head), h6 = heads_of(db_path)
    digest = sha256(db_path)

    def verify(text: str) -> tuple[int, str, str]:
        if stdin:
            monkeypatch.setattr(sys, "stdin", io.StringIO(text))
            return run(capsys, "audit", "verify", "--db", str(db_path), "--anchors", "-")
        file = tmp_path / f"anchors-{len(list(tmp_path.glob('anchors-*')))}.txt"
        file.write_text(text, encoding="utf-8")
        return run(capsys, "audit", "verify", "--db", str(db_path), "--anchors", str(file))

    held = (anchors.line(old_seq, old_head, "2026-12-01T09:00:00Z", "daily")
            + render.anchor_text("daily", "2026-12-02", seq, head) + "\n")
    code, out, err = verify(held)
    assert (code, err) == (0, "") and out.rstrip().endswith("; 2 anchored heads held")
    assert f"head {seq} {head}" in out

    code, out, err = verify(held + f"{seq + 3} {H1}\n")  # as after events were cut off the end
    assert code == 1 and out == ""
    assert err.strip() == (f"screening-bot audit verify: the head anchored as event {seq + 3} (line 3) is gone: "
                           f"the trail ends at event {seq} (events removed from its end, the trail emptied, or an "
                           "older copy swapped in)")

    code, out, err = verify(f"#{old_seq} <code>{h6}</code>\n")  # another hash for event 5
    assert code == 1 and out == ""
    assert f"the head anchored as event {old_seq} (line 1) is not in the chain" in err
    assert len(err.strip().splitlines()) == 1
    assert sha256(db_path) == digest


def test_verify_anchors_repeatable(db_path, capsys, tmp_path):
    (seq, head), (old_seq, old_head), _ = heads_of(db_path)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(f"{seq} {head}\n", encoding="ascii")
    b.write_text(f"{old_seq} {old_head}\n", encoding="ascii")
    code, out, _ = run(capsys, "audit", "verify", "--db", str(db_path), "--anchors", str(a), "--anchors", str(b))
    assert code == 0 and out.rstrip().endswith("; 2 anchored heads held")


@pytest.mark.parametrize("kind", ["missing", "directory", "garbage", "not utf-8"])
def test_an_unreadable_or_garbage_anchors_file_is_exit_2_in_one_line(db_path, capsys, tmp_path, kind):
    file = tmp_path / "anchors.txt"
    if kind == "directory":
        file.mkdir()
    elif kind == "garbage":
        file.write_text(f"12 {H1}\nthis is not a head\n", encoding="utf-8")
    elif kind == "not utf-8":
        file.write_bytes(b"12 \xff\xfe " + H1.encode() + b"\n")
    digest = sha256(db_path)
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path), "--anchors", str(file))
    assert code == 2 and out == ""
    assert err.startswith("screening-bot audit verify: --anchors: ") and len(err.strip().splitlines()) == 1
    if kind == "garbage":
        assert "line 2 names no head" in err
    assert sha256(db_path) == digest


# ---- the anchor of every export ----------------------------------------------------------------------


async def bot_database(tmp_path: Path) -> Path:
    """The bot's own database (every table, its key beside it), with a referral sent to the coordinators."""
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, ref, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{ref}")
    return tmp_path / "screening.db"


async def test_cli_export_anchors_its_head_to_the_coordinators_and_the_file(tmp_path, cwd, capsys, monkeypatch):
    path = await bot_database(tmp_path)
    file = tmp_path / "anchors.txt"
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "201,202")
    monkeypatch.setenv("SCREENING_AUDIT_ANCHORS_FILE", str(file))
    code, out, err = run(capsys, "audit", "export", "--db", str(path), "--format", "jsonl", "--out",
                         str(tmp_path / "export.jsonl"))
    assert code == 0, err
    db = open_db(path)
    try:
        (export_seq, _), = events(db, "export")
        (anchor_seq, payload), = events(db)
        assert anchor_seq == export_seq + 1 and payload["why"] == "export" and payload["seq"] == export_seq
        head = db.conn.execute(f"SELECT chain_hash FROM {audit.TABLE} WHERE seq = ?", (export_seq,)).fetchone()[0]
        assert payload["head"] == head and payload["chats"] == [201, 202]
        assert f"anchored head: event {export_seq} {head} (sent to 2 coordinators' chats; written to {file})" in out
        rows = anchor_rows(db)
        assert [(k, c) for k, c, _ in rows] == [(f"anchor:export:{export_seq}:201", 201),
                                                (f"anchor:export:{export_seq}:202", 202)]
        assert all(head in t and f"event {export_seq}" in t for _, _, t in rows)
    finally:
        db.conn.close()
    assert [(a.seq, a.head) for a in anchors.parse(file.read_text(encoding="ascii"))] == [(export_seq, head)]
    assert file.read_text(encoding="ascii").rstrip().endswith(" export")
    code, out, err = run(capsys, "audit", "verify", "--db", str(path), "--anchors", str(file))
    assert code == 0 and "; 1 anchored heads held" in out, err


async def test_cli_export_with_only_an_anchors_file(tmp_path, cwd, capsys, monkeypatch):
    path = await bot_database(tmp_path)
    file = tmp_path / "anchors.txt"
    monkeypatch.setenv("SCREENING_AUDIT_ANCHORS_FILE", str(file))
    code, out, err = run(capsys, "audit", "export", "--db", str(path), "--format", "csv", "--out",
                         str(tmp_path / "export.csv"))
    assert code == 0, err
    db = open_db(path)
    try:
        (_, payload), = events(db)
        assert payload["why"] == "export" and payload["chats"] == [] and anchor_rows(db) == []
    finally:
        db.conn.close()
    assert f"(written to {file})" in out
    assert [(a.seq, a.head) for a in anchors.parse(file.read_text(encoding="ascii"))] == [
        (payload["seq"], payload["head"])]


async def test_cli_export_without_coordinators_or_file_anchors_nothing(tmp_path, cwd, capsys):
    path = await bot_database(tmp_path)
    code, out, err = run(capsys, "audit", "export", "--db", str(path), "--format", "jsonl", "--out",
                         str(tmp_path / "export.jsonl"))
    assert code == 0, err
    assert "anchored head" not in out
    db = open_db(path)
    try:
        assert events(db) == [] and len(events(db, "export")) == 1 and anchor_rows(db) == []
    finally:
        db.conn.close()
    assert not (tmp_path / "anchors.txt").exists()


def test_cli_export_of_a_trail_alone_with_coordinators(db_path, cwd, capsys, monkeypatch, tmp_path):
    file = tmp_path / "anchors.txt"
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "201,202")
    monkeypatch.setenv("SCREENING_AUDIT_ANCHORS_FILE", str(file))
    code, out, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", "jsonl", "--out",
                         str(tmp_path / "export.jsonl"))
    assert code == 0, err
    assert "anchored head: event " in out and file.exists()


async def test_cli_export_does_not_claim_an_anchors_file_it_could_not_write(tmp_path, cwd, capsys, monkeypatch):
    path = await bot_database(tmp_path)
    file = tmp_path / "no-such-dir" / "anchors.txt"
    monkeypatch.setenv("SCREENING_AUDIT_ANCHORS_FILE", str(file))
    code, out, err = run(capsys, "audit", "export", "--db", str(path), "--format", "jsonl", "--out",
                         str(tmp_path / "export.jsonl"))
    assert not file.exists()
    assert f"written to {file}" not in out
    assert code != 0 or str(file) in err


async def test_telegram_export_anchors_to_every_coordinator(tmp_path):
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND)) as h:
        calls = await h.say(COORDINATOR, "/export")
        assert [c for c in calls if c.method == "sendDocument"]
        (export_seq, _), = events(h.db, "export")
        (anchor_seq, payload), = events(h.db)
        head = h.db.conn.execute(f"SELECT chain_hash FROM {audit.TABLE} WHERE seq = ?", (export_seq,)).fetchone()[0]
        assert anchor_seq > export_seq
        assert payload == {"why": "export", "day": payload["day"], "seq": export_seq, "head": head,
                           "chats": [COORDINATOR, SECOND]}
        assert {(c, head in t) for _, c, t in anchor_rows(h.db)} == {(COORDINATOR, True), (SECOND, True)}
        assert await h.deliver() == 0
        for chat in (COORDINATOR, SECOND):
            got = [c.text for c in h.request.sent(chat) if head in c.text and "anchor" in c.text]
            assert len(got) == 1 and len(got[0]) <= 4096
