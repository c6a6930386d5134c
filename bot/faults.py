"""Crash points for the fault-injection tests (tests/test_faults_kill.py); inert unless SCREENING_FAULT is set.

``SCREENING_FAULT=<point>:<n>[:<prefix>]`` kills this process with SIGKILL (no clean-up, no flush, as the
OOM killer or a power cut would) the n-th time it reaches ``<point>``, counting only the passages whose
detail starts with ``<prefix>`` when one is given. The points, in the order an update travels:

- ``received``: an update came from Telegram and is about to be stored (detail: its kind, e.g. ``text``,
  ``command``, ``callback``);
- ``stored``: the update is stored, no handler has seen it yet (detail: its kind);
- ``committed``: a turn's transaction committed (state, audit events, outbox rows), nothing of it is
  sent yet (detail: the update's kind);
- ``before_send``: an outbox row is about to be sent (detail: its key, e.g. ``u12.0`` or
  ``summary:R-7KQ2-9XPM:1:9001``);
- ``after_send``: Telegram accepted the row, it is not yet marked sent (detail: its key).
- ``job_committed``: a scheduled job's transaction committed (its events, its outbox rows), nothing of
  it is sent yet (detail: the key of each row, e.g. ``remind:R-7KQ2-9XPM:1:…`` or ``digest:2026-12-02:9001``).

The variable is read once, when this module is imported; unset or empty, :func:`point` returns at once.
A malformed value is reported on standard error and ignored. Never set it outside tests.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "SCREENING_FAULT"
POINTS = ("received", "stored", "committed", "before_send", "after_send", "job_committed")


def parse(spec: str) -> tuple[str, int, str] | None:
    """(point, n, prefix) from ``point:n[:prefix]``; None when empty or malformed."""
    if not spec:
        return None
    name, _, rest = spec.partition(":")
    count, _, prefix = rest.partition(":")
    if name not in POINTS or not count.isascii() or not count.isdigit() or int(count) < 1:
        print(f"screening-bot: {ENV} must be <point>:<n>[:<prefix>] with a point among {', '.join(POINTS)};"
              " ignored", file=sys.stderr)
        return None
    return name, int(count), prefix


_fault = parse(os.environ.get(ENV, "").strip())
_passed = 0


def point(name: str, detail: str = "") -> None:
    """Die here if this is the configured crash point; otherwise do nothing."""
    global _passed
    if _fault is None or name != _fault[0] or not detail.startswith(_fault[2]):
        return
    _passed += 1
    if _passed == _fault[1]:
        os.kill(os.getpid(), signal.SIGKILL)
