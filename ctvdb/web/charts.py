"""Geometry for the inline SVG charts: numbers only; the markup is the `bar_chart` and
`share_chart` macros in templates/_macros.html.

Charts are drawn on the server so they read without JavaScript and need no outside asset. There
is no browser here to measure text, so label widths are estimated (`text_width`) on the generous
side and every label is given at least that much room. Each chart has a wide drawing (760 units,
shown about 1:1 on a laptop) and a narrow one (360 units, for a phone), so that text drawn at
11-12 units is never shown much smaller than that.
"""

from __future__ import annotations

import math

WIDE, NARROW = 760, 360
WIDE_FONT, NARROW_FONT = 11, 12

# Advance widths in em, at or above those of the common sans-serif faces: DejaVu Sans, which
# headless Linux falls back to, has the widest (digits 0.64 em, "%" 0.95 em, "M" 0.86 em).
_NARROW_CHARS, _WIDE_CHARS = set("fijlrt.,:;'|!()[] "), set("MWmw%@")


def text_width(text: str, font: float) -> float:
    """The estimated drawn width of `text` at font size `font`, in the same units."""
    em = sum(0.4 if c in _NARROW_CHARS else 1.0 if c in _WIDE_CHARS else
             0.8 if c.isupper() else 0.66 for c in text)
    return em * font


def nice_axis(low: float, high: float) -> tuple[float, float, float]:
    """(bottom, top, step): the tightest range of 4 to 6 whole steps of 1, 2, 2.5 or 5 × 10^n
    that holds low..high and zero. A step is under half the span, so for positive data the top
    is under 1.5 × the largest value."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    best = None
    for ticks in (4, 5, 6):
        raw = (high - low) / ticks
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
        # The small allowances keep a value that is a whole number of steps (300 with a step
        # of 100, give or take float error) from getting a step more than it needs.
        bottom = math.floor(low / step + 1e-9) * step
        top = math.ceil(high / step - 1e-9) * step
        if best is None or top - bottom < best[1] - best[0]:
            best = (bottom, top, step)
    return best


def short_money(value: float) -> str:
    """$12k, $1.2M, -$350: a value label that fits over a bar."""
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:.1f}".removesuffix(".0") + "M"
    elif size >= 1e3:
        text = f"{size / 1e3:.0f}k" if size >= 9_950 else f"{size / 1e3:.1f}".removesuffix(".0") + "k"
    else:
        text = f"{size:.0f}"
    return f"{sign}${text}"


def wrap(text: str, room: float, font: float) -> list[str]:
    """`text` in lines that each fit `room` (at word breaks; a single long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", font) <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def bars(points: list[tuple[str, float]]) -> dict | None:
    """The bar chart of (label, value) points, wide (`columns`) and narrow (`bar_rows`); None
    when there is nothing to draw."""
    if not points or not any(v for _, v in points):
        return None
    return {"wide": columns(points), "narrow": bar_rows(points)}


def shares(points: list[tuple[str, float]]) -> dict | None:
    """The share chart of (label, value) points, wide and narrow (`share_rows`); None when no
    value is positive."""
    if not sum(v for _, v in points if v > 0):
        return None
    return {"wide": share_rows(points, WIDE, WIDE_FONT), "narrow": share_rows(points, NARROW, NARROW_FONT)}


def columns(points: list[tuple[str, float]], width: int = WIDE, height: int = 240,
            font: int = WIDE_FONT) -> dict:
    """Vertical bars, one per (label, value), with a zero line, gridlines and a value on each
    bar: written across when it fits the bar's slot, else up the bar."""
    values = [v for _, v in points]
    low, high, step = nice_axis(min(values), max(values))
    ticks = [low + i * step for i in range(round((high - low) / step) + 1)]
    tick_labels = [short_money(v) for v in ticks]
    values_text = [short_money(v) for v in values]
    left = math.ceil(max(text_width(t, font) for t in tick_labels)) + 10
    right, bottom = 8, font + 14
    slot = (width - left - right) / len(points)
    across = max(text_width(t, font) for t in values_text) <= slot * 0.95
    # Room above the top gridline (and below the bottom one, for negative bars) for the values.
    value_room = font + 6 if across else math.ceil(max(text_width(t, font) for t in values_text)) + 8
    top = value_room if high > 0 else 6
    under = value_room if low < 0 else 0
    plot_h = height - top - bottom - under

    def y(v: float) -> float:
        return top + plot_h * (high - v) / (high - low)

    label_every = max(1, math.ceil(max(text_width(label, font) for label, _ in points) / (slot * 0.9)))
    out = []
    for i, ((label, value), text) in enumerate(zip(points, values_text)):
        y0, y1 = sorted((y(0), y(value)))
        centre = left + (i + 0.5) * slot
        if across:
            value_y = y(value) - 4 if value >= 0 else y(value) + font + 2
        else:  # written upwards from just past the end of the bar
            value_y = y(value) - 4 if value >= 0 else y(value) + 4 + text_width(text, font)
        out.append({"x": round(left + i * slot + slot * 0.15, 1), "y": round(y0, 1),
                    "width": round(slot * 0.7, 1), "height": round(max(y1 - y0, 0.5), 1),
                    "negative": value < 0, "label": label, "value": value, "value_text": text,
                    "value_x": round(centre if across else centre + font * 0.35, 1),
                    "value_y": round(value_y, 1), "label_x": round(centre, 1),
                    "show_label": i % label_every == 0})
    grid = [{"y": round(y(v), 1), "value": v, "label": text} for v, text in zip(ticks, tick_labels)]
    return {"width": width, "height": height, "font": font, "left": left, "right": width - right,
            "top": top, "bottom": round(y(low), 1), "zero": round(y(0), 1), "slot": round(slot, 2),
            "label_y": height - 6, "label_every": label_every, "values_across": across,
            "bars": out, "grid": grid}


def rows(points: list[tuple[str, float]], texts: list[str], width: int, font: int,
         scale_to: float | None = None) -> dict:
    """Horizontal bars, one row per (label, value), the label (wrapped to at most 40 % of the
    width) on the left and `texts` (the value in words) after each bar. Bars run from a zero line
    to the value on a scale of 0..`scale_to` (default: the data's nice axis)."""
    values = [v for _, v in points]
    if scale_to is None:
        low, high, _ = nice_axis(min(values), max(values))
    else:
        low, high = 0.0, scale_to
    room = width * 0.4
    labels = [wrap(label, room, font) for label, _ in points]
    label_w = math.ceil(max(text_width(line, font) for lines in labels for line in lines)) + 8
    text_w = math.ceil(max(text_width(t, font) for t in texts)) + 6
    plot_left, plot_right = label_w, width - text_w
    line_h = round(font * 1.25, 1)

    def x(v: float) -> float:
        return plot_left + (plot_right - plot_left) * (v - low) / (high - low)

    out, y = [], 0.0
    for (label, value), lines, text in zip(points, labels, texts):
        row_h = max(font * 2, line_h * len(lines) + font * 0.8)
        x0, x1 = sorted((x(0), x(value)))
        first_line = y + row_h / 2 - line_h * (len(lines) - 1) / 2 + font * 0.35
        out.append({"y": round(y, 1), "height": round(row_h, 1), "label": label, "value": value,
                    "lines": [{"text": t, "y": round(first_line + k * line_h, 1)} for k, t in enumerate(lines)],
                    "bar_x": round(x0, 1), "bar_y": round(y + row_h / 2 - font * 0.6, 1),
                    "bar_w": round(max(x1 - x0, 1), 1), "bar_h": round(font * 1.2, 1), "negative": value < 0,
                    "text": text, "text_x": round(max(x(value), x(0)) + 4, 1),
                    "text_y": round(y + row_h / 2 + font * 0.35, 1)})
        y += row_h
    return {"width": width, "height": round(y, 1), "font": font, "label_w": label_w,
            "zero": round(x(0), 1), "plot_right": round(plot_right, 1), "rows": out}


def bar_rows(points: list[tuple[str, float]], width: int = NARROW, font: int = NARROW_FONT) -> dict:
    """The bar chart for a phone: one row per bar, so every label and value reads."""
    return rows(points, [short_money(v) for _, v in points], width, font)


def share_rows(points: list[tuple[str, float]], width: int, font: int) -> dict:
    """Horizontal bars of each (label, value) as a share of the positive total; the longest bar
    is the largest share."""
    total = sum(v for _, v in points if v > 0)
    positive = [(label, max(value, 0.0)) for label, value in points]
    texts = [f"{100 * v / total:.1f}%" for _, v in positive]
    chart = rows(positive, texts, width, font, scale_to=max(v for _, v in positive))
    for row, (_, value) in zip(chart["rows"], positive):
        row["share"] = round(100 * value / total, 1)
    return chart
