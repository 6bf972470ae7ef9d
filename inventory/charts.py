"""Stock-over-time chart, drawn on the server as SVG.

The SVG is served as an image (`inventory:product-chart`), so it cannot rely on the page's
stylesheet: it carries SVG presentation attributes (not `style=` attributes, which a strict CSP
blocks) and the `.chart .series` / `.chart .safety` classes of static/css/backstock.css for when the
same markup is inlined. Lines are told apart without colour: the safety stock line is dashed and
both lines are labelled in text at their ends and in the legend.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from django.utils import timezone

from .models import SafetyStockChange, StockLevel

Series = list[tuple[dt.date, int]]

WIDTH, HEIGHT = 760, 270
LEFT, RIGHT, TOP, BOTTOM = 60, 130, 38, 42
SERIES_COLOUR = "#0d6efd"
SAFETY_COLOUR = "#b02a37"
AXIS_COLOUR = "#888888"
TEXT_COLOUR = "#333333"


def safety_stock_over_time(
    *, level: StockLevel, days: int = 90, end: dt.date | None = None
) -> Series:
    """Safety stock at the end of each day of the window, rebuilt from the recorded changes."""
    end = end or timezone.localdate()
    start = end - dt.timedelta(days=days - 1)
    tz = timezone.get_current_timezone()
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    changes = list(
        SafetyStockChange.objects.filter(level=level, changed_at__gte=start_at)
        .order_by("changed_at", "id")
        .values_list("changed_at", "old_value", "new_value")
    )
    # Before the first change in the window the level had that change's old value.
    value = changes[0][1] if changes else level.safety_stock
    closing = {timezone.localtime(at, tz).date(): new for at, _, new in changes}
    series = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        value = closing.get(day, value)
        series.append((day, value))
    return series


def series_sum(all_series: Sequence[Series]) -> Series:
    """Add up day-aligned series (the levels of one product across warehouses)."""
    if not all_series:
        return []
    days = [day for day, _ in all_series[0]]
    totals = [sum(values) for values in zip(*([v for _, v in s] for s in all_series), strict=True)]
    return list(zip(days, totals, strict=True))


def _nice_step(span: float, ticks: int = 4) -> int:
    raw = max(span / ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def _step_path(points: list[tuple[float, float]]) -> str:
    """A stepped line: a balance holds until the day it changes."""
    x0, y0 = points[0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for x, y in points[1:]:
        parts.append(f"H{x:.1f}V{y:.1f}")
    return "".join(parts)


def stock_chart_svg(*, on_hand: Series, safety: Series, title: str) -> str:
    """An SVG line chart of on-hand stock with the safety stock as a dashed line."""
    title_text = escape(title)
    if not on_hand:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
            f'viewBox="0 0 {WIDTH} 60" width="{WIDTH}" height="60"><title>{title_text}</title>'
            f'<text x="10" y="30" fill="{TEXT_COLOUR}" font-family="system-ui, sans-serif" '
            f'font-size="13">No stock history.</text></svg>'
        )
    values = [v for _, v in on_hand] + [v for _, v in safety]
    step = _nice_step(max(max(values), 1))
    top_value = step * max(1, math.ceil(max(max(values), 1) / step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(on_hand)

    def x_of(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y_of(value: int) -> float:
        return TOP + plot_h - plot_h * value / top_value

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f'aria-labelledby="chart-title chart-desc" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" font-family="system-ui, -apple-system, sans-serif" '
        f'font-size="12">',
        f'<title id="chart-title">{title_text}</title>',
        f'<desc id="chart-desc">{escape(_description(on_hand, safety))}</desc>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]

    # Quantity axis with grid lines.
    out.append(f'<g class="axis axis-y" stroke="{AXIS_COLOUR}">')
    for tick in range(0, top_value + 1, step):
        y = y_of(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            f'stroke-opacity="0.3"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" stroke="none" '
            f'fill="{TEXT_COLOUR}">{tick:,}</text>'
        )
    out.append("</g>")

    # Date axis: a tick every fortnight back from the last day, which is always labelled.
    out.append(f'<g class="axis axis-x" stroke="{AXIS_COLOUR}">')
    out.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}"/>')
    every = max(1, round(count / 6))
    for index in range(count - 1, -1, -every):
        x = x_of(index)
        day = on_hand[index][0]
        out.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 5}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" stroke="none" '
            f'fill="{TEXT_COLOUR}">{day.day} {day:%b}</text>'
        )
    out.append("</g>")

    # The lines, then their labels at the right end, nudged apart when they would overlap.
    on_points = [(x_of(i), y_of(v)) for i, (_, v) in enumerate(on_hand)]
    safety_points = [(x_of(i), y_of(v)) for i, (_, v) in enumerate(safety)]
    if safety_points:
        out.append(
            f'<path class="safety" d="{_step_path(safety_points)}" fill="none" '
            f'stroke="{SAFETY_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    out.append(
        f'<path class="series" d="{_step_path(on_points)}" fill="none" '
        f'stroke="{SERIES_COLOUR}" stroke-width="2"/>'
    )
    on_label_y = on_points[-1][1] + 4
    labels = [(on_label_y, f"On hand {on_hand[-1][1]:,}", SERIES_COLOUR)]
    if safety_points:
        safety_label_y = safety_points[-1][1] + 4
        if abs(safety_label_y - on_label_y) < 14:
            # The label of the higher line goes up, the other one down.
            if safety[-1][1] > on_hand[-1][1]:
                safety_label_y, on_label_y = on_label_y - 8, on_label_y + 8
            else:
                safety_label_y, on_label_y = on_label_y + 8, on_label_y - 8
            labels = [(on_label_y, labels[0][1], SERIES_COLOUR)]
        labels.append((safety_label_y, f"Safety stock {safety[-1][1]:,}", SAFETY_COLOUR))
    label_x = LEFT + plot_w + 8
    for y, text, colour in labels:
        out.append(
            f'<text class="line-label" x="{label_x}" y="{y:.1f}" fill="{colour}" '
            f'font-weight="600">{escape(text)}</text>'
        )

    # Legend above the plot.
    legend_y = 16
    out.append(
        f'<g class="legend"><line class="series" x1="{LEFT}" y1="{legend_y - 4}" '
        f'x2="{LEFT + 28}" y2="{legend_y - 4}" stroke="{SERIES_COLOUR}" stroke-width="2"/>'
        f'<text x="{LEFT + 34}" y="{legend_y}" fill="{TEXT_COLOUR}">On hand (end of day)</text>'
    )
    if safety_points:
        out.append(
            f'<line class="safety" x1="{LEFT + 170}" y1="{legend_y - 4}" x2="{LEFT + 198}" '
            f'y2="{legend_y - 4}" stroke="{SAFETY_COLOUR}" stroke-width="1.5" '
            f'stroke-dasharray="6 4"/>'
            f'<text x="{LEFT + 204}" y="{legend_y}" fill="{TEXT_COLOUR}">Safety stock (dashed)</text>'
        )
    out.append("</g></svg>")
    return "".join(out)


def _description(on_hand: Series, safety: Series) -> str:
    first_day, last_day = on_hand[0][0], on_hand[-1][0]
    values = [v for _, v in on_hand]
    text = (
        f"On hand from {first_day:%d %b %Y} to {last_day:%d %b %Y}: lowest {min(values):,}, "
        f"highest {max(values):,}, now {values[-1]:,}."
    )
    if safety:
        text += f" Safety stock now {safety[-1][1]:,}."
    return text
