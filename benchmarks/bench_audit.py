"""Benchmark: verify and jsonl-export a trail of 100,000 events.

    .venv/bin/python benchmarks/bench_audit.py [--events N]

Prints one JSON line: events, verify_s, export_s, db and export sizes. Targets on the 2-core CI machine:
verify < 10 s, export < 20 s. Building the trail is not timed: rows are precomputed with the same hash
functions as audit.append and inserted in one transaction (append per event would cost a commit each).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conversations.records import audit
from conversations.records.audit_export import export
from conversations.records.audit_verify import verify
from conversations.records.db import open_db, write

# One pre-screen's worth of events, cycled: (role, type, payload).
SCRIPT = [
    ("physician", "prescreen_started", {"channel": "telegram", "protocol_version": "cart-sle-ped-prescreen/1.0"}),
    ("system", "message_sent", {"chat_id": 101, "text": "How old is the patient (completed years)?"}),
    ("physician", "update_received", {"update_id": 1, "kind": "message", "text": "14"}),
    ("physician", "answer_accepted", {"question": "age", "facts": {"age_years": 14}, "unknown": [], "raw": "14"}),
    ("system", "message_sent", {"chat_id": 101, "text": "LVEF, SpO2 on room air and ECG?"}),
    ("physician", "update_received", {"update_id": 2, "kind": "message", "text": "LVEF 62, SpO2 98, ECG normal"}),
    ("physician", "answer_accepted", {"question": "cardio", "facts": {"lvef_percent": 62, "spo2_percent": 98,
                                      "ecg_significant_abnormality": False}, "unknown": [],
                                      "raw": "LVEF 62, SpO2 98, ECG normal"}),
    ("system", "outcome", {"status": "incomplete", "final": True, "failed": [], "missing": ["hbsag", "hbcab"],
                           "pending": ["I5", "I7", "E13"], "protocol_version": "cart-sle-ped-prescreen/1.0",
                           "facts": {"age_years": 14, "lvef_percent": 62, "spo2_percent": 98}}),
    ("system", "referral_sent", {"outcome_status": "incomplete", "coordinators": [201], "audit_head": "0" * 64}),
    ("coordinator", "coordinator_decision", {"decision": "need_info"}),
]


def build(db, n: int) -> None:
    prev, rows = audit.GENESIS, []
    for seq in range(1, n + 1):
        role, type_, payload = SCRIPT[(seq - 1) % len(SCRIPT)]
        referral = f"R-{(seq - 1) // len(SCRIPT):04X}-BNCH"
        actor = 201 if role == "coordinator" else 0 if role == "system" else 101
        ts = f"2026-03-02T09:{(seq // 60) % 60:02d}:{seq % 60:02d}.{seq % 1_000_000:06d}Z"
        body = audit.canonical(payload)
        p_hash = audit.sha256(body)
        prev = audit.chain_hash(prev, seq, ts, role, actor, referral, type_, p_hash)
        rows.append((seq, ts, role, actor, referral, type_, body, p_hash, prev))
    with write(db):
        db.conn.executemany(f"INSERT INTO {audit.TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        audit.ensure_schema(db)
        build(db, args.events)

        t0 = time.perf_counter()
        result = verify(db)
        verify_s = time.perf_counter() - t0
        assert result.ok and result.events == args.events, result

        out = Path(tmp) / "trail.jsonl"
        t0 = time.perf_counter()
        exported = export(db, out, "jsonl", actor_role="operator", actor_id=0)
        export_s = time.perf_counter() - t0
        assert exported.events == args.events

        print(json.dumps({
            "events": args.events, "verify_s": round(verify_s, 3), "export_s": round(export_s, 3),
            "referrals": exported.referrals,
            "db_bytes": sum(f.stat().st_size for f in Path(tmp).glob("bench.db*")),  # with its WAL
            "export_bytes": out.stat().st_size,
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
