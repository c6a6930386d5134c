"""How tests/data/protocol1.db was made: run once against the main branch as it was at commit da7c8af
(protocol 1), from that checkout's root:

    python tests/data/make_protocol1_db.py OUT.db

It drives the real Telegram application of that version through the harness of that version, so the
file holds exactly what a protocol-1 bot wrote (pre-screens, audit trail, referrals and decisions, the
Telegram inbox, outbox and focus). Not run by the test suite: protocol 1 is gone from the code.
"""

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, "tests")

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end

OTHER = 1002  # a second physician


async def new(h: Harness, uid: int = PHYSICIAN) -> str:
    return ref_of(await h.say(uid, "/screen"))


async def answer(h: Harness, ref: str, answers: dict[str, str], uid: int = PHYSICIAN, until: str | None = None):
    from conversations.dialogue import engine

    for _ in range(80):
        state = h.services.store.load(ref)
        if state.phase != "asking" or state.current == until:
            return
        q = engine.current_question(state)
        await h.say(uid, answers[q.fact])


async def send(h: Harness, ref: str, uid: int = PHYSICIAN) -> None:
    await h.press(uid, f"s:{ref}")


async def decide(h: Harness, ref: str, code: str) -> None:
    await h.press(COORDINATOR, f"d:{ref}:1:{code}")


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Harness(Path(tmp), physicians=(PHYSICIAN, OTHER)) as h:
            refs = {}
            # A: eligible, sent and accepted (protocol 2 keeps it eligible).
            refs["A"] = ref = await new(h)
            await run_to_end(h, ref, ELIGIBLE)
            await send(h, ref)
            await decide(h, ref, "a")
            # B: excluded by E3c alone (nephropathy likely to need intensified therapy), sent and declined:
            # protocol 2 makes E3c pending, so the child becomes eligible.
            refs["B"] = ref = await new(h)
            await answer(h, ref, {**ELIGIBLE, "exclusion_checklist": "nephropathy_needs_intensification"})
            await send(h, ref)
            await decide(h, ref, "d")
            # C: responded, then relapsed: "target NOT reached?" answered no; SLEDAI-2K from descriptors
            # (arthritis, proteinuria, low complement: 10). Ineligible on I2c under protocol 1, sent, no
            # decision yet. Protocol 2 derives target_not_reached from SLEDAI-2K >= 5.
            refs["C"] = ref = await new(h, OTHER)
            await answer(h, ref, {**ELIGIBLE, "sledai_2k": "unknown", "target_not_reached": "no"}, uid=OTHER)
            await send(h, ref, OTHER)
            # D: finished, not sent: E3c again.
            refs["D"] = ref = await new(h)
            await answer(h, ref, {**ELIGIBLE, "exclusion_checklist": "nephropathy_needs_intensification, 13"})
            # E: open, at the LLDAS question (every answer before it given, the EULAR/ACR score as items).
            refs["E"] = ref = await new(h)
            await answer(h, ref, {**ELIGIBLE, "sle_eular_acr_2019": "unknown"}, until="target_not_reached")
            # F: open, the LLDAS question answered "no" (the protocol-1 wording), and the dose calculator
            # used (prednisone 40 mg/day, 30 kg).
            refs["F"] = ref = await new(h, OTHER)
            await answer(h, ref, {**ELIGIBLE, "gc_high_dose": "unknown", "sledai_2k": "unknown",
                                  "sledai_2k_items": "arthritis", "target_not_reached": "no"},
                         uid=OTHER, until="ln_classes")
            # G: cancelled.
            refs["G"] = ref = await new(h)
            await h.say(PHYSICIAN, "14")
            await h.say(PHYSICIAN, "/cancel")
            await h.services.sender.deliver_due()
            for name, ref in refs.items():
                print(name, ref)
        shutil.copy(Path(tmp) / "screening.db", out)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
