"""Charts drawn on the server as SVG text: bar, stacked bar, line and horizontal bar. No script, no network, no
chart library: a page shows them offline, and a reader without sight gets each chart's title and summary (`<title>`
and `<desc>`, named by `aria-labelledby`) while the page prints its numbers in a table beside it.

Every piece of text is XML-escaped. Colours keep at least 3:1 contrast with the white ground (WCAG 1.4.11), and the
text at least 4.5:1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

# Blue, orange, green, red, purple, teal, grey: each at least 4.5:1 against white.
PALETTE = ("#2f6db5", "#b35900", "#2e7d32", "#a4262c", "#6a3d9a", "#00796b", "#5f6b7a")
INK, MUTED, GRID = "#1b1f24", "#4a5563", "#dde2e8"
WIDTH = 640
FONT = 13
_CHAR = 0.6 * FONT  # an average glyph's width, to lay out labels without font metrics
NO_DATA = "No data in this period"


def text(value: object) -> str:
    """Text for an SVG element or attribute, XML-escaped (quotes too)."""
    return escape(str(value), {'"': "&quot;", "'": "&apos;"})


def count_label(value: float) -> str:
    """A count or hour figure as a short label."""
    return f"{value:g}" if value != int(value) else str(int(value))


def percent_label(value: float) -> str:
    """A share (0 to 1) as a percentage label."""
    return f"{round(100 * value, 1):g}%"


@dataclass(frozen=True)
class _Frame:
    """The plot area of a vertical chart and its value scale."""

    height: int
    left: int = 66
    right: int = 16
    top: int = 40
    bottom: int = 52
    maximum: float = 1.0

    @property
    def plot_width(self) -> float:
        return WIDTH - self.left - self.right

    @property
    def base(self) -> float:
        return self.height - self.bottom

    def y(self, value: float) -> float:
        return self.base - (self.height - self.top - self.bottom) * value / self.maximum


def ticks(maximum: float, *, percent: bool = False) -> list[float]:
    """Gridline values from 0 to a round top at or above `maximum` (whole steps for counts)."""
    if percent:
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)
    return [i * step for i in range(math.ceil(maximum / step - 1e-9) + 1)]


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    ident = text(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart" '
        f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="{FONT}" fill="{INK}">',
        f'<title id="{ident}-title">{text(title)}</title>',
        f'<desc id="{ident}-desc">{text(description)}</desc>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]


def _axes(frame: _Frame, grid: list[float], *, percent: bool, x_label: str, y_label: str) -> list[str]:
    """Gridlines with their values, the baseline, and both axis titles."""
    parts = []
    for value in grid:
        y = frame.y(value)
        label = percent_label(value) if percent else count_label(value)
        parts.append(
            f'<line x1="{frame.left}" x2="{WIDTH - frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{text(label)}</text>'
        )
    parts.append(
        f'<line x1="{frame.left}" x2="{WIDTH - frame.right}" y1="{frame.base}" y2="{frame.base}" stroke="{INK}"/>'
    )
    middle = frame.left + frame.plot_width / 2
    parts.append(f'<text x="{middle:.1f}" y="{frame.height - 8}" text-anchor="middle">{text(x_label)}</text>')
    centre = (frame.top + frame.base) / 2
    parts.append(
        f'<text transform="translate(14 {centre:.1f}) rotate(-90)" text-anchor="middle">{text(y_label)}</text>'
    )
    return parts


def _x_labels(frame: _Frame, labels: Sequence[str]) -> list[str]:
    """Category labels under the plot, thinned so that they never overlap."""
    if not labels:
        return []
    slot = frame.plot_width / len(labels)
    widest = max(len(label) for label in labels) * _CHAR + 10
    every = max(1, math.ceil(widest / slot))
    return [
        f'<text x="{frame.left + slot * (i + 0.5):.1f}" y="{frame.base + 16}" text-anchor="middle">{text(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _legend(names: Sequence[str], colours: Sequence[str], *, y: int = 18) -> list[str]:
    """A row of swatches and names along the top."""
    parts, x = [], 66.0
    for name, colour in zip(names, colours, strict=True):
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 17:.1f}" y="{y}">{text(name)}</text>'
        )
        x += 17 + len(name) * _CHAR + 18
    return parts


def _empty(frame: _Frame) -> str:
    middle = frame.left + frame.plot_width / 2
    return (
        f'<text x="{middle:.1f}" y="{(frame.top + frame.base) / 2:.1f}" text-anchor="middle" fill="{MUTED}">'
        f"{NO_DATA}</text>"
    )


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    x_label: str,
    y_label: str,
    colours: Sequence[str] = PALETTE,
    height: int = 280,
) -> str:
    """Vertical bars per label, each stacked from its series (bottom first), with a legend when there are several."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    grid = ticks(max(totals, default=0))
    frame = _Frame(height, maximum=grid[-1])
    parts = _open(chart_id, title, description, height)
    parts += _axes(frame, grid, percent=False, x_label=x_label, y_label=y_label)
    if len(series) > 1:
        parts += _legend(list(series), colours[: len(series)])
    slot = frame.plot_width / max(len(labels), 1)
    bar = max(slot * 0.7, 1.0)
    for i, label in enumerate(labels):
        x, bottom = frame.left + slot * i + (slot - bar) / 2, 0.0
        for (name, values), colour in zip(series.items(), colours, strict=False):
            if values[i] <= 0:
                continue
            y_top, y_bottom = frame.y(bottom + values[i]), frame.y(bottom)
            parts.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar:.1f}" height="{y_bottom - y_top:.1f}" '
                f'fill="{colour}" stroke="#ffffff" stroke-width="0.5">'
                f"<title>{text(f'{label}, {name}: {count_label(values[i])}')}</title></rect>"
            )
            bottom += values[i]
        if len(labels) <= 16 and totals[i] > 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{frame.y(totals[i]) - 4:.1f}" text-anchor="middle">'
                f"{count_label(totals[i])}</text>"
            )
    parts += _x_labels(frame, labels)
    if not any(totals):
        parts.append(_empty(frame))
    return "".join(parts) + "</svg>"


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float],
    x_label: str,
    y_label: str,
    colour: str = PALETTE[0],
) -> str:
    """Vertical bars, one per label."""
    return stacked_bar_chart(
        chart_id=chart_id,
        title=title,
        description=description,
        labels=labels,
        series={y_label: values},
        x_label=x_label,
        y_label=y_label,
        colours=(colour,),
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    x_label: str,
    y_label: str,
    percent: bool = False,
    height: int = 280,
) -> str:
    """Lines through each series' points; a missing value (None) breaks the line, and every point is marked."""
    known = [v for values in series.values() for v in values if v is not None]
    grid = ticks(max(known, default=0), percent=percent)
    frame = _Frame(height, maximum=grid[-1])
    parts = _open(chart_id, title, description, height)
    parts += _axes(frame, grid, percent=percent, x_label=x_label, y_label=y_label)
    if len(series) > 1:
        parts += _legend(list(series), PALETTE[: len(series)])
    slot = frame.plot_width / max(len(labels), 1)
    radius = 3.5 if len(labels) <= 31 else 2.0  # a season of days: smaller marks, so the line stays readable
    for (name, values), colour in zip(series.items(), PALETTE, strict=False):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x, y = frame.left + slot * (i + 0.5), frame.y(value)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            shown = percent_label(value) if percent else count_label(value)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}">'
                f"<title>{text(f'{labels[i]}, {name}: {shown}')}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2.5" '
                    'stroke-linejoin="round"/>'
                )
    parts += _x_labels(frame, labels)
    if not known:
        parts.append(_empty(frame))
    return "".join(parts) + "</svg>"


def horizontal_bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float],
    x_label: str,
    percent: bool = False,
    value_labels: Sequence[str] | None = None,
    colours: Sequence[str] = (PALETTE[0],),
) -> str:
    """One horizontal bar per label, its value written at its end; long labels are shortened (the bar's own title
    keeps them whole)."""
    shown = list(value_labels) if value_labels is not None else [count_label(v) for v in values]
    longest = max((len(label) for label in labels), default=0)
    label_chars = min(longest, 32)
    left = int(16 + label_chars * _CHAR)
    right = int(16 + max((len(s) for s in shown), default=1) * _CHAR)
    row = 30
    height = 36 + max(len(labels), 1) * row + 44
    top = 24
    grid = ticks(max(values, default=0), percent=percent)
    span = WIDTH - left - right
    parts = _open(chart_id, title, description, height)
    bottom = top + max(len(labels), 1) * row
    for value in grid:
        x = left + span * value / grid[-1]
        label = percent_label(value) if percent else count_label(value)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{GRID}"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{MUTED}">{text(label)}</text>'
        )
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="{INK}"/>')
    parts.append(f'<text x="{left + span / 2:.1f}" y="{height - 8}" text-anchor="middle">{text(x_label)}</text>')
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        short = label if len(label) <= label_chars else label[: label_chars - 1] + "…"
        length = span * value / grid[-1]
        colour = colours[i % len(colours)]
        parts.append(
            f"<g><title>{text(f'{label}: {shown[i]}')}</title>"
            f'<text x="{left - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end">{text(short)}</text>'
            f'<rect x="{left}" y="{y + 5}" width="{length:.1f}" height="{row - 10}" fill="{colour}"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + row / 2 + 4:.1f}">{text(shown[i])}</text></g>'
        )
    if not labels or not any(values):
        parts.append(
            f'<text x="{left + span / 2:.1f}" y="{top + 19}" text-anchor="middle" fill="{MUTED}">{NO_DATA}</text>'
        )
    return "".join(parts) + "</svg>"
