"""The chart geometry: an axis that fits the data, and room for every label at the size it is
drawn (estimated by charts.text_width; tests/test_web_browser.py holds the estimate to what a
browser draws)."""

from __future__ import annotations

import random

import pytest

from ctvdb.web import charts


def months(values):
    labels = [f"{m}-26" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                  "Nov", "Dec")] * 3
    return list(zip(labels, values))


ORDINARY = [
    [12_000.0, 15_500.0, 9_800.0, 22_100.0, 18_000.0, 0.0, 7_250.0, 30_400.0, 11_000.0, 14_000.0, 16_500.0, 19_900.0],
    [101.0, 55.0, 12.0],
    [1_234_567.0, 987_654.0, 1_100_000.0],
    [0.3, 0.1, 0.25],
    [250.0] * 24,
    [random.Random(seed).uniform(1, 10 ** random.Random(seed).randint(1, 7)) for seed in range(12)],
]


@pytest.mark.parametrize("values", ORDINARY)
def test_the_axis_top_holds_the_largest_value_without_absurd_headroom(values):
    bottom, top, step = charts.nice_axis(min(values), max(values))
    assert bottom == 0
    assert max(values) <= top < 1.5 * max(values)
    steps = (top - bottom) / step
    assert abs(steps - round(steps)) < 1e-9 and 2 <= round(steps) <= 6
    chart = charts.columns(months(values))
    assert chart["grid"][-1]["value"] == pytest.approx(top)
    assert chart["grid"][0]["value"] == 0


def test_a_negative_month_puts_zero_inside_the_axis_and_its_bar_below_the_zero_line():
    values = [40_000.0, -3_500.0, 250_000.0]
    bottom, top, _ = charts.nice_axis(min(values), max(values))
    assert bottom <= -3_500 < 0 and 250_000 <= top < 375_000
    assert bottom > -100_000  # the negative side is a step, not a quarter of the chart
    chart = charts.columns(months(values))
    negative = chart["bars"][1]
    assert negative["negative"] and negative["y"] == chart["zero"]
    assert chart["top"] <= chart["zero"] <= chart["bottom"]


def test_value_labels_are_short():
    assert [charts.short_money(v) for v in (12_000, 12_499.0, 1_500, 999, 0, -3_500, 2_000_000, 1_340_000)] == \
        ["$12k", "$12k", "$1.5k", "$999", "$0", "-$3.5k", "$2M", "$1.3M"]


def fits_columns(chart, points):
    font = chart["font"]
    for g in chart["grid"]:                    # the axis labels, right-aligned 6 left of the plot
        assert charts.text_width(g["label"], font) <= chart["left"] - 6
    for b in chart["bars"]:
        width = charts.text_width(b["value_text"], font)
        if chart["values_across"]:
            assert width <= chart["slot"]
            assert b["value_y"] - font >= 0 and b["value_y"] <= chart["label_y"] - font
        else:                                  # written upwards: its length runs up from value_y
            assert font <= chart["slot"]
            assert b["value_y"] - width >= 0
        if b["show_label"]:
            assert charts.text_width(b["label"], font) <= chart["slot"] * chart["label_every"]
            assert b["label_x"] - charts.text_width(b["label"], font) / 2 >= chart["left"] - chart["slot"] / 2
    assert [b["label"] for b in chart["bars"]] == [label for label, _ in points]


@pytest.mark.parametrize("count", [3, 12, 24])
def test_every_bar_label_and_value_fits_its_space(count):
    points = months([(i * 7919 % 13 + 1) * 10_000.0 for i in range(count)])
    chart = charts.columns(points)
    fits_columns(chart, points)
    shown = [b for b in chart["bars"] if b["show_label"]]
    assert len(shown) >= count / 2        # thinned only as far as they need
    big = months([123_456.0 * (i + 1) for i in range(count)])
    fits_columns(charts.columns(big), big)


def fits_rows(chart, points, texts):
    font, width = chart["font"], chart["width"]
    for row, (label, _), text in zip(chart["rows"], points, texts):
        assert " ".join(line["text"] for line in row["lines"]) == label   # wrapped, never cut
        for line in row["lines"]:
            assert charts.text_width(line["text"], font) <= chart["label_w"] - 8
        assert row["bar_x"] >= chart["label_w"] and row["bar_x"] + row["bar_w"] <= width
        assert row["text"] == text
        assert row["text_x"] >= chart["label_w"] and row["text_x"] + charts.text_width(text, font) <= width
        assert row["lines"][0]["y"] - font >= row["y"] - 0.5
        assert row["lines"][-1]["y"] <= row["y"] + row["height"]
    assert chart["height"] == pytest.approx(sum(r["height"] for r in chart["rows"]), abs=0.2)


SECTORS = [("Consumer Packaged Goods", 420_000.0), ("Automotive", 300_000.0), ("Government", 150_000.0),
           ("Quick Service Restaurants and Food Delivery", 90_000.0), ("Unassigned", 40_000.0), ("Legal", 0.0)]


def test_the_share_chart_shows_whole_labels_and_shares_of_the_total():
    total = sum(v for _, v in SECTORS)
    texts = [f"{100 * v / total:.1f}%" for _, v in SECTORS]
    chart = charts.shares(SECTORS)
    for drawing in (chart["wide"], chart["narrow"]):
        fits_rows(drawing, SECTORS, texts)
        assert [r["share"] for r in drawing["rows"]] == [round(100 * v / total, 1) for _, v in SECTORS]
        longest = max(drawing["rows"], key=lambda r: r["bar_w"])
        assert longest["label"] == "Consumer Packaged Goods"
    wide, narrow = chart["wide"], chart["narrow"]
    assert [line["text"] for line in wide["rows"][0]["lines"]] == ["Consumer Packaged Goods"]
    assert len(narrow["rows"][3]["lines"]) >= 2        # the long name wraps on a phone
    assert wide["label_w"] < 0.4 * wide["width"] + 8


def test_the_phone_bar_chart_is_one_row_per_bar_with_its_value():
    points = months([12_000.0, -3_500.0, 250_000.0, 0.0])
    chart = charts.bars(points)["narrow"]
    fits_rows(chart, points, ["$12k", "-$3.5k", "$250k", "$0"])
    negative = chart["rows"][1]
    assert negative["negative"] and negative["bar_x"] + negative["bar_w"] == pytest.approx(chart["zero"], abs=0.1)
    assert chart["rows"][0]["bar_x"] == chart["zero"]


def test_nothing_to_draw_is_no_chart():
    assert charts.bars([]) is None and charts.bars(months([0.0, 0.0])) is None
    assert charts.shares([("A", 0.0), ("B", -5.0)]) is None
