"""The outbox: a failed send is kept and retried with back-off (429's retry_after honoured, 5xx and
time-outs retried), a chat's messages keep their order, a key is stored once, each delivery is audited."""

from __future__ import annotations

from telegram_harness import COORDINATOR, PHYSICIAN, Failure, Harness

from conversations.records.db import write


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def enqueue(h: Harness, key: str, chat_id: int, text: str) -> None:
    with write(h.db):
        h.services.outbox.enqueue(key, chat_id, text)


async def start(tmp_path) -> tuple[Harness, Clock]:
    h = Harness(tmp_path)
    await h.__aenter__()
    clock = Clock()
    h.services.sender.clock = clock
    return h, clock


def sends(h: Harness) -> list[str]:
    return [c.text for c in h.request.calls if c.method == "sendMessage"]


async def test_retry_after_is_honoured_for_every_chat(tmp_path):
    h, clock = await start(tmp_path)
    try:
        h.request.fail("sendMessage", Failure(429, "Too Many Requests: retry after 7", retry_after=7))
        enqueue(h, "k1", PHYSICIAN, "one")
        enqueue(h, "k2", COORDINATOR, "two")
        assert await h.deliver() == 2
        assert sends(h) == ["one"], "a 429 pauses all sending"
        clock.t += 6.9
        assert await h.deliver() == 2
        assert sends(h) == ["one"]
        clock.t += 0.2
        assert await h.deliver() == 0
        assert sends(h) == ["one", "one", "two"]
    finally:
        await h.__aexit__()


async def test_server_errors_and_timeouts_back_off_exponentially(tmp_path):
    h, clock = await start(tmp_path)
    try:
        h.request.fail("sendMessage", Failure(500), Failure(502, "Bad Gateway"), Failure(None))
        enqueue(h, "k1", PHYSICIAN, "hello")
        waits = []
        for _ in range(3):
            await h.deliver()
            row = h.services.outbox.pending()[0]
            waits.append(row.next_attempt_at - clock.t)
            clock.t = row.next_attempt_at
        assert waits == [1.0, 2.0, 4.0]
        assert await h.deliver() == 0
        assert sends(h) == ["hello"] * 4
        row = h.db.conn.execute("SELECT status, attempts, message_id FROM telegram_outbox").fetchone()
        assert row[0] == "sent" and row[1] == 4 and row[2]
    finally:
        await h.__aexit__()


async def test_a_chats_messages_keep_their_order(tmp_path):
    h, clock = await start(tmp_path)
    try:
        h.request.fail("sendMessage", Failure(500))
        enqueue(h, "k1", PHYSICIAN, "first")
        enqueue(h, "k2", PHYSICIAN, "second")
        enqueue(h, "k3", COORDINATOR, "other chat")
        await h.deliver()
        assert sends(h) == ["first", "other chat"], "the second waits for the first"
        clock.t += 1
        await h.deliver()
        assert sends(h) == ["first", "other chat", "first", "second"]
    finally:
        await h.__aexit__()


async def test_a_key_is_stored_once_and_each_delivery_audited_once(tmp_path):
    h, _ = await start(tmp_path)
    try:
        enqueue(h, "summary:R-1:1:9001", COORDINATOR, "summary")
        enqueue(h, "summary:R-1:1:9001", COORDINATOR, "summary")
        await h.deliver()
        await h.deliver()
        assert sends(h) == ["summary"]
        sent = [e for e in h.audit("message_sent") if e["payload"]["text"] == "summary"]
        assert len(sent) == 1 and sent[0]["payload"] == {"chat_id": COORDINATOR, "text": "summary", "lang": "en"}
        assert sent[0]["actor_role"] == "system"
    finally:
        await h.__aexit__()


async def test_refusals_are_kept_blocked_chats_retried_slowly(tmp_path):
    h, clock = await start(tmp_path)
    try:
        h.request.fail("sendMessage", Failure(403, "Forbidden: bot was blocked by the user"),
                       Failure(400, "Bad Request: can't parse entities"))
        enqueue(h, "blocked", COORDINATOR, "summary")
        enqueue(h, "bad", PHYSICIAN, "<b>broken")
        enqueue(h, "next", PHYSICIAN, "fine")
        assert await h.deliver() == 1
        status = dict(h.db.conn.execute("SELECT key, status FROM telegram_outbox").fetchall())
        assert status == {"bad": "failed", "next": "sent", "blocked": "pending"}, "kept, never dropped"
        clock.t += 3600
        assert await h.deliver() == 0
    finally:
        await h.__aexit__()


async def test_an_unchanged_edit_counts_as_delivered(tmp_path):
    h, _ = await start(tmp_path)
    try:
        h.request.fail("editMessageText", Failure(400, "Bad Request: message is not modified"))
        with write(h.db):
            h.services.outbox.enqueue("e1", PHYSICIAN, "same", edit_message_id=5)
        assert await h.deliver() == 0
    finally:
        await h.__aexit__()


def test_an_outbox_from_before_deletions_gains_the_column(tmp_path):
    """A database written before deletions went through the outbox: its rows are kept and still sent."""
    from bot.telegram.outbox import Outbox
    from conversations.records import schema
    from conversations.records.db import open_db

    db = open_db(tmp_path / "old.db")
    db.conn.executescript("""
        CREATE TABLE telegram_outbox (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, chat_id INTEGER NOT NULL,
            edit_message_id INTEGER, text TEXT NOT NULL, markup TEXT, referral_id TEXT, created_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT, message_id INTEGER);
        INSERT INTO telegram_outbox (key, chat_id, text, created_at) VALUES ('u1.0', 1001, 'Question 2?', 'then');
    """)
    assert schema.upgrade(db) == list(range(1, schema.LATEST + 1))  # from before schema versions were kept
    assert schema.upgrade(db) == []  # idempotent
    outbox = Outbox(db)
    [row] = outbox.pending()
    assert (row.key, row.text, row.delete_message_id) == ("u1.0", "Question 2?", None)
    db.close()


def test_question_rows_stored_before_the_binding_are_known_by_their_buttons(tmp_path):
    """Migration 5: a question sent before the outbox kept its instance is found from its keyboard, so an
    answer typed to it after the upgrade is still bound to it."""
    import json

    from bot.telegram.outbox import Outbox
    from conversations.records import schema
    from conversations.records.db import open_db, write

    db = open_db(tmp_path / "old.db")
    schema.upgrade(db, to=4)
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "a:R-AAAA-BBBB:7:y"}]]}
    outcome = {"inline_keyboard": [[{"text": "Send", "callback_data": "s:R-AAAA-BBBB"}]]}
    with write(db):
        for key, markup, message_id in (("u1.0", keyboard, 40), ("u2.0", outcome, 41), ("u3.0", None, 42)):
            db.conn.execute("INSERT INTO telegram_outbox (key, chat_id, text, markup, referral_id, created_at,"
                            " status, message_id) VALUES (?, 1001, 'x', ?, 'R-AAAA-BBBB', 'then', 'sent', ?)",
                            (key, json.dumps(markup) if markup else None, message_id))
    assert schema.upgrade(db) == list(range(5, schema.LATEST + 1))
    assert db.conn.execute("SELECT key, question_seq FROM telegram_outbox ORDER BY id").fetchall() == [
        ("u1.0", 7), ("u2.0", None), ("u3.0", None)]
    outbox = Outbox(db)
    assert outbox.question_before(1001, 43) == ("R-AAAA-BBBB", 7)
    assert outbox.question_before(1001, 40) is None, "typed before the question arrived"
    assert outbox.question_before(1002, 43) is None, "another chat"
    db.close()
