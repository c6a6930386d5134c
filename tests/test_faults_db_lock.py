"""Another writer holding the database for a few seconds: the step waits on the busy timeout and succeeds,
and nothing is lost or applied twice."""

import sqlite3
import threading
import time

import steps

from conversations.dialogue import engine
from conversations.records.store import Store

HOLD_S = 1.5


def _hold_write_lock(path, held: threading.Event, release_after: float) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(release_after)
    con.execute("COMMIT")
    con.close()


def test_step_waits_for_another_writer_and_succeeds(tmp_path):
    path = tmp_path / "s.db"
    store = Store.open(path)
    r = steps.start(store, "physician", 5)
    steps.apply(store, r.referral_id, engine.Answer("12"), "physician", 5)

    held = threading.Event()
    locker = threading.Thread(target=_hold_write_lock, args=(path, held, HOLD_S))
    locker.start()
    held.wait()
    t0 = time.monotonic()
    result = steps.apply(store, r.referral_id, engine.Answer("female"), "physician", 5)
    waited = time.monotonic() - t0
    locker.join()

    assert waited >= HOLD_S * 0.8, "the step should have waited for the other writer"
    assert [o.fact for o in result.outputs if isinstance(o, engine.Question)] == ["childbearing_potential"]
    reopened = Store.open(path)
    state = reopened.load(r.referral_id)
    assert [e.q for e in state.history] == ["age_years", "sex"]
    accepted = reopened.db.conn.execute(
        "SELECT count(*) FROM audit_events WHERE referral_id = ? AND type = 'answer_accepted'",
        (r.referral_id,)).fetchone()[0]
    assert accepted == 2


def test_two_stores_interleaving_on_one_database_lose_nothing(tmp_path):
    path = tmp_path / "s.db"
    a, b = Store.open(path), Store.open(path)
    ra, rb = steps.start(a, "physician", 1), steps.start(b, "physician", 2)
    errors: list[BaseException] = []

    def drive(store: Store, rid: str, who: int) -> None:
        try:
            for text in ["12", "male", "none", "yes", "IV", "10", "yes"]:
                steps.apply(store, rid, engine.Answer(text), "physician", who)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(a, ra.referral_id, 1)),
               threading.Thread(target=drive, args=(b, rb.referral_id, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    check = Store.open(path)
    for rid in (ra.referral_id, rb.referral_id):
        assert len(check.load(rid).history) == 7
    from conversations.records.audit_verify import verify

    assert verify(check.db).ok
