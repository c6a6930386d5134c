"""The screening report as one self-contained HTML page: the CONSORT flow drawn as inline SVG, the counts
by month and the table of referrals, from `conversations.records.report_data`. Rendered with Jinja2
(autoescaped) from ``bot/templates/report.html.j2``; inline CSS, no script, nothing fetched: it reads the
same printed, mailed or opened from a phone.

Every number of the screening log is on the page in an element with ``data-count="<key>"`` (``started``,
``by_outcome.eligible``, ``by_failing_criterion.I1``, ``by_decision.accept``, ...), the keys of
``screening-bot log --json`` flattened with dots, so that a reader (or a test) can check the page against
the log.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jinja2

from conversations.records.report_data import ReportData
from criteria import TITLES

OUTCOME_LABELS = {"eligible": "Eligible", "ineligible": "Ineligible", "incomplete": "Incomplete"}
DECISION_LABELS = {"accept": "Accepted", "need_info": "Need information", "decline": "Declined",
                   "awaiting": "Awaiting a decision"}
STATUS_LABELS = {**{k: v.lower() for k, v in OUTCOME_LABELS.items()}, "cancelled": "cancelled",
                 "in_progress": "in progress"}

# The diagram's geometry, in the SVG's own units: it is scaled to the page's width (max 640 px on screen).
WIDTH = 460
FONT = 14
LINE = 18
PAD = 8
CHAR = 8.2  # a conservative average advance of the sans-serif at FONT (DejaVu Sans's), for wrapping labels
GAP = 34  # between rows, room for the arrows


@dataclass
class Line:
    text: str
    key: str | None = None  # the log key of the number that ends the line
    count: int | None = None
    bold: bool = False


@dataclass
class Box:
    x: float
    y: float
    w: float
    lines: list[Line] = field(default_factory=list)
    kind: str = "main"  # main, side (an exit from the flow), detail
    centred: bool = False  # every line centred: the narrow boxes of a row, each count on a line of its own

    @property
    def h(self) -> float:
        return 2 * PAD + LINE * len(self.lines)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Diagram:
    width: int
    height: float
    boxes: list[Box]
    arrows: list[tuple[float, float, float, float]]  # x1, y1, x2, y2, ending in an arrowhead
    lines: list[tuple[float, float, float, float]]  # plain connectors


def _wrap(text: str, width: float, reserve: int = 0) -> list[str]:
    return textwrap.wrap(text, max(int((width - 2 * PAD) / CHAR) - reserve, 6), break_long_words=False) or [""]


def _counted(label: str, key: str, n: int, width: float, bold: bool = False) -> list[Line]:
    """``label`` wrapped to ``width``, its last line ending in the count (a line of its own when long)."""
    words = _wrap(label, width, reserve=len(str(n)) + 3)
    return [Line(t, bold=bold) for t in words[:-1]] + [Line(words[-1] + ":", key, n, bold)]


def _column(x: float, y: float, w: float, label: str, key: str, n: int, bold: bool = False) -> Box:
    """A narrow box of a row: the label centred, wrapped, and its count beneath it."""
    return Box(x, y, w, [Line(t, bold=bold) for t in _wrap(label, w)] + [Line("", key, n, True)], centred=True)


def _fan(parent: Box, row: list[Box], split_y: float, connectors: list, arrows: list) -> list[Box]:
    """A row of boxes under ``parent``, given one height, joined to it by a line down to ``split_y``, a bar
    across the row and an arrow into each box; the row."""
    tallest = max((b.h for b in row), default=0)
    for b in row:
        while b.h < tallest:
            b.lines.insert(len(b.lines) - 1, Line(""))
    connectors.append((parent.cx, parent.bottom, parent.cx, split_y))
    if row:
        connectors.append((row[0].cx, split_y, row[-1].cx, split_y))
    arrows += [(b.cx, split_y, b.cx, b.y) for b in row]
    return row


def diagram(data: ReportData) -> Diagram:
    log = data.log
    boxes: list[Box] = []
    arrows: list[tuple[float, float, float, float]] = []
    connectors: list[tuple[float, float, float, float]] = []
    main_w = 236
    main_x = 10
    side_x = main_x + main_w + 24
    side_w = WIDTH - side_x

    started = Box(main_x, 10, main_w, _counted("Pre-screens started", "started", log.started, main_w, True))
    boxes.append(started)
    side = Box(side_x, started.bottom + GAP / 2, side_w,
               _counted("Cancelled before an outcome", "cancelled", log.cancelled, side_w)
               + _counted("Still in progress", "in_progress", log.in_progress, side_w), "side")
    boxes.append(side)
    completed = Box(main_x, side.bottom + GAP / 2, main_w,
                    _counted("Completed (final outcome)", "completed", log.completed, main_w, True))
    boxes.append(completed)
    arrows.append((started.cx, started.bottom, completed.cx, completed.y))
    arrows.append((started.cx, side.y + side.h / 2, side.x, side.y + side.h / 2))

    # One box per outcome, side by side; the ineligible one carries its detail beneath it.
    statuses = list(log.by_outcome)
    gap = 12
    col_w = (WIDTH - gap * (len(statuses) - 1)) / max(len(statuses), 1)
    row_y = completed.bottom + GAP
    split_y = completed.bottom + GAP / 2
    outcome_boxes: list[Box] = []
    for i, status in enumerate(statuses):
        b = _column(i * (col_w + gap), row_y, col_w, OUTCOME_LABELS.get(status, status), f"by_outcome.{status}",
                    log.by_outcome[status], True)
        outcome_boxes.append(b)
    boxes += _fan(completed, outcome_boxes, split_y, connectors, arrows)
    ends = {b.cx: b.bottom for b in outcome_boxes}

    if "ineligible" in statuses:
        under = outcome_boxes[statuses.index("ineligible")]
        lines = _counted("Ineligible now, may be re-referred", "ineligible_now", log.ineligible_now, under.w)
        lines.append(Line("By failing criterion:"))
        failing = list(log.by_failing_criterion.items())
        lines += [Line(f"{cid}:", f"by_failing_criterion.{cid}", n) for cid, n in failing] or [Line("none")]
        detail = Box(under.x, under.bottom + GAP / 2, under.w, lines, "detail")
        boxes.append(detail)
        arrows.append((under.cx, under.bottom, detail.cx, detail.y))
        ends[under.cx] = detail.bottom

    sent_y = max(ends.values(), default=row_y) + GAP
    sent = Box(main_x, sent_y, main_w, _counted("Sent to coordinators", "sent", log.sent, main_w, True))
    boxes.append(sent)
    merge_y = sent_y - GAP / 2
    for x, bottom in ends.items():
        connectors.append((x, bottom, x, merge_y))
    if ends:
        connectors.append((min(ends), merge_y, max(ends), merge_y))
    arrows.append((sent.cx, merge_y, sent.cx, sent.y))

    decisions = list(log.by_decision)
    col_w = (WIDTH - gap * (len(decisions) - 1)) / max(len(decisions), 1)
    split_y = sent.bottom + GAP / 2
    decision_boxes = [
        _column(i * (col_w + gap), sent.bottom + GAP, col_w, DECISION_LABELS.get(d, d.replace("_", " ")),
                f"by_decision.{d}", log.by_decision[d])
        for i, d in enumerate(decisions)]
    boxes += _fan(sent, decision_boxes, split_y, connectors, arrows)
    # Every decision made counts above, an undone one too; how many were taken back, beneath them.
    undone_y = max((b.bottom for b in decision_boxes), default=sent.bottom) + GAP / 2
    boxes.append(Box(main_x, undone_y, main_w, _counted("Decisions undone", "undone", log.undone, main_w), "side"))
    height = max(b.bottom for b in boxes) + 10
    return Diagram(WIDTH, height, boxes, arrows, connectors)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("bot", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = lambda ts: ts[:10] if ts else ""
    return env


def render(data: ReportData, *, generated_at: datetime | None = None) -> str:
    """The page for ``data``; physicians' details appear only when ``data`` holds them (``contacts``)."""
    generated_at = generated_at or datetime.now(UTC)
    used = {cid for r in data.referrals for cid in (*r.failed, *r.missing, *r.pending, *r.flags)}
    used |= set(data.log.by_failing_criterion)
    legend = [(cid, TITLES[cid]) for cid in TITLES if cid in used]
    legend += [(cid, "") for cid in sorted(used - set(TITLES))]
    return _environment().get_template("report.html.j2").render(
        data=data, log=data.log, diagram=diagram(data), legend=legend,
        generated_at=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        status_labels=STATUS_LABELS, decision_labels=DECISION_LABELS, outcome_labels=OUTCOME_LABELS,
        line_height=LINE, pad=PAD, font=FONT)
