"""The screening report as one self-contained HTML page: the CONSORT flow drawn as inline SVG, the counts
by month and the table of referrals, from `conversations.records.report_data`. Rendered with Jinja2
(autoescaped) from ``bot/templates/report.html.j2``; inline CSS, no script, nothing fetched: it reads the
same printed, mailed or opened from a phone.

Every number of the screening log is on the page in an element with ``data-count="<key>"`` (``started``,
``by_outcome.eligible``, ``by_failing_criterion.I1``, ``by_decision.accept``, ...), the keys of
``screening-bot log --json`` flattened with dots, so that a reader (or a test) can check the page against
the log.

The page is in the language asked for (``lang``, else ``bot.i18n.current()``): the template's sentences
through Jinja2's i18n extension with the project's catalogue (whole sentences in ``{% trans %}`` blocks,
extracted by babel.cfg's ``[jinja2: ...]`` section), the words for the data's codes and the diagram's
labels through ``bot.i18n._`` (the constants below, extracted as phrase tables).
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import jinja2

from conversations.records.report_data import ReportData
from criteria import TITLES

from . import i18n
from .i18n import _

# The words for the data's codes and the diagram's labels, in English (the catalogue's msgids).
OUTCOME_LABELS = {"eligible": "Eligible", "ineligible": "Ineligible", "incomplete": "Incomplete"}
DECISION_LABELS = {"accept": "Accepted", "need_info": "Need information", "decline": "Declined",
                   "awaiting": "Awaiting a decision"}
STATUS_LABELS = {"eligible": "eligible", "ineligible": "ineligible", "incomplete": "incomplete",
                 "cancelled": "cancelled", "in_progress": "in progress"}
# A decline's reason code (registry.DECLINE_REASONS) as the coordinators' buttons name it (the same
# msgids, so the same translations); "other" without the buttons' "(type a few words)".
REASON_LABELS = {"age_range": "outside the age range (5 to 18 years)",
                 "not_refractory": "the disease is not refractory", "exclusion": "an exclusion criterion is present",
                 "incomplete": "the information is incomplete", "other": "other"}
# Each ends in the colon before its count: a language writes its own (Chinese a full-width one).
FLOW_LABELS = {"started": "Pre-screens started:", "cancelled": "Cancelled before an outcome:",
               "in_progress": "Still in progress:", "completed": "Completed (final outcome):",
               "ineligible_now": "Ineligible now, may be re-referred:", "by_failing": "By failing criterion:",
               "none": "none", "sent": "Sent to coordinators:", "undone": "Decisions undone:"}
# The page's ``<html lang>``: BCP 47, the script said for Chinese.
HTML_LANG = {i18n.ENGLISH: "en", i18n.CHINESE: "zh-Hans"}

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


# Marks a line may not start with: they stay at the end of the line before.
_CLOSING = "，。：；、）！？"


def _advance(ch: str) -> float:
    return FONT if unicodedata.east_asian_width(ch) in "WF" else CHAR


def _wrap(text: str, width: float, reserve: int = 0) -> list[str]:
    if not any(unicodedata.east_asian_width(ch) in "WF" for ch in text):
        return textwrap.wrap(text, max(int((width - 2 * PAD) / CHAR) - reserve, 6), break_long_words=False) or [""]
    # Chinese puts no spaces between words: a line breaks between any two characters, at their advance.
    room = max(width - 2 * PAD - reserve * CHAR, 6 * CHAR)
    lines, line, used = [], "", 0.0
    for ch in text:
        if line and used + _advance(ch) > room and ch not in _CLOSING:
            lines.append(line)
            line, used = "", 0.0
        line, used = line + ch, used + _advance(ch)
    return [*lines, line]


def _label(table: dict[str, str], code: str) -> str:
    """The word for ``code`` in the current language; a code the table does not know, as it is."""
    return _(table[code]) if code in table else code.replace("_", " ")


def _counted(key: str, n: int, width: float, bold: bool = False) -> list[Line]:
    """``FLOW_LABELS[key]`` wrapped to ``width``, its last line ending in the count of the log's ``key`` (a
    line of its own when long)."""
    text = _(FLOW_LABELS[key])
    colon = ":" if text.endswith(":") else ""  # an ASCII colon is kept off the last word when wrapping
    words = _wrap(text.removesuffix(colon), width, reserve=len(str(n)) + 3)
    return [Line(t, bold=bold) for t in words[:-1]] + [Line(words[-1] + colon, key, n, bold)]


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

    started = Box(main_x, 10, main_w, _counted("started", log.started, main_w, True))
    boxes.append(started)
    side = Box(side_x, started.bottom + GAP / 2, side_w,
               _counted("cancelled", log.cancelled, side_w)
               + _counted("in_progress", log.in_progress, side_w), "side")
    boxes.append(side)
    completed = Box(main_x, side.bottom + GAP / 2, main_w,
                    _counted("completed", log.completed, main_w, True))
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
        b = _column(i * (col_w + gap), row_y, col_w, _label(OUTCOME_LABELS, status), f"by_outcome.{status}",
                    log.by_outcome[status], True)
        outcome_boxes.append(b)
    boxes += _fan(completed, outcome_boxes, split_y, connectors, arrows)
    ends = {b.cx: b.bottom for b in outcome_boxes}

    if "ineligible" in statuses:
        under = outcome_boxes[statuses.index("ineligible")]
        lines = _counted("ineligible_now", log.ineligible_now, under.w)
        lines.append(Line(_(FLOW_LABELS["by_failing"])))
        failing = list(log.by_failing_criterion.items())
        lines += [Line(f"{cid}:", f"by_failing_criterion.{cid}", n) for cid, n in failing] or [
            Line(_(FLOW_LABELS["none"]))]
        detail = Box(under.x, under.bottom + GAP / 2, under.w, lines, "detail")
        boxes.append(detail)
        arrows.append((under.cx, under.bottom, detail.cx, detail.y))
        ends[under.cx] = detail.bottom

    sent_y = max(ends.values(), default=row_y) + GAP
    sent = Box(main_x, sent_y, main_w, _counted("sent", log.sent, main_w, True))
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
        _column(i * (col_w + gap), sent.bottom + GAP, col_w, _label(DECISION_LABELS, d), f"by_decision.{d}",
                log.by_decision[d])
        for i, d in enumerate(decisions)]
    boxes += _fan(sent, decision_boxes, split_y, connectors, arrows)
    # Every decision made counts above, an undone one too; how many were taken back, beneath them.
    undone_y = max((b.bottom for b in decision_boxes), default=sent.bottom) + GAP / 2
    boxes.append(Box(main_x, undone_y, main_w, _counted("undone", log.undone, main_w), "side"))
    height = max(b.bottom for b in boxes) + 10
    return Diagram(WIDTH, height, boxes, arrows, connectors)


@cache
def _environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("bot", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             extensions=["jinja2.ext.i18n"])
    # newstyle: a translation's %(name)s are filled by Jinja2 and escaped like any other value.
    env.install_gettext_translations(i18n.catalogue(lang), newstyle=True)
    env.filters["day"] = lambda ts: ts[:10] if ts else ""
    return env


def _labels(table: dict[str, str]) -> dict[str, str]:
    return {k: _(v) for k, v in table.items()}


def render(data: ReportData, *, generated_at: datetime | None = None, lang: str | None = None) -> str:
    """The page for ``data`` in ``lang`` (default: the current language); physicians' details appear only
    when ``data`` holds them (``contacts``)."""
    generated_at = generated_at or datetime.now(UTC)
    lang = i18n.negotiate(lang) if lang else i18n.current()
    used = {cid for r in data.referrals for cid in (*r.failed, *r.missing, *r.pending, *r.flags)}
    used |= set(data.log.by_failing_criterion)
    with i18n.using(lang):
        legend = [(cid, _(TITLES[cid])) for cid in TITLES if cid in used]
        legend += [(cid, "") for cid in sorted(used - set(TITLES))]
        return _environment(lang).get_template("report.html.j2").render(
            data=data, log=data.log, diagram=diagram(data), legend=legend, html_lang=HTML_LANG[lang],
            generated_at=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            status_labels=_labels(STATUS_LABELS), decision_labels=_labels(DECISION_LABELS),
            reason_labels=_labels(REASON_LABELS), line_height=LINE, pad=PAD, font=FONT)
