"""A release's report as a PDF (reportlab platypus): the same content as the web page.

Each figure gets a bar chart drawn with reportlab's own graphics from the RELEASED table
(never the live counts: a suppressed cell has no value to draw), then its table; the
durations (median and 90th percentile days) and the sums of kronor follow as tables. A
suppressed cell is drawn as an empty, outlined bar of a fixed height labelled ``:c``:
its height must not hint at its value. Then the legend and the audit head.

Fonts: the 14 standard PDF fonts (Helvetica here) need no embedding, and reportlab
writes them in WinAnsiEncoding, which holds Swedish letters (å, ä, ö, é); the tests
read them back from the PDF's text. The document's title and language (sv or en, the
page's) are set in its metadata, for screen readers and search.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from flask_babel import get_locale
from flask_babel import gettext as _
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepInFrame,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from .charts import PALETTE
from .releases import Report, ReportDurations, ReportFigure, ordered_keys
from .tables import TOTAL, ReleasedTable

CHART_WIDTH = 170 * mm
LABEL_WIDTH = 55 * mm  # the row and series names, left of the bars
VALUE_ROOM = 12 * mm  # right of the longest bar: its printed value
BAR, BAR_GAP, ROW_GAP, ROW_LABEL = 7.0, 2.0, 6.0, 10.0
# A suppressed bar: outlined and dashed, no fill, always this long whatever it hides.
SUPPRESSED_LENGTH = 10 * mm
MAX_CHART_HEIGHT = 150 * mm
MAX_BARS = 60  # a table with more cells than this is charted by its row totals only
FONT, BOLD = "Helvetica", "Helvetica-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {"title": sheet["Title"], "h2": sheet["Heading2"], "body": sheet["BodyText"],
            "head": ParagraphStyle("head", parent=sheet["BodyText"], fontName=BOLD,
                                   fontSize=7, leading=8.5),
            "cell": ParagraphStyle("cell", parent=sheet["BodyText"], fontSize=8,
                                   leading=9.5),
            "mono": ParagraphStyle("mono", parent=sheet["BodyText"], fontName="Courier",
                                   fontSize=8, leading=10)}


def _text(value: object) -> str:
    """Text for a Paragraph, which reads a little markup: escaped."""
    return escape(str(value))


def _series(table: ReleasedTable) -> tuple[str, ...]:
    """The columns drawn as bars in each row's group: every column of a two-dimensional
    table (its row totals when that would be too many bars), else the one."""
    columns = tuple(c for c in table.columns if c != TOTAL)
    if not columns or len(columns) * len(table.rows) > MAX_BARS:
        return (TOTAL,)
    return columns


def bar_chart(figure: ReportFigure) -> Drawing:
    """Horizontal bars, grouped by row, from the released table; a suppressed cell is a
    dashed outline of one fixed length labelled ``:c``."""
    table = figure.table
    series = _series(table)
    palette = [colors.HexColor(c) for c in PALETTE]
    legend = len(series) > 1
    top_value = max([cell.value for r in table.rows for c in series
                     if (cell := table.cells.get((r, c))) is not None
                     and cell.value is not None] + [1])
    scale = (CHART_WIDTH - LABEL_WIDTH - VALUE_ROOM) / top_value
    per_row = ROW_LABEL + len(series) * (BAR + BAR_GAP) + ROW_GAP
    legend_height = (BAR + BAR_GAP) * len(series) + ROW_GAP if legend else 0
    height = legend_height + per_row * max(1, len(table.rows))
    drawing = Drawing(CHART_WIDTH, height)
    y = height
    if legend:
        for index, column in enumerate(series):
            y -= BAR + BAR_GAP
            drawing.add(Rect(0, y, BAR, BAR, fillColor=palette[index % len(palette)],
                             strokeColor=None))
            drawing.add(String(BAR + 4, y + 1, figure.label(column)[:80], fontName=FONT,
                               fontSize=7))
        y -= ROW_GAP
    for row in table.rows:
        y -= ROW_LABEL
        drawing.add(String(0, y + 2, figure.label(row)[:90], fontName=BOLD, fontSize=7))
        for index, column in enumerate(series):
            y -= BAR + BAR_GAP
            cell = table.cells.get((row, column))
            if legend:
                drawing.add(String(LABEL_WIDTH - 4, y + 1, figure.label(column)[:40],
                                   fontName=FONT, fontSize=6, textAnchor="end"))
            if cell is None or cell.value is None:
                drawing.add(Rect(LABEL_WIDTH, y, SUPPRESSED_LENGTH, BAR, fillColor=None,
                                 strokeColor=colors.black, strokeWidth=0.6,
                                 strokeDashArray=[2, 1.5]))
                drawing.add(String(LABEL_WIDTH + SUPPRESSED_LENGTH + 3, y + 1, ":c",
                                   fontName=BOLD, fontSize=7))
                continue
            length = cell.value * scale
            if length > 0:
                drawing.add(Rect(LABEL_WIDTH, y, length, BAR,
                                 fillColor=palette[index % len(palette)], strokeColor=None))
            drawing.add(String(LABEL_WIDTH + length + 3, y + 1, str(cell.value),
                               fontName=FONT, fontSize=7))
        y -= ROW_GAP
    drawing.add(Line(LABEL_WIDTH, 0, LABEL_WIDTH, height - legend_height,
                     strokeColor=colors.black, strokeWidth=0.6))
    return drawing


def table_of(figure: ReportFigure) -> Table:
    """The released table: a row per group and the total, ``:c`` for a suppressed cell."""
    table = figure.table
    two_d = table.columns != (TOTAL,)
    styles = _styles()
    header = [_("Group"), *([figure.label(c) for c in table.columns] if two_d else []),
              _("Total") if two_d else _("Cases")]
    rows: list[Sequence[str | Paragraph]] = [
        [Paragraph(_text(name), styles["head"]) for name in header]]
    for row, columns in ordered_keys(table):
        shown = [(table.cells[(row, c)].shown if (row, c) in table.cells else "\N{EN DASH}")
                 for c in columns]
        rows.append([Paragraph(_text(figure.label(row)), styles["cell"]), *shown])
    first = 45 * mm
    rest = (CHART_WIDTH - first) / max(1, len(header) - 1)
    grid = Table(rows, repeatRows=1, hAlign="LEFT",
                 colWidths=[first, *([min(rest, 30 * mm)] * (len(header) - 1))])
    grid.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, -1), (-1, -1), BOLD, 8),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]))
    return grid


def _grid(rows: list[Sequence[str | Paragraph]], widths: Sequence[float]) -> Table:
    grid = Table(rows, repeatRows=1, hAlign="LEFT", colWidths=list(widths))
    grid.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, -1), (-1, -1), BOLD, 8),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]))
    return grid


def kronor(value: int) -> str:
    """Whole kronor with a space between thousands, as Swedish prints them."""
    return f"{value:,}".replace(",", " ")


def durations_table(durations: ReportDurations) -> Table:
    """Per group: cases, median and 90th percentile days; ``:c`` for a hidden group."""
    styles = _styles()
    header = [_("Group"), _("Cases"), _("Median (days)"), _("90th percentile (days)")]
    rows: list[Sequence[str | Paragraph]] = [
        [Paragraph(_text(name), styles["head"]) for name in header]]
    for group, days in durations.groups.items():
        values = [":c"] * 3 if days.n is None else [
            str(days.n), *("\N{EN DASH}" if v is None else str(v)
                           for v in (days.median, days.p90))]
        rows.append([Paragraph(_text(durations.label(group)), styles["cell"]), *values])
    return _grid(rows, [45 * mm, 30 * mm, 30 * mm, 30 * mm])


def amounts_table(figure: ReportFigure) -> Table:
    """Per unit and in all, the sum in kronor; ``:c`` for a hidden sum."""
    styles = _styles()
    rows: list[Sequence[str | Paragraph]] = [
        [Paragraph(_text(name), styles["head"]) for name in (_("Group"), _("kronor"))]]
    for row, _columns in ordered_keys(figure.table):
        cell = figure.table.cells.get((row, TOTAL))
        shown = "\N{EN DASH}" if cell is None else ":c" if cell.value is None \
            else kronor(cell.value)
        rows.append([Paragraph(_text(figure.label(row)), styles["cell"]), shown])
    return _grid(rows, [45 * mm, 40 * mm])


def _magnitude(title: str, note: str, table: Table,
               styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    parts: list[Flowable] = [Paragraph(_text(title), styles["h2"])]
    if note:
        parts.append(Paragraph(_text(note), styles["body"]))
    return [KeepTogether([*parts, Spacer(1, 2 * mm), table, Spacer(1, 6 * mm)])]


def _figure(figure: ReportFigure, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    parts: list[Flowable] = [Paragraph(_text(figure.title), styles["h2"])]
    if figure.note:
        parts.append(Paragraph(_text(figure.note), styles["body"]))
    # A chart of many rows is shrunk to fit a page (the table beside it has every number).
    chart = KeepInFrame(CHART_WIDTH, MAX_CHART_HEIGHT, [bar_chart(figure)], mode="shrink")
    parts += [chart, Spacer(1, 3 * mm), table_of(figure), Spacer(1, 6 * mm)]
    return [KeepTogether(parts)]


def report_pdf(report: Report, *, kind_label: str) -> bytes:
    """The PDF of ``report``, in the current language."""
    release = report.release
    styles = _styles()
    title = _("KOF statistics: %(kind)s %(period)s", kind=kind_label, period=release.period)
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, title=title, author="KOF",
                                 subject=_("Lykta casework"), lang=str(get_locale() or "sv"),
                                 leftMargin=20 * mm, rightMargin=20 * mm,
                                 topMargin=18 * mm, bottomMargin=18 * mm)
    story: list[Flowable] = [
        Paragraph(_text(title), styles["title"]),
        Paragraph(_text(_("Period: %(period)s", period=release.period)), styles["body"]),
        Paragraph(_text(_("Published (UTC): %(at)s",
                          at=release.released_at.isoformat(sep=" ", timespec="minutes"))),
                  styles["body"]),
        Paragraph(_text(_("Disclosure control: no cell under %(k)s cases; each suppressed "
                          "cell cannot be narrowed to an interval narrower than %(p)s by "
                          "solving the published table.", k=release.k, p=release.protection)),
                  styles["body"]),
        Paragraph(_text(":c " + _("confidential: the cell is suppressed because it counts "
                                  "fewer than %(k)s cases, or because it would let such a "
                                  "cell be worked out from the other cells and the totals, "
                                  "or because an earlier release of the same period "
                                  "suppressed it.", k=release.k)), styles["body"]),
        Spacer(1, 6 * mm),
    ]
    if report.corrects:
        story.insert(4, Paragraph(_text(_(
            "This release corrects an earlier release of the same period (published %(at)s "
            "UTC); every cell suppressed there is suppressed here too.",
            at=report.corrects[-1].released_at.isoformat(sep=" ", timespec="minutes"))),
            styles["body"]))
    for figure in report.figures:
        story += _figure(figure, styles)
    for durations in report.durations:
        story += _magnitude(durations.title, durations.note, durations_table(durations),
                            styles)
    for amounts in report.amounts:
        story += _magnitude(amounts.title, amounts.note, amounts_table(amounts), styles)
    if report.durations or report.amounts:
        story.insert(5, Paragraph(_text(_(
            "Durations are in whole days, for groups of at least %(k)s cases; a sum of "
            "kronor is shown only where at least %(k)s cases contribute, its two largest "
            "amounts make up no more than 85 %% of it, and it cannot be worked out from "
            "the other sums and the total.", k=release.k)), styles["body"]))
    story += [
        Paragraph(_text(_("The audit log at the end of the period")), styles["h2"]),
        Paragraph(_text(_("Last entry before the period ended: %(seq)s",
                          seq=release.audit_seq)), styles["body"]),
        Paragraph(_text(_("Its hash (SHA-256):")), styles["body"]),
        Paragraph(_text(release.audit_hash or ""), styles["mono"]),
        Paragraph(_text(_(
            "Every entry of the audit log is chained to the one before it by its hash. To "
            "check later that the log was not rewritten since this report, run flask --app "
            "casework audit verify and then flask --app casework audit head on the server: "
            "the log must verify, and in an export of it (flask --app casework audit export) "
            "entry %(seq)s must still carry this hash.", seq=release.audit_seq)),
            styles["body"]),
    ]
    document.build(story)
    return out.getvalue()
