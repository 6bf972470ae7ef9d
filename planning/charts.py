"""The reorder dashboard's three charts, drawn on the server as inline SVG.

- backordered units at the end of each day (a line),
- open backorders by age (bars),
- promised against measured lead time per supplier (grouped horizontal bars).

The SVG is inlined into the page, so every colour, dash and font comes from classes styled in
static/css/reorder.css: no `style` attributes, nothing a strict Content-Security-Policy would block.
None of them depends on colour to be read: bars are told apart by fill patterns (solid, hatched,
cross-hatched, dotted), lines by dash style, and every bar and the last point of every line carries
its value as text. Each chart has a <title> and a <desc> summing it up in words for screen readers.

All text that comes from data is escaped here; the functions return safe strings for templates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720


@dataclass(frozen=True)
class AgingBucket:
    label: str
    lines: int
    units: int


def nice_ceiling(value: float, ticks: int = 4) -> tuple[int, int]:
    """A round top for an axis that holds `value`, and the whole-number step between its grid
    lines (units and days are never split on an axis)."""
    value = max(float(value), 1.0)
    raw = value / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            step = factor * magnitude
            break
    step = max(1, round(step))
    return step * math.ceil(value / step), step


def _number(value: float) -> str:
    """Axis and label numbers: whole numbers without decimals, others with one."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _open(chart_id: str, height: int, title: str, description: str, extra_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rchart {extra_class}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<rect class="rc-bg" width="{WIDTH}" height="{height}"/>',
    ]


def _patterns(chart_id: str) -> str:
    """Fill patterns for bars: hatched (///), cross-hatched (xx) and dotted.

    A pattern's id must be unique in the page, so it carries the chart's id; reorder.css points
    the bar classes at them (`fill: url(#…)`)."""
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" class="rc-pattern" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect class="rc-pattern-bg" width="6" height="6"/>'
        '<line class="rc-pattern-ink" x1="0" y1="0" x2="0" y2="6"/></pattern>'
        f'<pattern id="{chart_id}-cross" class="rc-pattern" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect class="rc-pattern-bg" width="6" height="6"/>'
        '<line class="rc-pattern-ink" x1="0" y1="0" x2="0" y2="6"/>'
        '<line class="rc-pattern-ink" x1="0" y1="0" x2="6" y2="0"/></pattern>'
        f'<pattern id="{chart_id}-dots" class="rc-pattern" width="5" height="5" '
        'patternUnits="userSpaceOnUse">'
        '<rect class="rc-pattern-bg" width="5" height="5"/>'
        '<circle class="rc-pattern-dot" cx="2.5" cy="2.5" r="1.2"/></pattern>'
        "</defs>"
    )


def _empty(chart_id: str, title: str, message: str) -> SafeString:
    out = _open(chart_id, 60, title, message, "rchart-empty")
    out.append(f'<text class="rc-note" x="12" y="34">{escape(message)}</text></svg>')
    return mark_safe("".join(out))  # every piece of text above is escaped


# --- backordered units over time -----------------------------------------------------------


def backorders_line_svg(
    series: Sequence[tuple[dt.date, int]], *, chart_id: str = "chart-backorders"
) -> SafeString:
    """A line of units backordered at the end of each day, with the latest and the peak value
    written on the chart."""
    days = len(series)
    title = f"Backordered units, last {days} days" if days else "Backordered units"
    if not series:
        return _empty(chart_id, title, "No backorder history to show.")
    values = [units for _, units in series]
    peak = max(values)
    peak_index = values.index(peak)
    first_day, last_day = series[0][0], series[-1][0]
    description = (
        f"From {first_day:%d %b %Y} to {last_day:%d %b %Y}: now {values[-1]:,} units "
        f"backordered; highest {peak:,} on {series[peak_index][0]:%d %b}; lowest {min(values):,}."
    )
    height = 250
    left, right, top, bottom = 56, 96, 22, 36
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    axis_top, step = nice_ceiling(peak)

    def x_of(index: int) -> float:
        return left + (plot_w * index / (days - 1) if days > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / axis_top

    out = _open(chart_id, height, title, description, "rchart-line")
    out.append('<g class="rc-axis rc-axis-y">')
    tick = 0.0
    while tick <= axis_top + 1e-9:
        y = y_of(tick)
        out.append(
            f'<line class="rc-grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="rc-tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(tick)}</text>"
        )
        tick += step
    out.append("</g>")

    # Dates: every 15th day counted back from today, which is always labelled.
    out.append('<g class="rc-axis rc-axis-x">')
    baseline = top + plot_h
    out.append(
        f'<line class="rc-baseline" x1="{left}" y1="{baseline}" x2="{left + plot_w}" y2="{baseline}"/>'
    )
    every = max(1, round(days / 6))
    for index in range(days - 1, -1, -every):
        x = x_of(index)
        day = series[index][0]
        out.append(
            f'<line class="rc-tickmark" x1="{x:.1f}" y1="{baseline}" x2="{x:.1f}" y2="{baseline + 4}"/>'
        )
        out.append(
            f'<text class="rc-tick" x="{x:.1f}" y="{baseline + 17}" text-anchor="middle">'
            f"{day.day} {day:%b}</text>"
        )
    out.append("</g>")

    points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
    area = f"{x_of(0):.1f},{baseline} {points} {x_of(days - 1):.1f},{baseline}"
    out.append(f'<polygon class="rc-area" points="{area}"/>')
    out.append(f'<polyline class="rc-line" points="{points}"/>')

    # The latest value at the right end; the peak where it happened (unless it is the latest).
    last_x, last_y = x_of(days - 1), y_of(values[-1])
    out.append(f'<circle class="rc-point" cx="{last_x:.1f}" cy="{last_y:.1f}" r="3.5"/>')
    out.append(
        f'<text class="rc-value" x="{last_x + 8:.1f}" y="{last_y + 4:.1f}">'
        f"Now {values[-1]:,}</text>"
    )
    if peak > 0 and peak_index != days - 1:
        peak_x, peak_y = x_of(peak_index), y_of(peak)
        anchor = "end" if peak_x > left + plot_w * 0.75 else "middle"
        out.append(
            f'<circle class="rc-point rc-point-peak" cx="{peak_x:.1f}" cy="{peak_y:.1f}" r="3.5"/>'
        )
        out.append(
            f'<text class="rc-value" x="{peak_x:.1f}" y="{max(peak_y - 8, 12):.1f}" '
            f'text-anchor="{anchor}">Peak {peak:,} on {series[peak_index][0]:%d %b}</text>'
        )
    if peak == 0:
        out.append(
            f'<text class="rc-note" x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
            'text-anchor="middle">No units were backordered in this period.</text>'
        )
    out.append(
        f'<text class="rc-axis-label" x="{left}" y="13">Units backordered (end of day)</text>'
    )
    out.append("</svg>")
    return mark_safe("".join(out))  # every piece of text above is escaped


# --- backorder aging -----------------------------------------------------------------------

# Older buckets get denser fills, so the bars read in order without colour.
_BUCKET_FILLS = ("rc-fill-solid", "rc-fill-hatch", "rc-fill-cross", "rc-fill-dots")


def aging_bars_svg(buckets: Sequence[AgingBucket], *, chart_id: str = "chart-aging") -> SafeString:
    """Bars of backordered units per age bucket, each labelled with its units and lines."""
    title = "Open backorders by age"
    if not buckets:
        return _empty(chart_id, title, "No backorder aging to show.")
    total_units = sum(bucket.units for bucket in buckets)
    description = "; ".join(
        f"{bucket.label}: {bucket.units:,} units on {bucket.lines:,} lines" for bucket in buckets
    )
    height = 262
    left, right, top, bottom = 56, 16, 42, 50
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    axis_top, step = nice_ceiling(max(bucket.units for bucket in buckets))
    slot = plot_w / len(buckets)
    bar_w = min(110.0, slot * 0.6)

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / axis_top

    out = _open(chart_id, height, title, f"{title}. {description}.", "rchart-bars")
    out.append(_patterns(chart_id))
    out.append('<g class="rc-axis rc-axis-y">')
    tick = 0.0
    while tick <= axis_top + 1e-9:
        y = y_of(tick)
        out.append(
            f'<line class="rc-grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="rc-tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(tick)}</text>"
        )
        tick += step
    out.append("</g>")
    baseline = top + plot_h
    for index, bucket in enumerate(buckets):
        centre = left + slot * (index + 0.5)
        y = y_of(bucket.units)
        fill = _BUCKET_FILLS[min(index, len(_BUCKET_FILLS) - 1)]
        if bucket.units:
            out.append(
                f'<rect class="rc-bar {fill}" x="{centre - bar_w / 2:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{baseline - y:.1f}">'
                f"<title>{escape(bucket.label)}: {bucket.units:,} units, "
                f"{bucket.lines:,} lines</title></rect>"
            )
        out.append(
            f'<text class="rc-value" x="{centre:.1f}" y="{y - 6:.1f}" text-anchor="middle">'
            f"{bucket.units:,} units</text>"
        )
        out.append(
            f'<text class="rc-tick rc-bucket" x="{centre:.1f}" y="{baseline + 17}" '
            f'text-anchor="middle">{escape(bucket.label)}</text>'
        )
        out.append(
            f'<text class="rc-tick rc-sub" x="{centre:.1f}" y="{baseline + 32}" '
            f'text-anchor="middle">{bucket.lines:,} line{"s" if bucket.lines != 1 else ""}</text>'
        )
    out.append(
        f'<line class="rc-baseline" x1="{left}" y1="{baseline}" x2="{left + plot_w}" y2="{baseline}"/>'
    )
    out.append(
        f'<text class="rc-axis-label" x="{left}" y="14">Units waiting, by days since the order '
        f"was placed ({total_units:,} in all)</text>"
    )
    out.append("</svg>")
    return mark_safe("".join(out))  # every piece of text above is escaped


# --- lead time: promised vs measured -------------------------------------------------------


def _shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lead_time_bars_svg(
    rows: Sequence[tuple[str, float | None, float | None]], *, chart_id: str = "chart-lead-times"
) -> SafeString:
    """Per supplier, a solid bar for the promised lead time (mean of its supply terms) and a
    hatched one for the measured (purchase order sent → first delivery), each with its value."""
    title = "Lead time per supplier: promised and measured"
    if not rows:
        return _empty(chart_id, title, "No suppliers with supply terms yet.")
    parts = []
    for name, promised, measured in rows:
        promised_text = f"promised {promised:.1f} days" if promised is not None else "no terms"
        measured_text = (
            f"measured {measured:.1f} days" if measured is not None else "nothing measured yet"
        )
        parts.append(f"{name}: {promised_text}, {measured_text}")
    description = "; ".join(parts) + "."
    left, right, top = 170, 120, 44
    row_h, bar_h = 38, 12
    height = top + row_h * len(rows) + 26
    plot_w = WIDTH - left - right
    longest = max(
        [value for _, promised, measured in rows for value in (promised, measured) if value] or [1]
    )
    axis_top, step = nice_ceiling(longest)

    def x_of(value: float) -> float:
        return left + plot_w * value / axis_top

    out = _open(chart_id, height, title, description, "rchart-grouped")
    out.append(_patterns(chart_id))
    # Legend: the two fills with their meaning in words.
    out.append(
        '<g class="rc-legend">'
        f'<rect class="rc-bar rc-fill-solid" x="{left}" y="8" width="22" height="{bar_h}"/>'
        f'<text x="{left + 28}" y="18">Promised (mean of supply terms)</text>'
        f'<rect class="rc-bar rc-fill-hatch" x="{left + 250}" y="8" width="22" height="{bar_h}"/>'
        f'<text x="{left + 278}" y="18">Measured (PO sent → first delivery)</text>'
        "</g>"
    )
    bottom = top + row_h * len(rows)
    out.append('<g class="rc-axis rc-axis-x">')
    tick = 0.0
    while tick <= axis_top + 1e-9:
        x = x_of(tick)
        last = tick + step > axis_top + 1e-9
        out.append(
            f'<line class="rc-grid" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}"/>'
        )
        out.append(
            f'<text class="rc-tick" x="{x:.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"{_number(tick)}{' days' if last else ''}</text>"
        )
        tick += step
    out.append("</g>")
    for index, (name, promised, measured) in enumerate(rows):
        y0 = top + row_h * index + 4
        out.append(
            f'<text class="rc-label" x="{left - 8}" y="{y0 + bar_h + 4}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(_shorten(name))}</text>"
        )
        for offset, value, fill, word in (
            (0, promised, "rc-fill-solid", "promised"),
            (bar_h + 2, measured, "rc-fill-hatch", "measured"),
        ):
            y = y0 + offset
            if value is None:
                text = "no terms" if word == "promised" else "no deliveries measured"
                out.append(
                    f'<text class="rc-note" x="{left + 4}" y="{y + bar_h - 2}">{text}</text>'
                )
                continue
            width = max(x_of(value) - left, 1.0)
            out.append(
                f'<rect class="rc-bar {fill}" x="{left}" y="{y}" width="{width:.1f}" '
                f'height="{bar_h}"><title>{escape(name)}: {word} {value:.1f} days</title></rect>'
            )
            out.append(
                f'<text class="rc-value" x="{left + width + 5:.1f}" y="{y + bar_h - 2}">'
                f"{value:.1f} d {word}</text>"
            )
    out.append(f'<line class="rc-baseline" x1="{left}" y1="{top - 4}" x2="{left}" y2="{bottom}"/>')
    out.append("</svg>")
    return mark_safe("".join(out))  # every piece of text above is escaped
