"""The stylesheet's colours: every text colour on every background it sits on is at least 4.5:1
(WCAG 2 AA), computed here from the hex values in style.css."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parent.parent / "ctvdb" / "web" / "static" / "style.css").read_text()
COMMENTS = re.compile(r"/\*.*?\*/", re.S)
KEYWORDS = {"inherit", "transparent", "currentcolor", "none"}


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def custom_properties() -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", COMMENTS.sub("", CSS), re.S).group(1)
    return {name: value.lower() for name, value in re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{6})\s*;", root)}


def declared_pairs() -> list[tuple[str, str]]:
    """The `contrast: --fg ... on --bg ...` lines of the stylesheet's comments, as pairs."""
    pairs = []
    for fgs, bgs in re.findall(r"contrast:\s*([-\w ]+?)\s+on\s+([-\w ]+)", "\n".join(COMMENTS.findall(CSS))):
        pairs += [(fg, bg) for fg in fgs.split() for bg in bgs.split()]
    return pairs


def rules() -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every rule outside :root, at any depth of @media/@supports."""
    body = COMMENTS.sub("", CSS)
    found = []
    for selector, block in re.findall(r"([^{}]+)\{([^{}]*)\}", body):
        selector = selector.strip()
        if selector == ":root" or selector.startswith("@page"):
            continue
        declarations = dict((k.strip().lower(), v.strip()) for k, v in
                            (d.split(":", 1) for d in block.split(";") if ":" in d))
        found.append((selector, declarations))
    return found


def var_name(value: str) -> str | None:
    match = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
    return match.group(1) if match else None


def test_the_contrast_formula_gives_the_known_figures():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#2f7bbf", "#ffffff") == pytest.approx(4.46, abs=0.005)   # the old link blue
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.005)


def test_every_declared_text_and_background_pair_is_at_least_4_5_to_1():
    colours, pairs = custom_properties(), declared_pairs()
    assert len(pairs) >= 30
    failing = [(fg, bg, round(contrast(colours[fg], colours[bg]), 2)) for fg, bg in pairs
               if contrast(colours[fg], colours[bg]) < 4.5]
    assert failing == []


def test_the_pairs_cover_every_background_text_sits_on():
    backgrounds = {bg for _, bg in declared_pairs()}
    assert {"--bg", "--stripe", "--hover", "--brand", "--current", "--pace-behind", "--pace-near",
            "--pace-ahead", "--warn-bg", "--ok-bg", "--bad-bg", "--accent"} <= backgrounds
    foregrounds = {fg for fg, _ in declared_pairs()}
    assert {"--ink", "--muted", "--accent", "--neg", "--on-brand"} <= foregrounds


def test_every_colour_outside_root_is_a_custom_property():
    outside = re.sub(r":root\s*\{.*?\}", "", COMMENTS.sub("", CSS), flags=re.S)
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", outside) == []
    colours = custom_properties()
    for selector, declarations in rules():
        for prop in ("color", "background", "background-color", "fill", "stroke"):
            if prop in declarations and declarations[prop].lower() not in KEYWORDS:
                name = var_name(declarations[prop])
                assert name in colours, (selector, prop, declarations[prop])


def test_every_text_colour_and_background_in_a_rule_is_in_a_declared_pair():
    """A colour used for text must be checked against each background declared anywhere; a rule
    that sets both must set a pair that is declared."""
    pairs = set(declared_pairs())
    foregrounds, backgrounds = {fg for fg, _ in pairs}, {bg for _, bg in pairs}
    for selector, declarations in rules():
        text = var_name(declarations.get("color", ""))
        if "fill" in declarations and re.search(r"\.(axis|value)\b", selector):   # SVG text
            text = var_name(declarations["fill"])
        background = var_name(declarations.get("background", declarations.get("background-color", "")))
        if text:
            assert text in foregrounds, (selector, text)
        if background:
            assert background in backgrounds, (selector, background)
        if text and background:
            assert (text, background) in pairs, (selector, text, background)
