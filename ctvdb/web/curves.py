"""Geometry for the booking curve (the pace page): lines of (days from the month's start,
booked as a % of last year's final) points, this year's month against last year's. Numbers
only, as in charts.py; the markup is the `curve_chart` macro of templates/booking_pace.html.
"""

from __future__ import annotations

import math

from ctvdb.web.charts import NARROW, NARROW_FONT, WIDE, WIDE_FONT, nice_axis, text_width

TICK_DAYS = 30


def booking_curve(curve: dict) -> dict | None:
    """Wide and narrow drawings of the pace query's `curve`; None when neither line has a point."""
    if not curve["this"] and not curve["last"]:
        return None
    return {"wide": lines(curve, WIDE, 260, WIDE_FONT), "narrow": lines(curve, NARROW, 220, NARROW_FONT)}


def lines(curve: dict, width: int, height: int, font: int) -> dict:
    """Two polylines on a shared frame: days run from `from_days` before the start (left) to the
    month's end (right); the y axis is a nice 0..top % that holds 100 % and every point."""
    first, last = -curve["from_days"], curve["days"] - 1
    values = [v for name in ("this", "last") for _, v in curve[name]]
    _, top, step = nice_axis(0.0, max(values + [100.0]))
    labels = [f"{round(i * step)}%" for i in range(round(top / step) + 1)]
    left = math.ceil(max(text_width(t, font) for t in labels)) + 8
    right, upper, lower = math.ceil(text_width("100%", font)) + 8, font, 2 * font + 10
    plot_w, plot_h = width - left - right, height - upper - lower

    def x(day: float) -> float:
        return round(left + plot_w * (day - first) / (last - first), 1)

    def y(value: float) -> float:
        return round(upper + plot_h * (1 - value / top), 1)

    ticks = [{"x": x(d), "label": "start" if d == 0 else str(-d)}
             for d in range(0, first - 1, -TICK_DAYS * (2 if width < WIDE else 1)) if d >= first][::-1]
    drawn = []
    for name in ("this", "last"):
        points = [(d, v) for d, v in sorted(curve[name]) if first <= d <= last]
        if points:
            end = points[-1]
            drawn.append({"name": name, "points": " ".join(f"{x(d)},{y(v)}" for d, v in points),
                          "dots": [{"x": x(d), "y": y(v), "day": d, "value": v} for d, v in points]
                          if len(points) < 2 else [],
                          "end_x": x(end[0]), "end_y": y(end[1]), "end_value": end[1]})
    return {"width": width, "height": height, "font": font, "left": left, "right": width - right,
            "top": upper, "bottom": y(0), "start_x": x(0), "end_label_y": height - 4,
            "axis_label_x": round(left + plot_w / 2, 1), "tick_y": y(0) + font + 4,
            "grid": [{"y": y(i * step), "label": text} for i, text in enumerate(labels)],
            "hundred": y(100.0), "ticks": ticks, "lines": drawn}
