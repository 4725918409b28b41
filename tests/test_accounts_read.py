"""Reading accounts (ctvdb/accounts_read.py): the list's figures against sums of the workbook's
rows, its filters, search and sorting; an account's page; the follow-ups due and overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from ctvdb import accounts, db, sectors
from ctvdb.accounts import AccountError, Ref
from ctvdb.accounts_read import ListFilters, account_page, follow_ups, list_accounts, overdue_by_owner
from account_book import ANA, BILL_CODES, MGR, TODAY, aid, build, cid, expected, rows


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The log imported, with a few accounts given an AE, a sector, contacts and follow-ups."""
    path = build(tmp_path_factory.mktemp("accounts-read"))
    conn = db.connect(path)
    accounts.assign(conn, MGR, [Ref("customer", cid(conn, "Phở Hòa")), Ref("customer", cid(conn, "Wells Fargo"))],
                    "Alice Nguyen", "2026-01-01")
    accounts.assign(conn, MGR, [Ref("customer", cid(conn, "Admerasia:McDonald's"))], "Brandon Wu", "2026-06-01")
    sectors.assign(conn, MGR, [cid(conn, "Phở Hòa")], "QSR")
    accounts.add_contact(conn, ANA, Ref("customer", cid(conn, "Phở Hòa")), name="Lan Phạm")
    accounts.add_contact(conn, ANA, Ref("agency", aid(conn, "Admerasia")), name="Grace Liu")
    accounts.add_follow_up(conn, ANA, Ref("customer", cid(conn, "Phở Hòa")), "2026-11-18", "Alice Nguyen", "Overdue one")
    accounts.add_follow_up(conn, ANA, Ref("customer", cid(conn, "Phở Hòa")), "2026-11-30", "Alice Nguyen", "Later one")
    accounts.add_follow_up(conn, ANA, Ref("customer", cid(conn, "Wells Fargo")), "2026-11-20", ANA, "Due today")
    accounts.deactivate(conn, MGR, Ref("customer", cid(conn, "IW Group:Kim's Market")))
    yield conn
    conn.close()


def names_of(found) -> list[str]:
    return [f"{r['agency_chain']}:{r['name']}" if r["agency_chain"] else r["name"] for r in found]


def test_every_customers_trailing_12_this_year_and_last_year_are_its_workbook_rows_sums(book):
    want = expected()
    found = {f"{r['agency_chain']}:{r['name']}" if r["agency_chain"] else r["name"]: r
             for r in list_accounts(book, TODAY, ListFilters(type="customer", inactive=True))}
    assert sorted(found) == sorted(BILL_CODES)
    for code in BILL_CODES:
        r = found[code]
        assert (r["trailing"], r["this_year"], r["last_year"]) == \
            (want[code]["trailing"], want[code]["this_year"], want[code]["last_year"]), code
        assert r["change"] == round(want[code]["this_year"] - want[code]["last_year"], 2)
    assert found["Wells Fargo"]["this_year"] == 0 and found["Wells Fargo"]["last_year"] > 0


def test_an_agencys_figures_are_its_customers_sums(book):
    want = expected()
    agency = next(r for r in list_accounts(book, TODAY, ListFilters(type="agency")) if r["name"] == "Admerasia")
    mine = ["Admerasia:McDonald's", "Admerasia:Wells Fargo Bank"]
    for figure in ("trailing", "this_year", "last_year"):
        assert agency[figure] == round(sum(want[c][figure] for c in mine), 2)
    page = account_page(book, Ref("agency", agency["id"]), TODAY)
    assert [(a["name"], a["trailing"]) for a in page["advertisers"]] == sorted(
        [(c.split(":")[1], want[c]["trailing"]) for c in mine], key=lambda a: -a[1])
    assert page["revenue"]["trailing"] == agency["trailing"]


def test_the_filters(book):
    def found(**kw):
        return names_of(list_accounts(book, TODAY, ListFilters(**kw)))

    assert found(ae="ALICE NGUYEN") == ["Phở Hòa", "Wells Fargo"]
    assert found(ae="BRANDON WU") == ["Admerasia:McDonald's"]
    assert "McDonalds" in found(ae="NONE") and "Phở Hòa" not in found(ae="NONE")
    assert found(sector="QSR") == ["Phở Hòa"]
    assert found(type="agency") == ["Admerasia", "IW Group"]
    assert found(overdue=True) == ["Phở Hòa"]
    assert "Phở Hòa" not in found(no_contact=True) and "Admerasia" not in found(no_contact=True)
    assert "Wells Fargo" in found(no_contact=True)
    with_revenue = {c for c, figures in expected().items() if figures["trailing"] > 0 and c != "IW Group:Kim's Market"}
    assert set(found(has_revenue=True, type="customer")) == with_revenue
    assert "IW Group:Kim's Market" not in found() and "IW Group:Kim's Market" in found(inactive=True)


def test_search_is_blind_to_accents_case_and_punctuation(book):
    def found(q):
        return names_of(list_accounts(book, TODAY, ListFilters(q=q, inactive=True)))

    assert found("pho hoa") == ["Phở Hòa"] == found("PHỞ")
    assert found("mcdonalds") == ["Admerasia:McDonald's", "McDonalds"]
    assert found("kims") == ["IW Group:Kim's Market"]
    assert set(found("admerasia")) == {"Admerasia", "Admerasia:McDonald's", "Admerasia:Wells Fargo Bank"}


def test_sorting_by_a_figure_and_by_name(book):
    want = expected()
    by_trailing = list_accounts(book, TODAY, ListFilters(type="customer", sort="trailing", desc=True, inactive=True))
    assert names_of(by_trailing) == sorted(BILL_CODES, key=lambda c: -want[c]["trailing"])
    by_name = names_of(list_accounts(book, TODAY, ListFilters(type="customer", desc=True, inactive=True)))
    # By the customer's own name (the agency aside), folded; McDonald's and McDonalds fold alike: by id.
    assert by_name == ["Admerasia:Wells Fargo Bank", "Wells Fargo", "Phở Hòa", "McDonalds", "Admerasia:McDonald's",
                       "IW Group:Kim's Market"]
    by_ae = names_of(list_accounts(book, TODAY, ListFilters(type="customer", sort="ae")))
    assert by_ae[:3] == ["Phở Hòa", "Wells Fargo", "Admerasia:McDonald's"]       # unassigned ones last


def test_the_list_shows_each_accounts_next_follow_up_signals_and_contacts(book):
    listed = {(r["type"], r["id"]): r for r in list_accounts(book, TODAY)}
    pho = listed[("customer", cid(book, "Phở Hòa"))]
    assert (pho["next_follow_up"], pho["overdue"], pho["contacts"], pho["ae"], pho["sector"]) == \
        ("2026-11-18", True, 1, "ALICE NGUYEN", "Restaurants")
    signals = {(r[0], r[1]): [] for r in book.execute("SELECT object_type, object_id FROM account_signals")}
    for kind, number, signal in book.execute("SELECT object_type, object_id, signal FROM account_signals"):
        signals[(kind, number)].append(signal)
    assert signals                      # this log gives some account a signal
    for account, names in signals.items():
        if account in listed:
            assert sorted(listed[account]["signals"]) == sorted(names)


def test_an_accounts_page_has_its_24_months_and_figures(book):
    page = account_page(book, Ref("customer", cid(book, "Phở Hòa")), TODAY)
    by_month = {}
    for row in rows():
        if row.bill_code == "Phở Hòa":
            month = row.month.year * 100 + row.month.month
            by_month[month] = by_month.get(month, 0) + row.gross
    shown = {m["month"]: m["gross"] for m in page["revenue"]["months"]}
    assert len(shown) == 24 and min(shown) == 202412 and max(shown) == 202611
    assert {m: g for m, g in shown.items() if g} == {m: g for m, g in by_month.items() if 202412 <= m <= 202611}
    assert page["revenue"]["trailing"] == expected()["Phở Hòa"]["trailing"]
    assert [f["text"] for f in page["follow_ups"]] == ["Overdue one", "Later one"]
    assert page["ae"] == "ALICE NGUYEN" and page["sector"] == "Restaurants"
    with pytest.raises(AccountError, match="^There is no agency 999.$"):
        account_page(book, Ref("agency", 999), TODAY)


def test_follow_ups_due_for_an_owner_and_overdue_by_owner(book):
    mine = follow_ups(book, TODAY, ["alice nguyen"])
    assert [(f["text"], f["overdue"], f["due_today"]) for f in mine] == \
        [("Overdue one", True, False), ("Later one", False, False)]
    assert [f["text"] for f in follow_ups(book, TODAY, [ANA.upper()])] == ["Due today"]
    assert [f["text"] for f in follow_ups(book, TODAY, ["Alice Nguyen", ANA], within_days=0)] == ["Overdue one", "Due today"]
    assert [(o["owner"], o["overdue"], o["oldest"]) for o in overdue_by_owner(book, TODAY)] == \
        [("ALICE NGUYEN", 1, "2026-11-18")]


def test_overdue_by_owner_counts_each_owner_s_open_follow_ups_due_before_the_day(book):
    later = dt.date(2026, 12, 5)      # all three overdue: Alice Nguyen's two, ana's one
    assert [(o["owner"], o["overdue"], o["oldest"]) for o in overdue_by_owner(book, later)] == \
        [("ALICE NGUYEN", 2, "2026-11-18"), (ANA, 1, "2026-11-20")]
    # as the follow-ups list counts them
    listed: dict = {}
    for f in follow_ups(book, later, within_days=-1):
        listed[f["owner"]] = listed.get(f["owner"], 0) + 1
    assert {o["owner"]: o["overdue"] for o in overdue_by_owner(book, later)} == listed
    assert overdue_by_owner(book, dt.date(2026, 11, 18)) == []


def test_filters_from_a_query_string_and_back(book):
    f = ListFilters.from_query({"ae": " alice  nguyen ", "type": "customer", "overdue": "1", "sort": "trailing",
                                "dir": "desc"})
    assert f == ListFilters(ae="ALICE NGUYEN", type="customer", overdue=True, sort="trailing", desc=True)
    assert ListFilters.from_query(f.as_query()) == f
    for query, sentence in (({"type": "client"}, "type: “client” is not customer or agency."),
                            ({"sort": "gross"}, "sort: “gross” is not one of"),
                            ({"overdue": "maybe"}, "overdue: “maybe” is not 1 or yes.")):
        with pytest.raises(AccountError, match="^" + sentence.replace("(", r"\(")):
            ListFilters.from_query(query)
