"""Hostile input, case by case (what tests/test_telegram_access.py and test_telegram_invites.py do not
already cover): strangers trying every kind of update, guessed and misused invites, physicians reaching for
coordinator commands and buttons, forged callback data, messages of 4,096 characters, edited messages,
update kinds the bot never asked for, and an update ID reused with other content.

Every case is refused or handled: the update is marked processed with result "ok" (no handler raised),
nothing changes that should not, every reply fits Telegram's 4,096 characters and is well-formed HTML.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram_harness import (
    COORDINATOR,
    ELIGIBLE,
    PHYSICIAN,
    STRANGER,
    Call,
    Harness,
    attachment,
    callback,
    group_chat,
    message,
    ref_of,
    run_to_end,
    texts,
    user,
)

from bot.telegram import keyboards
from conversations.dialogue import engine
from conversations.records.audit_verify import verify

LINK = re.compile(r"https://t\.me/screening_test_bot\?start=([A-Za-z0-9_-]+)")
TAGS = {"b", "i", "u", "s", "code", "pre", "a"}


class _TelegramHtml(HTMLParser):
    """Telegram's HTML subset: known tags, properly nested; <, > and & only as tags or entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in TAGS:
            self.errors.append(f"tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.errors.append("bare < or >")

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.errors.append(f"entity &{name};")


def html_problems(text: str) -> list[str]:
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        return ["bare &"]
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    return parser.errors + ([f"unclosed {parser.stack}"] if parser.stack else [])


def assert_sound(h: Harness, calls: list[Call] | None = None) -> None:
    """Every update processed without error, every message sendable, the audit chain intact."""
    results = {r for (r,) in h.db.conn.execute("SELECT result FROM telegram_updates")}
    assert results <= {"ok"}, results
    for c in calls if calls is not None else h.request.calls:
        if c.method in ("sendMessage", "editMessageText"):
            assert 0 < len(c.text) <= 4096, len(c.text)
            assert html_problems(c.text) == [], (html_problems(c.text), c.text[:300])
    assert verify(h.db).ok


def stored_text(h: Harness) -> str:
    out = []
    for (table,) in h.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in h.db.conn.execute(f"SELECT * FROM [{table}]"):
            out += [str(v) for v in row]
    return "\n".join(out)


def counts(h: Harness) -> tuple[int, ...]:
    q = h.db.conn.execute
    return tuple(q(sql).fetchone()[0] for sql in (
        "SELECT COUNT(*) FROM prescreens", "SELECT COUNT(*) FROM invites", "SELECT COUNT(*) FROM physicians",
        "SELECT COUNT(*) FROM referral_decisions", "SELECT COUNT(*) FROM invites WHERE used_by IS NOT NULL"))


# ---- strangers ---------------------------------------------------------------------------------------

STRANGER_UPDATES = {
    "invite": lambda: message(STRANGER, "/invite"),
    "revoke": lambda: message(STRANGER, f"/revoke {PHYSICIAN}"),
    "referrals": lambda: message(STRANGER, "/referrals"),
    "export": lambda: message(STRANGER, "/export"),
    "status": lambda: message(STRANGER, "/status R-0000-0000"),
    "help": lambda: message(STRANGER, "/help"),
    "long text": lambda: message(STRANGER, "zebra " * 682 + "zebr"),
    "edited": lambda: message(STRANGER, "/screen", edited=True),
    "photo": lambda: attachment(STRANGER, "photo"),
    "decision press": lambda: callback(STRANGER, "d:R-0000-0000:1:a"),
    "answer press": lambda: callback(STRANGER, "a:R-0000-0000:1:y"),
    "forged press": lambda: callback(STRANGER, "💥" * 16),
    "group": lambda: message(STRANGER, "/screen", chat=group_chat()),
}


@pytest.mark.parametrize("kind", sorted(STRANGER_UPDATES))
async def test_a_stranger_gets_nothing_from_any_kind_of_update(tmp_path, kind):
    async with Harness(tmp_path) as h:
        before = counts(h)
        update = STRANGER_UPDATES[kind]()
        calls = await h.feed(update)
        assert counts(h) == before
        replies = [c for c in calls if c.method == "sendMessage"]
        toasts = [c for c in calls if c.method == "answerCallbackQuery"]
        assert len(replies) + len(toasts) == 1, "one refusal"
        said = (replies or toasts)[0].text or toasts[0].params.get("text", "")
        assert "ask a study coordinator" in said or "private chats only" in said
        assert not [c for c in calls if c.method == "sendDocument"]
        assert "zebra" not in stored_text(h) and "Jane" not in stored_text(h)
        assert h.audit("access_refused")[-1]["actor_id"] == STRANGER
        assert_sound(h)


# ---- invites -----------------------------------------------------------------------------------------


async def invite(h: Harness) -> str:
    return LINK.search(texts(await h.say(COORDINATOR, "/invite"))[-1]).group(1)


async def test_near_miss_and_brute_force_codes_are_refused_and_never_stored(tmp_path):
    async with Harness(tmp_path, physicians=()) as h:
        code = await invite(h)
        flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
        guesses = [flipped, code.upper() if code.upper() != code else code.lower(), code[:-1], code + "x",
                   code[::-1], "x" * 4000, "ünïcödé-" + code[8:], "-" + code[1:], code[1:] + "_"]
        guesses += [f"guess{i:03d}" + "Q" * 24 for i in range(40)]
        # A near miss that happens to be the code itself ("-" + code[1:] when the code starts with "-",
        # the reverse of a palindrome) is no miss: about one run in 64 made it so.
        guesses = [g for g in guesses if g != code]
        near, brute = guesses[:4], guesses[4:]
        for guess in near:
            calls = await h.say(STRANGER, f"/start {guess}")
            assert "not valid" in texts(calls)[0], guess
        calls = await h.say(STRANGER, f"/start   {code}  ")
        assert "You are registered" in texts(calls)[0], "the real code still works, spaces and all"
        # Another account guessing: five tries an hour, then one line, then silence.
        said = [texts(await h.say(STRANGER + 1, f"/start {guess}")) for guess in brute]
        assert all("not valid" in s[0] for s in said[:5]) and "Too many invitation links" in said[5][0]
        assert all(s == [] for s in said[6:]), "no reply, no event for the rest"
        assert [e["payload"]["reason"] for e in h.audit("access_refused")] == (
            ["invite_unknown"] * 9 + ["invite_tries"])
        stored = stored_text(h)
        assert not [g for g in guesses if g in stored]
        assert h.services.role_of(STRANGER) == "physician" and h.services.role_of(STRANGER + 1) == "stranger"
        assert_sound(h)


async def test_an_account_that_tried_too_many_codes_may_try_again_after_an_hour(tmp_path, monkeypatch):
    from bot.telegram import access

    clock = [1000.0]
    monkeypatch.setattr(access.time, "monotonic", lambda: clock[0])
    async with Harness(tmp_path, physicians=()) as h:
        code = await invite(h)
        for i in range(5):
            await h.say(STRANGER, f"/start guess{i:03d}" + "Q" * 24)
        assert "Too many invitation links" in texts(await h.say(STRANGER, f"/start {code}"))[0]
        assert h.services.role_of(STRANGER) == "stranger", "not even the real code, within the hour"
        clock[0] += 3601
        assert "You are registered" in texts(await h.say(STRANGER, f"/start {code}"))[0]


async def test_an_invite_sent_by_the_wrong_route_is_not_consumed_nor_stored(tmp_path):
    """Pasted as text, in an edit, in a group, by a coordinator or a physician: not redeemed, not kept."""
    async with Harness(tmp_path) as h:
        code = await invite(h)
        for update in (message(STRANGER, code), message(STRANGER, f"/start {code}", edited=True),
                       message(STRANGER, f"/start {code}", chat=group_chat()),
                       message(COORDINATOR, f"/start {code}"), message(PHYSICIAN, f"/start {code}")):
            await h.feed(update)
            assert h.services.role_of(STRANGER) == "stranger"
            assert h.db.conn.execute("SELECT used_by FROM invites").fetchone()[0] is None
        assert code not in stored_text(h)
        calls = await h.say(STRANGER + 1, f"/start {code}")
        assert "You are registered" in texts(calls)[0], "still usable by the physician it was meant for"
        assert_sound(h)


async def test_a_revoked_physician_cannot_reuse_the_link_of_someone_else(tmp_path):
    async with Harness(tmp_path, physicians=()) as h:
        code = await invite(h)
        await h.say(STRANGER, f"/start {code}")
        await h.say(COORDINATOR, f"/revoke {STRANGER}")
        calls = await h.say(STRANGER + 1, f"/start {code}")
        assert "already been used" in texts(calls)[0]
        calls = await h.say(STRANGER, "/screen")
        assert "ask a study coordinator" in texts(calls)[0]
        assert h.db.conn.execute("SELECT COUNT(*) FROM prescreens").fetchone()[0] == 0
        assert_sound(h)


# ---- physicians and coordinators out of their role -------------------------------------------------------


async def referred(h: Harness) -> str:
    ref = ref_of(await h.say(PHYSICIAN, "/screen"))
    await run_to_end(h, ref, ELIGIBLE)
    await h.press(PHYSICIAN, f"s:{ref}")
    return ref


async def test_a_physician_gets_no_coordinator_command(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        before = counts(h)
        for text in ("/referrals", "/export", "/invite", f"/revoke {PHYSICIAN}", "/referrals@screening_test_bot"):
            calls = await h.say(PHYSICIAN, text)
            assert [c.method for c in calls] == ["sendMessage"]
            assert "I did not understand that" in calls[0].text
            assert ref not in calls[0].text
        assert counts(h) == before
        assert not h.audit("audit_exported") and not h.audit("invite_created")
        assert_sound(h)


@pytest.mark.parametrize("decision", ["a", "i", "d"])
async def test_a_physician_cannot_decide_on_a_referral_even_their_own(tmp_path, decision):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        calls = await h.press(PHYSICIAN, f"d:{ref}:1:{decision}")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["text"] == "That button is not valid for you; nothing was changed."
        assert h.services.registry.referral(ref).status == "sent"
        assert not h.audit("coordinator_decision")
        assert_sound(h)


async def test_a_coordinator_cannot_answer_for_a_physician(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        before = h.services.store.load(ref)
        for data in (f"a:{ref}:1:u", f"s:{ref}", f"r:{ref}", f"c:{ref}", f"t:{ref}:1:0", f"k:{ref}:1"):
            calls = await h.press(COORDINATOR, data)
            assert calls[0].params["text"] == "That button does not belong to any of your pre-screens."
        for text in ("12", "/skip", "/back", "/cancel", f"/status {ref}"):
            calls = await h.say(COORDINATOR, text)
            assert "Coordinators use /referrals" in calls[0].text
        assert h.services.store.load(ref) == before
        assert_sound(h)


# ---- forged callback data ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=70).map(lambda b: b.decode("latin-1")),
                 st.builds(lambda a, r, n, x: f"{a}:{r}:{n}:{x}", st.sampled_from("atkscrdx"),
                           st.text(max_size=30), st.text(max_size=12), st.text(max_size=5))))
def test_parse_never_raises_and_yields_only_well_formed_presses(data):
    p = keyboards.parse(data)
    if p is not None:
        assert p.action in "atkscrd" and re.fullmatch(r"[A-Za-z0-9-]{1,24}", p.ref)
        assert p.number is None or 0 <= p.number < 10**9
        assert len(data.encode("utf-8")) <= 64


async def test_forged_presses_on_a_live_prescreen_change_nothing(tmp_path):
    async with Harness(tmp_path, physicians=(PHYSICIAN, PHYSICIAN + 1)) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "12")
        before = h.services.store.load(ref)
        assert before.seq == 2  # the sex question, two choices
        forged = [f"a:{ref}:２:0", f"a:{ref}:٢:0", f"a:{ref}:2:٠", f"a:{ref}:2:2", f"a:{ref}:2:-0",
                  f"a:{ref}:2:0\n", f"a:{ref}\n:2:0", f"a:{ref}:2:0:0", f"t:{ref}:2:0", f"k:{ref}:2",
                  f"a:{ref.lower()}:2:0", f"a:{ref}:{2 + 2**32}:0", f"a:{ref}:2:{'0' * 60}",
                  f"c:{ref}" + " " * 60, f"r:{ref}", f"s:{ref}", f"d:{ref}:1:a"]
        for data in forged:
            calls = await h.press(PHYSICIAN, data)
            assert [c.method for c in calls] == ["answerCallbackQuery"], data
            assert h.services.store.load(ref).history == before.history, data
        for data in (f"a:{ref}:2:0", f"c:{ref}"):
            calls = await h.press(PHYSICIAN + 1, data)
            assert calls[0].params["text"] == "That button does not belong to any of your pre-screens."
        assert h.services.store.load(ref).history == before.history
        assert not h.audit("answer_rejected"), "no press is read as an answer the physician never gave"
        assert_sound(h)


# ---- 4,096 characters ------------------------------------------------------------------------------------


def longest(unit: str) -> str:
    return (unit * 4096)[:4096]


@pytest.mark.parametrize("unit", ["9", "1.5 ", "yes ", "<&> ", "😀", "a\n", "?1, "])
async def test_a_message_of_4096_characters_is_refused_as_an_answer_to_every_kind_of_question(tmp_path, unit):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        kinds_seen = set()
        for _ in range(12):  # number, choice, yes/no and checklist questions come first
            state = h.services.store.load(ref)
            q = engine.current_question(state)
            kinds_seen.add(q.kind)
            calls = await h.say(PHYSICIAN, longest(unit))
            assert "a short answer is expected" in texts(calls)[-1]
            assert h.services.store.load(ref).history == state.history
            await h.say(PHYSICIAN, ELIGIBLE[q.fact])
        assert {"number", "choice", "yes_no", "multi_choice"} <= kinds_seen
        assert_sound(h)


async def test_4096_characters_as_commands_edits_and_from_every_role(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        text = longest("<b>&amp;")
        for update in (message(PHYSICIAN, "/status " + text[:4088]), message(PHYSICIAN, "/screen " + text[:4088]),
                       message(PHYSICIAN, text, edited=True), message(COORDINATOR, text),
                       message(COORDINATOR, "/revoke " + text[:4088]), message(STRANGER, "/start " + text[:4088]),
                       message(PHYSICIAN, "12 " + text[:497])):
            await h.feed(update)
        assert len(h.services.store.load(ref).history) == 0
        assert_sound(h)


# ---- edited messages, odd update kinds, reused update IDs -------------------------------------------------


async def test_edited_commands_are_not_executed(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "12")
        for text in ("/cancel", "/back", "/skip", "/screen"):
            calls = await h.say(PHYSICIAN, text, edited=True)
            assert "I do not read edited messages" in calls[0].text
        state = h.services.store.load(ref)
        assert state.phase == "asking" and len(state.history) == 1
        assert h.db.conn.execute("SELECT COUNT(*) FROM prescreens").fetchone()[0] == 1
        calls = await h.say(COORDINATOR, "/invite", edited=True)
        assert "I do not read edited messages" in calls[0].text and not h.audit("invite_created")
        assert_sound(h)


ODD_UPDATES = {
    "channel post": {"channel_post": {"message_id": 1, "date": 1, "chat": {"id": -1001, "type": "channel",
                                                                            "title": "News"}, "text": "/screen"}},
    "inline query": {"inline_query": {"id": "1", "from": user(PHYSICIAN), "query": "12", "offset": ""}},
    "chat member": {"my_chat_member": {
        "chat": {"id": PHYSICIAN, "type": "private", "first_name": "P"}, "from": user(PHYSICIAN), "date": 1,
        "old_chat_member": {"status": "member", "user": user(123456, None) | {"is_bot": True}},
        "new_chat_member": {"status": "kicked", "until_date": 0, "user": user(123456) | {"is_bot": True}}}},
    "poll answer": {"poll_answer": {"poll_id": "1", "user": user(PHYSICIAN), "option_ids": [0],
                                   "option_persistent_ids": ["o1"]}},
    "callback without message": {"callback_query": {"id": "9", "from": user(PHYSICIAN), "chat_instance": "x",
                                                    "inline_message_id": "abc", "data": "c:R-0000-0000"}},
}


@pytest.mark.parametrize("kind", sorted(ODD_UPDATES))
async def test_update_kinds_never_asked_for_are_recorded_and_left_alone(tmp_path, kind):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        update = {"update_id": 7_000_000 + sorted(ODD_UPDATES).index(kind), **ODD_UPDATES[kind]}
        calls = await h.feed(update)
        assert not [c for c in calls if c.method == "sendMessage" and c.chat_id != PHYSICIAN]
        assert h.services.store.load(ref).history == []
        assert h.services.inbox.is_processed(update["update_id"])
        assert_sound(h)


@pytest.mark.parametrize("kind", ["dice", "poll", "venue", "new member"])
async def test_messages_without_text_or_a_known_attachment_are_answered(tmp_path, kind):
    content = {
        "dice": {"dice": {"emoji": "🎲", "value": 3}},
        "poll": {"poll": {"id": "p", "question": "12?", "total_voter_count": 0, "is_closed": False,
                          "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
                          "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
                          "allows_revoting": False, "members_only": False}},
        "venue": {"venue": {"location": {"latitude": 1.0, "longitude": 2.0}, "title": "Ward 3",
                            "address": "Main St 1"}},
        "new member": {"new_chat_members": [user(4242)]},
    }[kind]
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        update = message(PHYSICIAN, "x")
        del update["message"]["text"]
        update["message"].update(content)
        calls = await h.feed(update)
        assert len([c for c in calls if c.method == "sendMessage"]) == 1
        assert h.services.store.load(ref).history == []
        assert_sound(h)


async def test_an_update_id_reused_with_other_content_is_ignored(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "12", update_id=4242)
        for forged in (message(PHYSICIAN, "/cancel", update_id=4242), message(STRANGER, "/screen", update_id=4242),
                       callback(PHYSICIAN, f"a:{ref}:2:0", update_id=4242), message(PHYSICIAN, "12", update_id=4242)):
            calls = await h.feed(forged)
            assert calls == []
        state = h.services.store.load(ref)
        assert state.phase == "asking" and len(state.history) == 1
        assert len(h.audit("answer_accepted")) == 1
        assert_sound(h)
