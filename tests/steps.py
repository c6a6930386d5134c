"""A step of a pre-screen in a transaction of its own, as the terminal takes it: the store's operations
run inside the caller's transaction (issue 11), and these helpers are that caller for the tests."""

from __future__ import annotations

from conversations.dialogue import engine
from conversations.records.store import Recorded, Store


def start(store: Store, owner_role: str, owner_id: int, channel: str = "terminal") -> Recorded:
    with store.transaction():
        return store.start(owner_role, owner_id, channel=channel)


def apply(store: Store, referral_id: str, inp: engine.Input, actor_role: str, actor_id: int) -> Recorded:
    with store.transaction():
        return store.apply(referral_id, inp, actor_role, actor_id)
