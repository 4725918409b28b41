"""Geometry for the inline SVG charts: numbers only; the markup is in templates/_charts.html.

Charts are drawn on the server so they read without JavaScript and need no outside asset.
"""

from __future__ import annotations

import math


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _short(value: float) -> str:
    size = abs(value)
    if size >= 1e6:
        return f"${value / 1e6:.1f}M".replace(".0M", "M")
    if size >= 1e3:
        return f"${value / 1e3:.0f}k"
    return f"${value:.0f}"


def bars(points: list[tuple[str, float]], width: int = 760, height: int = 240) -> dict | None:
    """Vertical bars, one per (label, value), with a zero line and a few gridlines."""
    if not points or not any(v for _, v in points):
        return None
    left, right, top, bottom = 56, 8, 10, 34
    values = [v for _, v in points]
    low, high = min(0.0, min(values)), max(0.0, max(values))
    step = _nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + plot_h * (high - v) / (high - low)

    slot = plot_w / len(points)
    label_every = max(1, math.ceil(len(points) / 12))
    out = []
    for i, (label, value) in enumerate(points):
        y0, y1 = sorted((y(0), y(value)))
        out.append({"x": round(left + i * slot + slot * 0.15, 1), "y": round(y0, 1),
                    "width": round(slot * 0.7, 1), "height": round(max(y1 - y0, 0.5), 1),
                    "negative": value < 0, "label": label, "value": value,
                    "label_x": round(left + (i + 0.5) * slot, 1),
                    "show_label": i % label_every == 0})
    grid = []
    v = low
    while v <= high + step / 2:
        grid.append({"y": round(y(v), 1), "label": _short(v)})
        v += step
    return {"width": width, "height": height, "left": left, "right": width - right,
            "zero": round(y(0), 1), "label_y": height - bottom + 16, "bars": out, "grid": grid}


def shares(points: list[tuple[str, float]], width: int = 760) -> dict | None:
    """Horizontal bars of each (label, value) as a share of the positive total."""
    total = sum(v for _, v in points if v > 0)
    if not total:
        return None
    label_w, row_h, plot_w = 130, 24, width - 130 - 70
    top = max(v for _, v in points)
    rows = []
    for i, (label, value) in enumerate(points):
        share = max(value, 0) / total
        rows.append({"y": i * row_h, "label": label, "value": value, "share": round(100 * share, 1),
                     "width": round(max(plot_w * max(value, 0) / top, 1), 1),
                     "text_x": round(label_w + plot_w * max(value, 0) / top + 6, 1)})
    return {"width": width, "height": len(rows) * row_h, "label_w": label_w, "row_h": row_h,
            "rows": rows}
