"""A database for the screening report's tests, and how they read the page.

`report_run` is a realistic Telegram run: three referrals sent and left waiting (eligible, ineligible at I1,
incomplete), one left half-way by a second physician, then test_audit_rebuild's `_telegram_run` (invites,
referrals accepted and declined, an amendment, a cancellation, revocations).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from telegram_harness import ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end
from test_audit_rebuild import _telegram_run

SECOND = 1002  # a physician who leaves a pre-screen half-way
# Answers typed in the run: none of them may reach the page.
TYPED = ("mycophenolate", "cyclophosphamide", "prednisone", "145", "0.6 mg/dL", "lupus")


async def report_run(tmp: Path) -> dict[str, str]:
    refs: dict[str, str] = {}
    async with Harness(tmp, physicians=(PHYSICIAN, SECOND)) as h:
        for name, answers in (("waiting", ELIGIBLE), ("ineligible", {**ELIGIBLE, "age_years": "4"}),
                              ("incomplete", {**ELIGIBLE, "lvef_percent": "unknown"})):
            ref = ref_of(await h.say(PHYSICIAN, "/screen"))
            await run_to_end(h, ref, answers)
            await h.press(PHYSICIAN, f"s:{ref}")
            refs[name] = ref
        refs["in_progress"] = ref_of(await h.say(SECOND, "/screen"))
        await h.say(SECOND, "12")
    refs.update(await _telegram_run(tmp))
    return refs


def flatten(log_json: dict[str, Any]) -> dict[str, int]:
    """``screening-bot log --json`` as the page's ``data-count`` keys: every number, nested keys dotted."""
    flat: dict[str, int] = {}
    for key, value in log_json.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        elif isinstance(value, int):
            flat[key] = value
    return flat


class Page(HTMLParser):
    """What a test reads off the page: every ``data-count`` and ``data-total`` element's text, the head, the
    referral rows (their status), every link and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.counts: dict[str, str] = {}
        self.totals: dict[str, str] = {}
        self.head = ""
        self.rows: dict[str, str] = {}
        self.links: list[str] = []
        self.scripts = 0
        self.text: list[str] = []
        self._open: list[tuple[dict[str, str], str]] = []  # (target dict, key) awaiting their text
        self._row: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts += 1
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in ("link", "img", "iframe", "object", "embed", "source") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src") or "")
        if "data-count" in a:
            self._open.append((self.counts, a["data-count"]))
        elif "data-total" in a:
            self._open.append((self.totals, a["data-total"]))
        elif "data-head" in a:
            self._open.append((self.__dict__, "head"))
        if "data-referral" in a:
            self._row = a["data-referral"]
        if "data-status" in a and self._row:
            self.rows[self._row] = a["data-status"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and data.strip():
            target, key = self._open.pop()
            target[key] = data.strip()

    def numbers(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.counts.items()}
