"""The report pages in a real browser (headless Chromium over DevTools, tests/browser.py): on a
phone nothing scrolls sideways and the menu folds away; on a laptop a long table keeps its
headings in view; printed, the figures are on paper; chart text is readable everywhere.

One browser and one uvicorn server for the module, on a sample database with sectors and
budgets loaded. With CTVDB_SCREENSHOTS=DIR every page is saved there as a PNG at both widths,
and the printout as a PDF, for a person to look at.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from browser import CHROMIUM, Tab, chromium, free_port, start_uvicorn, wait_for_port
from ctvdb import db
from ctvdb.auth_web import SESSION_COOKIE
from ctvdb.web import charts, queries, reference

PHONE, LAPTOP = (390, 844), (1440, 900)
SHOTS = Path(os.environ["CTVDB_SCREENSHOTS"]) if os.environ.get("CTVDB_SCREENSHOTS") else None
SECTORS = ["AUTO", "CPG", "FIN", "GOV", "HEALTH", "RETAIL"]


def ae_key(row) -> str:
    return " ".join(str(row["sales_person"] or "").split()).upper() or "UNKNOWN"


def bill_code(row) -> str:
    return " ".join(str(row["bill_code"]).split())


@pytest.fixture(scope="module")
def site(imported_sample, workbook_rows, session_token, tmp_path_factory):
    """(port, rows, {role: cookie}) of uvicorn serving a copy of the sample with sectors and budgets."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sample = imported_sample(rows=6000, months="Jan-25..Dec-26")  # tables taller than 3,000 px
    folder = tmp_path_factory.mktemp("browser")
    database = folder / "ctvdb.db"
    for source, target in ((sample.database, database), (db.auth_path(sample.database), db.auth_path(database))):
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
    rows = workbook_rows(sample.workbook)
    conn = db.connect(database)
    codes = [code for _, code in queries.customer_bill_codes(conn)]
    with open(folder / "sectors.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("customer", "sector")] + [(c, SECTORS[i % len(SECTORS)])
                                                                for i, c in enumerate(codes)])
    aes = sorted({ae_key(r) for r in rows})
    with open(folder / "budgets.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("ae", "month", "amount")] + [(ae, f"2026-{m:02d}", 20_000 + 1_000 * m)
                                                                  for ae in aes for m in range(1, 13)])
    reference.load_sectors(conn, folder / "sectors.csv")
    reference.load_budgets(conn, folder / "budgets.csv")
    conn.close()
    busiest_ae = max(aes, key=lambda ae: sum(1 for r in rows if ae_key(r) == ae))
    cookies = {"management": session_token(database, role="management"),
               "ae": session_token(database, role="ae", ae=busiest_ae)}
    port = free_port()
    process = start_uvicorn(database, port)
    try:
        wait_for_port(port, process)
        yield port, rows, cookies
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium") / "profile") as devtools:
        yield devtools


@pytest.fixture
def tab(site, tools):
    """tab(role) -> a new tab signed in as that role, closed after the test."""
    port, _, cookies = site
    opened = []

    def make(role: str) -> Tab:
        opened.append(Tab(tools, port, (SESSION_COOKIE, cookies[role])))
        return opened[-1]

    yield make
    for t in opened:
        t.close()


# What the browser measures: the page's width, the menu, and every chart text as drawn.
MEASURE = """(() => {
  const shown = el => el.checkVisibility();
  const texts = [...document.querySelectorAll("figure.chart svg text, figure.chart svg tspan")]
    .filter(el => shown(el) && !el.querySelector("tspan"))
    .map(el => {
      const svg = el.ownerSVGElement, font = parseFloat(getComputedStyle(el).fontSize);
      return {text: el.textContent, font, drawn: font * svg.getScreenCTM().a, length: el.getComputedTextLength()};
    });
  const links = [...document.querySelectorAll("header.site nav a")];
  return {scrollWidth: document.scrollingElement.scrollWidth, texts,
          menuButton: shown(document.querySelector("details.menu > summary")),
          linksShown: links.filter(shown).length, links: links.map(a => a.getAttribute("href"))};
})()"""


def slug(path: str) -> str:
    """/reports/ae-dashboard?ae=X -> ae-dashboard: the screenshot's name."""
    path = path.split("?")[0].rstrip("/")
    return path.replace("/reports/customer/", "customer-") if "/customer/" in path else path.rsplit("/", 1)[-1]


def check_charts(measured: dict, where: str) -> None:
    for t in measured["texts"]:
        assert t["drawn"] >= 10, (where, t)                       # readable as drawn
        assert t["length"] <= charts.text_width(t["text"], t["font"]), (where, t)   # the room given was enough


@pytest.mark.parametrize("role", ["management", "ae"])
def test_every_page_fits_a_phone_and_its_menu_folds_away(site, tab, role):
    page = tab(role)
    page.size(*LAPTOP)
    page.open("/reports/")
    menu = page.js(MEASURE)["links"]
    assert len(menu) >= (6 if role == "ae" else 8)
    paths = ["/reports/"] + menu
    if role == "management":   # a customer's page, from the customer revenue table's first link
        page.open("/reports/revenue-dashboard-customer?year=2026")
        paths.append(page.js('document.querySelector("#customers tbody a[href^=\'/reports/customer/\']")'
                             '.getAttribute("href")'))
        paths.append("/reports/customer/999999")   # the error page, in the same layout
    charts_seen = 0
    for path in paths:
        page.size(*LAPTOP)
        page.open(path)
        wide = page.js(MEASURE)
        assert not wide["menuButton"] and wide["linksShown"] == len(menu), path   # the menu is open
        check_charts(wide, f"{path} at 1440")
        if SHOTS:
            page.screenshot(SHOTS / f"{slug(path)}-{role}-1440.png")
        page.size(*PHONE, mobile=True)
        page.open(path)
        phone = page.js(MEASURE)
        assert phone["scrollWidth"] <= PHONE[0], (path, phone["scrollWidth"])
        assert phone["menuButton"] and phone["linksShown"] == 0, path             # folded behind "Menu"
        check_charts(phone, f"{path} at 390")
        charts_seen += len(phone["texts"])
        if SHOTS:
            page.screenshot(SHOTS / f"{slug(path)}-{role}-390.png")
    assert charts_seen > 20      # the charts were measured, not missed
    page.js('document.querySelector("details.menu > summary").click()')
    opened = page.js(MEASURE)
    assert opened["linksShown"] == len(menu) and opened["scrollWidth"] <= PHONE[0]


def test_a_long_table_keeps_its_month_headings_in_view(tab):
    page = tab("management")
    page.size(*LAPTOP)
    page.open("/reports/revenue-dashboard-customer?year=2026")
    # The window scrolls the table's box into view, the box scrolls the rest of the 3,000 px.
    moved = page.js("""(() => {
      const box = document.querySelector("#customers .scroll");
      const top = box.getBoundingClientRect().top + window.scrollY;
      window.scrollTo(0, top);
      box.scrollTop = 3000 - window.scrollY;
      return window.scrollY + box.scrollTop;
    })()""")
    assert moved >= 3000
    headings = """[...document.querySelectorAll("#customers thead th")].map(th => {
      const r = th.getBoundingClientRect();
      return {text: th.innerText.trim(), top: r.top, bottom: r.bottom, left: r.left, right: r.right};
    })"""
    months = [h for h in page.js(headings) if re.fullmatch(r"[A-Z][a-z]{2}-26", h["text"])]
    assert [h["text"] for h in months] == [f"{m}-26" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                                                "Aug", "Sep", "Oct", "Nov", "Dec")]
    for h in months:
        assert 0 <= h["top"] and h["bottom"] <= LAPTOP[1], h
    on_screen = [h for h in months if 0 <= h["left"] and h["right"] <= LAPTOP[0]]
    assert len(on_screen) >= 3
    # Wider than the laptop's window: the box scrolls sideways too, and the last months come into view
    # beside the customer names, the headings still at the top.
    page.js('document.querySelector("#customers .scroll").scrollLeft = 10000')
    after = page.js(headings)
    december, customer = after[[h["text"] for h in after].index("Dec-26")], after[0]
    assert 0 <= december["top"] and december["right"] <= LAPTOP[0], december
    assert customer["text"].startswith("Customer") and customer["left"] >= 0 and customer["right"] < december["left"]
    # The first column is over an opaque background, so figures scrolled under it do not show through.
    backgrounds = page.js('[...document.querySelectorAll("#customers .first")].slice(0, 4)'
                          '.map(c => getComputedStyle(c).backgroundColor)')
    assert backgrounds and all(b not in ("transparent", "rgba(0, 0, 0, 0)") for b in backgrounds)


def test_on_a_phone_the_names_stay_while_the_figures_scroll_sideways(tab):
    page = tab("management")
    page.size(*PHONE, mobile=True)
    page.open("/reports/revenue-dashboard-customer?year=2026")
    found = page.js("""(() => {
      const box = document.querySelector("#customers .scroll");
      const name = box.querySelector("tbody .first");
      box.scrollLeft = box.scrollWidth;
      const r = name.getBoundingClientRect(), b = box.getBoundingClientRect();
      return {scrolled: box.scrollLeft, left: r.left, right: r.right, boxLeft: b.left, boxRight: b.right,
              pageWidth: document.scrollingElement.scrollWidth};
    })()""")
    assert found["scrolled"] > 0                                  # the figures are wider than the phone
    assert found["boxLeft"] <= found["left"] < found["right"] <= found["boxRight"]
    assert found["pageWidth"] <= PHONE[0]


def test_minor_columns_are_dropped_on_a_phone_only(tab):
    page = tab("management")
    count = """[...document.querySelectorAll("#language_groups th.minor, #language_groups td.minor")]
               .reduce((n, c) => [n[0] + 1, n[1] + (c.checkVisibility() ? 1 : 0)], [0, 0])"""
    page.size(*LAPTOP)
    page.open("/reports/market-analysis?year=2026")
    minor, shown = page.js(count)
    assert minor > 10 and shown == minor
    page.size(*PHONE, mobile=True)
    page.open("/reports/market-analysis?year=2026")
    assert page.js(count) == [minor, 0]
    assert page.js('document.querySelector("#language_groups thead th.first").checkVisibility()')


def test_the_printed_customer_revenue_has_every_figure_and_says_what_it_is(site, tab, tmp_path):
    _, rows, _ = site
    totals = defaultdict(float)
    for r in rows:
        if r["broadcast_month"].year == 2026 and str(r["revenue_type"]).strip() != "Trade":
            totals[bill_code(r), ae_key(r)] += float(r["gross_rate"] or 0)
    page = tab("management")
    page.size(*LAPTOP)
    page.open("/reports/revenue-dashboard-customer?year=2026")
    pdf = tmp_path / "customer-revenue.pdf"
    pdf.write_bytes(page.pdf())
    if SHOTS:
        shutil.copy(pdf, SHOTS / "revenue-dashboard-customer-management-print.pdf")
    assert shutil.which("pdftotext"), "pdftotext is missing: apt-get install poppler-utils (.ci/run does)"
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 2
    # The header row repeats on every printed page.
    assert all("Total 2026" in p and "Jan-26" in p and "Dec-26" in p for p in pages)
    missing = [key for key, total in totals.items() if round(total, 2) and f"{total:,.2f}" not in text]
    assert missing == [], f"{len(missing)} of {len(totals)} customer totals are not on paper"
    top = max(totals.values())
    assert f"{top:,.2f}" in text
    head = text[:600]
    assert "Customer revenue" in head and re.search(r"Year\W+2026", head) and re.search(r"Measure\W+Gross", head)
    assert "Data last updated:" in head
    assert "Apply" not in text and "Sign out" not in text and "CSV" not in text
