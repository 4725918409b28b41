"""Account signals (DOMAIN.md §8, ctvdb/signals.py): each rule on a small hand-made history at its
boundary values, just in and just out; agencies as the sums of their customers; the AE a signal
belongs to; and the import's step that keeps each signal's run.

Histories are spots inserted here and summarised with summaries.refresh_all. Today is Wednesday
18 November 2026: the current broadcast month is Nov-26, so the last 12 months are Nov-25..Oct-26,
the prior 12 Nov-24..Oct-25, booked ahead is Dec-26 on, the last 3 months Aug..Oct-26 and the next
3 Dec-26..Feb-27. Every expected figure is a sum of the amounts a test wrote.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ctvdb import db, importer, signals, summaries
from xlsx_rows import Row, write

TODAY = dt.date(2026, 11, 18)
PRIOR = [202411, 202412] + [202500 + m for m in range(1, 11)]           # Nov-24..Oct-25
TRAILING = [202511, 202512] + [202600 + m for m in range(1, 11)]        # Nov-25..Oct-26


class Book:
    """A database with customers and spots written by the test."""

    def __init__(self, path):
        db.init(path)
        self.conn = db.connect(path)
        self.conn.execute("INSERT INTO import_batches (id, mode, source_file, status, started_at)"
                          " VALUES (1, 'manual', 'test', 'COMPLETED', '2026-11-18T12:00:00Z')")
        self.rows = 0

    def agency(self, name: str) -> int:
        return self.conn.execute("INSERT INTO agencies (name, name_key) VALUES (?, ?)", (name, name.lower())).lastrowid

    def customer(self, name: str, agency: int | None = None) -> int:
        return self.conn.execute("INSERT INTO customers (name, identity_key, agency_id) VALUES (?, ?, ?)",
                                 (name, name.lower(), agency)).lastrowid

    def spot(self, customer: int, month: int, gross: float, air: dt.date | None = None, ae: str = "ALICE NGUYEN"):
        air = air or dt.date(month // 100, month % 100, 12)
        self.rows += 1
        self.conn.execute(
            "INSERT INTO spots (batch_id, sheet, row_number, customer_id, agency_id, bill_code, air_date, gross_rate,"
            " station_net, broadcast_month, month_label, ae, revenue_type, market_code) SELECT 1, 'Commercials', ?,"
            " id, agency_id, name, ?, ?, ?, ?, 'x', ?, 'Internal Ad Sales', 'SEA' FROM customers WHERE id = ?",
            (self.rows, air.isoformat(), gross, gross * 0.85, month, ae, customer))

    def spread(self, customer: int, months, total: float, **kw):
        """`total` over `months` in equal parts, the last part taking the cents left over."""
        part = round(total / len(months), 2)
        for i, month in enumerate(months):
            self.spot(customer, month, part if i < len(months) - 1 else round(total - part * (len(months) - 1), 2), **kw)

    def signals(self, today: dt.date = TODAY) -> dict[tuple[str, int], dict[str, signals.Signal]]:
        summaries.refresh_all(self.conn)
        found: dict[tuple[str, int], dict[str, signals.Signal]] = {}
        for s in signals.compute(self.conn, today):
            found.setdefault((s.object_type, s.object_id), {})[s.signal] = s
        return found

    def of(self, customer: int, today: dt.date = TODAY) -> set[str]:
        return set(self.signals(today).get(("customer", customer), {}))


@pytest.fixture
def book(tmp_path):
    b = Book(tmp_path / "ctvdb.db")
    yield b
    b.conn.close()


def test_the_windows_of_today():
    w = signals.Windows.of(TODAY)
    assert (w.month, w.trailing, w.prior) == (202611, (TRAILING[0], TRAILING[-1]), (PRIOR[0], PRIOR[-1]))
    assert (w.last_3, w.next_3) == ((202608, 202610), (202612, 202702))
    # Monday 30 November 2026 is in the December broadcast month (its week ends on 6 December)
    assert signals.Windows.of(dt.date(2026, 11, 30)).month == 202612


def test_churned_from_exactly_10000_prior_and_nothing_since(book):
    exact, short, booked_ahead = book.customer("Exact"), book.customer("Short"), book.customer("Booked ahead")
    book.spread(exact, PRIOR, 10_000.00)          # 833.33 x 11 + 833.37: floats that sum to 9,999.999…
    book.spread(short, PRIOR, 9_999.99)
    book.spread(booked_ahead, PRIOR, 20_000.00)
    book.spot(booked_ahead, 202701, 100.0)
    found = book.signals()
    assert set(found[("customer", exact)]) == {"churned"}     # churned, so not also gone quiet
    f = found[("customer", exact)]["churned"].figures
    assert (f.prior, f.trailing, f.ahead, f.lifetime) == (10_000.00, 0.0, 0.0, 10_000.00)
    assert ("customer", short) not in found
    assert "churned" not in found.get(("customer", booked_ahead), {})


def test_churned_accounts_are_not_also_gone_quiet(book):
    steady = book.customer("Steady")
    for month in PRIOR:                           # 12 of the last 24 months, last spot a year ago
        book.spot(steady, month, 1_000.0)
    assert book.of(steady) == {"churned"}
    book.spot(steady, 202601, 500.0)              # one spot since: no longer churned, now gone quiet
    assert "gone_quiet" in book.of(steady) and "churned" not in book.of(steady)


def test_declining_below_70_percent_of_prior(book):
    at_70, under_70 = book.customer("At 70"), book.customer("Under 70")
    for customer, trailing in ((at_70, 7_000.00), (under_70, 6_999.99)):
        book.spread(customer, PRIOR, 10_000.00)
        book.spread(customer, TRAILING, trailing)
    assert "declining" not in book.of(at_70)
    assert "declining" in book.of(under_70)
    f = book.signals()[("customer", under_70)]["declining"].figures
    assert (f.prior, f.trailing) == (10_000.00, 6_999.99)


def test_declining_only_while_booked_ahead_is_under_half_the_gap(book):
    half, under_half = book.customer("Half"), book.customer("Under half")
    for customer, ahead in ((half, 2_000.00), (under_half, 1_999.99)):
        book.spread(customer, PRIOR, 10_000.00)
        book.spread(customer, TRAILING, 6_000.00)        # the gap is 4,000.00
        book.spread(customer, [202612, 202701], ahead)
    assert "declining" not in book.of(half)
    assert "declining" in book.of(under_half)


def test_declining_needs_a_prior_of_10000_and_some_trailing(book):
    small, nothing = book.customer("Small"), book.customer("Nothing since")
    book.spread(small, PRIOR, 9_999.99)
    book.spread(small, TRAILING, 100.0)
    book.spread(nothing, PRIOR, 10_000.0)
    assert "declining" not in book.of(small)
    assert book.of(nothing) == {"churned"}


def _steady(book, name: str, months: list[int], last_air: dt.date, gross: float = 1_000.0) -> int:
    """A customer booked in `months`, its last spot aired on `last_air` (in the last of them)."""
    customer = book.customer(name)
    for month in months[:-1]:
        book.spot(customer, month, gross)
    book.spot(customer, months[-1], gross, air=last_air)
    return customer


def test_gone_quiet_after_90_days_when_booked_in_20_of_the_last_24_months(book):
    months = [202501 + i for i in range(10)] + [202601 + i for i in range(8)] + [202411, 202412]   # 20 months
    months.sort()
    assert len(months) == 20 and months[-1] == 202608
    day_90, day_91 = TODAY - dt.timedelta(days=90), TODAY - dt.timedelta(days=91)
    at_90 = _steady(book, "Ninety", months, day_90)
    at_91 = _steady(book, "Ninety-one", months, day_91)
    found = book.signals()
    assert "gone_quiet" not in found.get(("customer", at_90), {})
    f = found[("customer", at_91)]["gone_quiet"].figures
    assert (f.days_quiet, f.last_spot, f.months_booked, f.quiet_after) == (91, day_91.isoformat(), 20, 90)
    assert f.lifetime == 20 * 1_000.0


def test_gone_quiet_needs_120_days_with_19_months_and_never_under_6(book):
    months = sorted([202411, 202412] + [202501 + i for i in range(10)] + [202601 + i for i in range(7)])   # 19
    assert len(months) == 19 and months[-1] == 202607
    at_120 = _steady(book, "At 120", months, TODAY - dt.timedelta(days=120))
    at_121 = _steady(book, "At 121", months, TODAY - dt.timedelta(days=121))
    five = _steady(book, "Five months", [202601, 202602, 202603, 202604, 202605], dt.date(2026, 5, 12), gross=4_000.0)
    assert "gone_quiet" not in book.of(at_120)
    assert "gone_quiet" in book.of(at_121)
    assert "gone_quiet" not in book.of(five)        # $20,000 and 190 days quiet, but booked in only 5 months


def test_gone_quiet_counts_from_the_last_spot_aired_by_today_and_not_when_booked_ahead(book):
    months = sorted([202411, 202412] + [202501 + i for i in range(10)] + [202601 + i for i in range(8)])
    later_this_month = _steady(book, "Later this month", months, TODAY - dt.timedelta(days=91))
    book.spot(later_this_month, 202611, 300.0, air=TODAY + dt.timedelta(days=3))   # not aired yet, not ahead
    ahead = _steady(book, "Booked ahead", months, TODAY - dt.timedelta(days=200))
    book.spot(ahead, 202612, 300.0)
    found = book.signals()
    assert found[("customer", later_this_month)]["gone_quiet"].figures.days_quiet == 91
    assert "gone_quiet" not in found.get(("customer", ahead), {})


def test_gone_quiet_needs_10000_in_all_months(book):
    months = sorted([202411, 202412] + [202501 + i for i in range(10)] + [202601 + i for i in range(8)])
    small = _steady(book, "Small", months, TODAY - dt.timedelta(days=91), gross=499.99)   # 9,999.80 in all
    assert "gone_quiet" not in book.of(small)


def test_new_account_from_a_first_spot_exactly_12_months_ago_and_5000(book):
    year_ago = dt.date(2025, 11, 18)
    exact = book.customer("Exactly a year")
    book.spot(exact, 202511, 5_000.00, air=year_ago)
    day_more = book.customer("A year and a day")
    book.spot(day_more, 202511, 5_000.00, air=year_ago - dt.timedelta(days=1))
    small = book.customer("Small")
    book.spot(small, 202511, 4_999.99, air=year_ago)
    only_ahead = book.customer("Only booked ahead")
    book.spot(only_ahead, 202701, 2_500.0)
    book.spot(only_ahead, 202702, 2_500.0)
    found = book.signals()
    assert found[("customer", exact)]["new_account"].figures.first_spot == "2025-11-18"
    assert "new_account" not in found.get(("customer", day_more), {})
    assert "new_account" not in found.get(("customer", small), {})
    assert "new_account" in found[("customer", only_ahead)]   # booked, not yet aired: new all the same


def test_growing_over_130_percent_of_prior_with_10000(book):
    at_130, over_130 = book.customer("At 130"), book.customer("Over 130")
    for customer, trailing in ((at_130, 13_000.00), (over_130, 13_000.01)):
        book.spread(customer, PRIOR, 10_000.00)
        book.spread(customer, TRAILING, trailing)
    fresh, short = book.customer("No prior"), book.customer("Under 10000")
    book.spread(fresh, TRAILING, 10_000.00)
    book.spread(short, TRAILING, 9_999.99)
    found = book.signals()
    assert "growing" not in found.get(("customer", at_130), {})
    assert found[("customer", over_130)]["growing"].figures.trailing == 13_000.01
    assert "growing" in found[("customer", fresh)]
    assert "growing" not in found.get(("customer", short), {})


def test_renewal_gap_under_25_percent_of_the_last_3_months(book):
    at_25, under_25, none_recent = book.customer("At 25"), book.customer("Under 25"), book.customer("Nothing recent")
    for customer, booked in ((at_25, 250.00), (under_25, 249.99)):
        book.spread(customer, [202608, 202609, 202610], 1_000.00)
        book.spread(customer, [202612, 202701, 202702], booked)
    book.spot(under_25, 202703, 5_000.0)            # after the next 3 months: not counted
    book.spot(none_recent, 202607, 1_000.0)
    found = book.signals()
    assert "renewal_gap" not in found.get(("customer", at_25), {})
    f = found[("customer", under_25)]["renewal_gap"].figures
    assert (f.last_3, f.next_3) == (1_000.00, 249.99)
    assert "renewal_gap" not in found.get(("customer", none_recent), {})


def test_an_agency_s_figures_are_the_sums_of_its_customers(book):
    agency = book.agency("Admerasia")
    first, second = book.customer("McDonald's", agency), book.customer("State Farm", agency)
    direct = book.customer("Direct Co")
    book.spread(first, PRIOR, 6_000.00, ae="ALICE NGUYEN")
    book.spread(second, PRIOR, 6_500.00, ae="BRANDON WU")
    book.spread(direct, PRIOR, 9_000.00)
    found = book.signals()
    assert ("customer", first) not in found and ("customer", second) not in found   # each under $10,000
    churned = found[("agency", agency)]["churned"]
    assert churned.figures.prior == 12_500.00
    assert churned.ae == "BRANDON WU"            # nothing in the last 12 months: the most gross in all
    assert [key for key in found if key[0] == "agency"] == [("agency", agency)]


def test_a_merged_agency_s_customers_count_for_the_agency_it_was_merged_into(book):
    survivor, merged = book.agency("IW Group"), book.agency("IW Grp")
    book.conn.execute("UPDATE agencies SET merged_into = ? WHERE id = ?", (survivor, merged))
    first, second = book.customer("A", survivor), book.customer("B", merged)
    book.spread(first, PRIOR, 5_000.00)
    book.spread(second, PRIOR, 5_000.00)
    found = book.signals()
    assert found[("agency", survivor)]["churned"].figures.prior == 10_000.00
    assert ("agency", merged) not in found


def test_the_ae_has_the_most_gross_in_the_last_12_months(book):
    customer = book.customer("Two AEs")
    book.spread(customer, PRIOR, 50_000.00, ae="ALICE NGUYEN")
    book.spread(customer, TRAILING[:6], 8_000.00, ae="ALICE NGUYEN")
    book.spread(customer, TRAILING[6:], 9_000.00, ae="BRANDON WU")
    declining = book.signals()[("customer", customer)]["declining"]
    assert declining.ae == "BRANDON WU"
    assert (declining.figures.prior, declining.figures.trailing) == (50_000.00, 17_000.00)


def test_the_import_keeps_each_signal_s_run_and_starts_a_new_one_when_it_comes_back(tmp_path):
    """Through real imports of tiny workbooks: the run a signal began in is kept by later imports,
    and a signal that went away and came back begins a new run."""
    path = tmp_path / "ctvdb.db"
    prior = [Row(bill_code="Pho Hoa", month=dt.date(m // 100, m % 100, 1), air_date=dt.date(m // 100, m % 100, 12),
                 gross=1_000.0, line=i) for i, m in enumerate(PRIOR)]

    def run(rows, today):
        write(tmp_path / "log.xlsx", {"Commercials": rows})
        return importer.import_workbook(path, tmp_path / "log.xlsx", mode="manual", auto_setup=True, today=today)

    def churned():
        conn = db.connect(path)
        try:
            row = conn.execute("SELECT since_batch, since, computed_on, figures_json FROM account_signals"
                               " WHERE signal = 'churned'").fetchone()
            return row and (row[0], row[1], row[2], json.loads(row[3])["prior"])
        finally:
            conn.close()

    first = run(prior, TODAY)
    assert churned() == (first.batch_id, "2026-11-18", "2026-11-18", 12_000.0)
    run(prior, TODAY + dt.timedelta(days=1))
    assert churned() == (first.batch_id, "2026-11-18", "2026-11-19", 12_000.0)
    # a booking in December: no longer churned; cut to nothing the next day: churned again, a new run
    december = Row(bill_code="Pho Hoa", month=dt.date(2026, 12, 1), air_date=dt.date(2026, 12, 8), line=99)
    run(prior + [december], TODAY + dt.timedelta(days=2))
    assert churned() is None
    again = run(prior + [december.with_(gross=0.0, net=0.0)], TODAY + dt.timedelta(days=3))
    assert churned() == (again.batch_id, "2026-11-21", "2026-11-21", 12_000.0)


def test_the_command_lists_the_last_import_s_signals(book, capsys):
    from ctvdb import cli

    gone = book.customer("Gone")
    book.spread(gone, PRIOR, 12_000.00)
    summaries.refresh_all(book.conn)
    signals.after_import(book.conn, TODAY, 1)
    assert cli.main(["--db", str(db.main_file(book.conn)), "signals", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["signal"], r["figures"]["prior"], r["state"]) for r in listed] == [
        ("Gone", "churned", 12_000.00, "open")]
    assert cli.main(["--db", str(db.main_file(book.conn)), "signals", "list", "--signal", "growing"]) == 0
    assert capsys.readouterr().out.strip() == "0 signals."
