"""Server-rendered SVG charts of released tables: no JavaScript, no third-party code.

A chart is drawn from a :class:`ReleasedTable` only, so it can show nothing that the
table does not publish. A one-dimensional table (its single column is TOTAL) is a
horizontal bar chart; a two-dimensional one a grouped bar chart, one bar per column in
each row's group. A suppressed cell is drawn as a hatched, dashed outline of one fixed
width, labelled ``:c``: its width never depends on the hidden value.

Accessibility: the ``<svg>`` is ``role="img"`` named by its ``<title>`` and described by
its ``<desc>``; every series has its own pattern as well as its colour (never colour
alone) and every bar prints its value; the page follows each chart with the same figures
as a real table (``statistics/_table.html``), which is the accessible version.

Every label is escaped with :func:`markupsafe.escape`: unit names and the like come from
the database and may hold anything. Only presentation attributes are used (no ``style``),
as casework's Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from .tables import TOTAL, ReleasedCell, ReleasedTable

INK = "#0b0c0c"  # text and axes: 19.8:1 on white
# Series colours, each at least 3:1 against white (WCAG 1.4.11, graphical objects) and
# told apart by a pattern too (:data:`PATTERNS`), so that no series is known by colour only.
PALETTE = ("#1d70b8", "#00703c", "#6f3c96", "#a3360c", "#28537f", "#505a5f", "#8a4b00",
           "#0f5e5e")
# The white overlay drawn on each series' colour: none, stripes, dots, cross-hatch...
PATTERNS = ("solid", "diagonal", "dots", "horizontal", "cross", "vertical", "backward",
            "grid")
SUPPRESSED = ":c"  # how every output shows a suppressed cell

WIDTH = 640
LABEL_HEIGHT = 18  # the row's label, written above its bars (long labels are not cut)
BAR_HEIGHT = 16
BAR_GAP = 4
ROW_GAP = 14
VALUE_ROOM = 70  # right of the longest bar: its printed value
SUPPRESSED_WIDTH = 28  # every suppressed bar alike, whatever it hides
MARGIN = 8

Label = Callable[[str], str]


@dataclass(frozen=True)
class Chart:
    """A rendered chart: the SVG markup and the id its title and description carry."""

    id: str
    svg: Markup

    def __html__(self) -> str:
        return str(self.svg)


def safe_id(text: str) -> str:
    """An id usable in markup (and in ``url(#...)``): lower-case letters, digits, dashes."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return "chart-" + (cleaned or "x")


def is_two_dimensional(table: ReleasedTable) -> bool:
    return tuple(table.columns) != (TOTAL,)


def bar_chart(table: ReleasedTable, *, title: object, description: object = "",
              label: Label = str, chart_id: str | None = None) -> Markup:
    """The SVG of :func:`chart` (for templates and reports)."""
    return chart(table, title=title, description=description, label=label,
                 chart_id=chart_id).svg


def chart(table: ReleasedTable, *, title: object, description: object = "",
          label: Label = str, chart_id: str | None = None) -> Chart:
    """The chart that suits ``table``: bars for one dimension, grouped bars for two.

    ``title`` and ``description`` may be lazy strings; ``label`` names a row or column
    key (a unit id, a category code) in the reader's language."""
    ident = safe_id(chart_id or table.id)
    series = [c for c in table.columns if c != TOTAL] if is_two_dimensional(table) else [TOTAL]
    rows = [r for r in table.rows if r != TOTAL]
    values = [cell.value for r in rows for c in series
              if (cell := table.cells.get((r, c))) is not None and cell.value is not None]
    top = max([*values, 1])
    scale = (WIDTH - 2 * MARGIN - VALUE_ROOM) / top
    legend = _legend(ident, series, label) if len(series) > 1 else ([], 0)
    parts: list[str] = [*legend[0]]
    y = MARGIN + legend[1]
    for row in rows:
        parts.append(_text(MARGIN, y + LABEL_HEIGHT - 4, label(row), bold=True))
        y += LABEL_HEIGHT
        for index, column in enumerate(series):
            cell = table.cells.get((row, column), ReleasedCell(None))
            name = label(row) if column == TOTAL else f"{label(row)}, {label(column)}"
            parts.append(_bar(ident, index, MARGIN, y, cell, scale, name))
            y += BAR_HEIGHT + BAR_GAP
        y += ROW_GAP
    if not rows:
        parts.append(_text(MARGIN, y + LABEL_HEIGHT, "\N{EN DASH}"))
        y += LABEL_HEIGHT + ROW_GAP
    height = y + MARGIN
    defs = _defs(ident, len(series))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
           f'id="{ident}" aria-labelledby="{ident}-title {ident}-desc" '
           f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif" font-size="14">'
           f'<title id="{ident}-title">{escape(str(title))}</title>'
           f'<desc id="{ident}-desc">{escape(str(description) or str(title))}</desc>'
           f'{defs}<line x1="{MARGIN}" y1="{MARGIN + legend[1]}" x2="{MARGIN}" '
           f'y2="{height - MARGIN}" stroke="{INK}" stroke-width="1"/>'
           + "".join(parts) + "</svg>")
    return Chart(ident, Markup(svg))  # noqa: S704 - every interpolated label is escaped


def _text(x: float, y: float, text: str, *, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="{x:g}" y="{y:g}" fill="{INK}"{weight}>{escape(str(text))}</text>'


def _bar(ident: str, index: int, x: float, y: float, cell: ReleasedCell, scale: float,
         name: str) -> str:
    """One bar and its printed value; a suppressed cell as the fixed hatched outline."""
    if cell.value is None:
        shape = (f'<rect x="{x:g}" y="{y:g}" width="{SUPPRESSED_WIDTH}" height="{BAR_HEIGHT}" '
                 f'fill="url(#{ident}-suppressed)" stroke="{INK}" stroke-width="1.5" '
                 f'stroke-dasharray="4 2"/>')
        end = x + SUPPRESSED_WIDTH
    else:
        width = max(cell.value * scale, 1.0 if cell.value else 0.0)
        colour = PALETTE[index % len(PALETTE)]
        shape = (f'<rect x="{x:g}" y="{y:g}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                 f'fill="{colour}"/>')
        if PATTERNS[index % len(PATTERNS)] != "solid":
            shape += (f'<rect x="{x:g}" y="{y:g}" width="{width:.1f}" '
                      f'height="{BAR_HEIGHT}" fill="url(#{ident}-p{index})"/>')
        end = x + width
    value = _text(end + 6, y + BAR_HEIGHT - 3, cell.shown)
    return f"<g><title>{escape(str(name))}: {escape(cell.shown)}</title>{shape}{value}</g>"


def _legend(ident: str, series: Sequence[str], label: Label) -> tuple[list[str], int]:
    """A swatch (colour and pattern) and the name of each series, one per line."""
    parts = []
    for index, column in enumerate(series):
        y = MARGIN + index * (BAR_HEIGHT + BAR_GAP)
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{MARGIN}" y="{y}" width="24" height="{BAR_HEIGHT}" '
                     f'fill="{colour}"/>')
        if PATTERNS[index % len(PATTERNS)] != "solid":
            parts.append(f'<rect x="{MARGIN}" y="{y}" width="24" '
                         f'height="{BAR_HEIGHT}" fill="url(#{ident}-p{index})"/>')
        parts.append(_text(MARGIN + 32, y + BAR_HEIGHT - 3, label(column)))
    return parts, len(series) * (BAR_HEIGHT + BAR_GAP) + ROW_GAP


def _defs(ident: str, series: int) -> str:
    """The suppressed cells' hatch and each series' white overlay pattern."""
    shapes = {
        "diagonal": '<path d="M0,8 L8,0" stroke="#fff" stroke-width="2"/>',
        "dots": '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
        "horizontal": '<path d="M0,4 L8,4" stroke="#fff" stroke-width="2"/>',
        "cross": '<path d="M0,8 L8,0 M0,0 L8,8" stroke="#fff" stroke-width="1.5"/>',
        "vertical": '<path d="M4,0 L4,8" stroke="#fff" stroke-width="2"/>',
        "backward": '<path d="M0,0 L8,8" stroke="#fff" stroke-width="2"/>',
        "grid": '<path d="M0,4 L8,4 M4,0 L4,8" stroke="#fff" stroke-width="1.5"/>',
    }
    out = [f'<pattern id="{ident}-suppressed" width="6" height="6" '
           f'patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/>'
           f'<path d="M0,6 L6,0" stroke="{INK}" stroke-width="1"/></pattern>']
    for index in range(series):
        kind = PATTERNS[index % len(PATTERNS)]
        if kind != "solid":
            out.append(f'<pattern id="{ident}-p{index}" width="8" height="8" '
                       f'patternUnits="userSpaceOnUse">{shapes[kind]}</pattern>')
    return "<defs>" + "".join(out) + "</defs>"


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb`` (used by the tests of the palette)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
