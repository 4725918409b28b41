"""`ctvdb adopt` (issue 17), the human-entered records: sectors, revenue classes, budgets, forecasts,
contacts, addresses, billing terms, AE assignments, activities, follow-ups and users.

The source is written with tests/source_db.py (customers, agencies) and tests/source_db_records.py
(everything people typed) in CTV BookedBiz DB's layout; the target is a fresh ctvdb database holding
the same customers and agencies, as the core leaves it before calling `adopt_records`. Customer 13
was merged into 12 by the source's identity decisions (the IdMap sends it there) and customer 14
was not brought over. Every expected figure, place and reason below is written out from the rows
this file plants, never read back from the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from werkzeug.security import check_password_hash
from werkzeug.test import Client

import source_db
import source_db_records as rec
from ctvdb import auth, cli, db, planning
from ctvdb.accounts import Ref
from ctvdb.accounts_read import account_page
from ctvdb.adopt.model import IdMap
from ctvdb.adopt.records import adopt_records
from ctvdb.adopt.source import open_source
from ctvdb.auth_web import SESSION_COOKIE
from ctvdb.config import Config
from ctvdb.web.app import create_app

TODAY = dt.date(2025, 1, 20)
CUSTOMERS = {10: ("Admerasia:McDonald's", 1), 11: ("Golden Dragon", None), 12: ("Pho Hoa", None),
             13: ("Pho Hoa Restaurant", None), 14: ("Not Brought", None)}
AGENCIES = {1: "Admerasia", 2: "IW Group"}


def build_source(path) -> None:
    conn = source_db.create_source(path)
    for agency_id, name in AGENCIES.items():
        source_db.agency(conn, agency_id, name)
    for customer_id, (name, agency_id) in CUSTOMERS.items():
        source_db.customer(conn, customer_id, name, agency_id=agency_id)
    # Sectors: two match ctvdb's by name (AUTO, POLITICAL -> POL), two are new, one has no name.
    rec.sector(conn, 1, "AUTO", "Automotive")
    rec.sector(conn, 2, "POLITICAL", "Political")
    rec.sector(conn, 3, "HOSP-ITALITY", "Hospitality")
    rec.sector(conn, 4, "OLD", "Old Sector", active=False)
    rec.sector(conn, 5, "BLANK", "  ")
    rec.customer_sector(conn, 10, 1)                       # row 1
    rec.customer_sector(conn, 10, 3, primary=False)        # row 2: a secondary sector
    rec.customer_sector(conn, 11, 2)                       # row 3
    rec.customer_sector(conn, 14, 1)                       # row 4: customer not brought over
    rec.customer_sector(conn, 12, 99)                      # row 5: no sector 99
    rec.set_customer(conn, 13, sector_id=3)                # the cache only, no customer_sectors row
    # Revenue classes (026).
    rec.set_customer(conn, 11, revenue_class="irregular")
    rec.set_customer(conn, 12, revenue_class="bogus")
    # Users (020/021): two AEs, a manager, an admin the target has already, a viewer, two bad ones.
    rec.user(conn, 1, "Charmaine", "Lane", "Charmaine@Station.example", "AE")
    rec.user(conn, 2, "Dana", "Ortiz", "dana@station.example", "management")
    rec.user(conn, 3, "Lee", "Park", "lee@station.example", "admin")
    rec.user(conn, 4, "Vic", "Viewer", "vic@station.example", "viewer")
    rec.user(conn, 5, "Sam", "Super", "sam@station.example", "superuser")
    rec.user(conn, 6, "New", "Hire", "new.hire@station.example", "AE")
    rec.user(conn, 7, "No", "Mail", "not-an-email", "AE")
    # Budgets: 2025 has a draft and the active final, 2024 an active version; the flat table has
    # 2024 (versioned: left) and 2023 (no versions: brought).
    rec.budget_version(conn, 1, "Draft 2025", 2025, active=False, created_date="2024-11-01 10:00:00")
    rec.budget_version(conn, 2, "Final 2025", 2025, created_date="2024-12-15 10:00:00")
    rec.budget_version(conn, 3, "Final 2024", 2024, created_date="2023-12-01 10:00:00")
    rec.budget_version(conn, 4, "What if 2025", 2025, active=False, created_date="2025-01-05 10:00:00",
                       created_by="Lee@Station.example")
    rec.budget_cell(conn, 1, "Charmaine Lane", 2025, 1, 40000)   # data 1
    rec.budget_cell(conn, 1, "Charmaine Lane", 2025, 2, 41000)   # data 2
    rec.budget_cell(conn, 2, "Charmaine Lane", 2025, 1, 45000)   # data 3
    rec.budget_cell(conn, 2, "Charmaine Lane", 2025, 2, 41000)   # data 4: as the draft
    rec.budget_cell(conn, 2, "jose ruiz", 2025, 1, 30000)        # data 5
    rec.budget_cell(conn, 2, "Ghost AE", 2025, 1, 5000)          # data 6: an AE ctvdb does not know
    rec.budget_cell(conn, 2, "Jose Ruiz", 2025, 3, -5)           # data 7: negative
    rec.budget_cell(conn, 3, "Charmaine Lane", 2024, 12, 38000)  # data 8
    rec.budget_cell(conn, 4, "Charmaine Lane", 2025, 1, 47000)   # data 9: made after the final
    rec.legacy_budget(conn, "Charmaine Lane", 2024, 11, 37000)   # budget 1: 2024 has versions
    rec.legacy_budget(conn, "Charmaine Lane", 2023, 12, 35000)   # budget 2
    # Forecasts and their history.
    rec.forecast_change(conn, "Charmaine Lane", 2025, 1, None, 48000, changed_date="2025-01-05 09:00:00")  # 1
    rec.forecast_change(conn, "Charmaine Lane", 2025, 1, 48000, 50000, changed_date="2025-01-10 16:00:00")  # 2
    rec.forecast_change(conn, "Ghost AE", 2025, 1, None, 1000, changed_date="2025-01-06 09:00:00")  # 3
    rec.forecast_change(conn, "Charmaine Lane", 2025, 3, None, 60000, changed_date="2025-01-07 09:00:00")  # 4
    rec.forecast(conn, "Charmaine Lane", 2025, 1, 50000)               # forecast 1
    rec.forecast(conn, "Jose Ruiz", 2025, 2, 20000, updated_by="dana@station.example",
                 updated_date="2025-01-12 11:00:00")                   # forecast 2: no history row
    rec.forecast(conn, "Nobody", 2025, 2, 100)                         # forecast 3
    # Contacts.
    rec.contact(conn, "customer", 10, "Ana Lee", email="ana@mcd.example", phone="206-555-0101",
                role="decision_maker", primary=True, title="Marketing Director")     # 1
    rec.contact(conn, "customer", 10, "Bo Chan", role="account_manager", notes="Prefers email")   # 2
    rec.contact(conn, "agency", 1, "Cy Park", role="billing", email="cy@admerasia.example")      # 3
    rec.contact(conn, "customer", 99, "Nobody Known")                                            # 4
    rec.contact(conn, "customer", 10, "Ed Bad", email="ed at mcd")                               # 5
    rec.contact(conn, "customer", 11, "Flo Phone", phone="call me")                              # 6
    rec.contact(conn, "customer", 13, "Dee Merged", phone="+1 (503) 555-0199 x12")               # 7
    rec.contact(conn, "customer", 11, "Old Contact", active=False)                               # 8
    rec.contact(conn, "customer", 14, "Gone Customer")                                           # 9
    # Addresses, and the older address columns of the entities (001).
    rec.address(conn, "customer", 10, "Billing", address_="1 Main St", city="Seattle", state="WA", zip_="98101")  # 1
    rec.address(conn, "customer", 10, "Shipping", address_="2 Dock Rd", city="Tacoma", state="WA")              # 2
    rec.address(conn, "agency", 2, "Office", address_="3 Agency Ave", city="Los Angeles", state="CA")           # 3
    rec.address(conn, "customer", 99, "Billing", address_="4 Nowhere")                                          # 4
    rec.address(conn, "customer", 11, "Other", address_="5 Old St", city="Renton", active=False)               # 5
    rec.set_customer(conn, 10, address="1 Main St", city="Seattle", state="WA", zip="98101")   # the same as 1
    rec.set_customer(conn, 12, address="6 Pho Way", city="Portland", state="OR")
    # Billing terms.
    rec.set_customer(conn, 10, commission_rate=15, po_number="PO-7", affidavit_required=1)
    rec.set_customer(conn, 11, commission_rate=150)
    rec.set_agency(conn, 1, commission_rate=12.5, edi_code="ADM01", order_rate_basis="net")
    rec.set_agency(conn, 2, edi_billing=1)
    # Notes typed on the entities themselves.
    rec.set_customer(conn, 11, notes="Owner speaks Cantonese;\nbooks every Lunar New Year",
                     updated_date="2024-08-08 08:00:00")
    rec.set_customer(conn, 14, notes="Gone")
    rec.set_agency(conn, 2, notes="x" * 5000, updated_date="2024-08-09 08:00:00")
    # AE assignments (007) and an assigned_ae without one (004).
    rec.ae_assignment(conn, "customer", 10, "Jose Ruiz", "2024-01-15 10:00:00", "2024-07-01 09:00:00")  # 1
    rec.ae_assignment(conn, "customer", 10, "Charmaine Lane", "2024-07-01 09:00:00")                   # 2
    rec.ae_assignment(conn, "agency", 1, "Ghost AE", "2024-02-01")                                     # 3
    rec.ae_assignment(conn, "customer", 11, "Charmaine Lane", "2024-03-03 10:00:00", "2024-03-03 15:00:00")  # 4
    rec.set_customer(conn, 12, assigned_ae="Jose Ruiz", created_date="2023-05-05 10:00:00")
    # Activities (rows 1-5) and follow-ups (rows 6-9), all in entity_activity.
    rec.activity(conn, "customer", 10, "call", "Talked about the spring budget", contact_id=1)          # 1
    rec.activity(conn, "customer", 10, "status_change", "Became active", activity_date="2024-11-06 10:00:00")  # 2
    rec.activity(conn, "agency", 1, "meeting", "Lunch with the buyers", activity_date="2024-10-01 12:00:00")  # 3
    rec.activity(conn, "customer", 10, "note", "   ")                                                   # 4
    rec.activity(conn, "customer", 99, "email", "Sent rates")                                           # 5
    rec.follow_up(conn, "customer", 10, "Send the new rate card", "2025-02-01")                         # 6
    rec.follow_up(conn, "customer", 11, "Call back about Lunar New Year", "2025-01-10",
                  created_by="Charmaine Lane", completed_date="2025-01-09 17:00:00")                    # 7
    rec.follow_up(conn, "customer", 10, "No date", None)                                                # 8
    rec.follow_up(conn, "customer", 10, "Owner unknown", "2025-03-01", created_by="Somebody")           # 9
    conn.commit()
    conn.close()


def build_target(path) -> sqlite3.Connection:
    """A ctvdb database with the source's customers and agencies (13 merged into 12, 14 absent),
    and a sign-in database that has Lee already."""
    db.init(path)
    conn = db.connect(path)
    for agency_id, name in AGENCIES.items():
        conn.execute("INSERT INTO agencies (id, name, name_key) VALUES (?, ?, ?)", (agency_id, name, name.lower()))
    for customer_id, (code, agency_id) in CUSTOMERS.items():
        if customer_id == 14:
            continue
        conn.execute("INSERT INTO customers (id, name, agency_chain, agency_id, identity_key, merged_into)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (customer_id, code.split(":")[-1], ":".join(code.split(":")[:-1]),
                                                    agency_id, code.lower(), 12 if customer_id == 13 else None))
    conn.commit()
    auth_conn = db.connect_auth(path)
    auth.add_user(auth_conn, "lee@station.example", "a long enough password", "admin", name="Lee Park")
    auth_conn.close()
    return conn


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    build_source(folder / "source.db")
    target = folder / "ctvdb.db"
    conn = build_target(target)
    src = open_source(folder / "source.db")
    ids = IdMap(customer={10: 10, 11: 11, 12: 12, 13: 12}, agency={1: 1, 2: 2},
                ae_names={"CHARMAINE LANE", "JOSE RUIZ"})
    conn.execute("BEGIN IMMEDIATE")
    reports = adopt_records(src, conn, ids, db.auth_path(target))
    conn.execute("COMMIT")
    src.close()
    yield target, conn, {r.kind: r for r in reports}
    conn.close()


def _left(report) -> dict[tuple[str, int], str]:
    return {(table, source_id): reason for table, source_id, reason in report.not_brought}


def _counts(report) -> tuple[int, int]:
    return report.in_source, report.brought


def test_sectors_and_assignments_land_on_the_customers_with_the_one_ctvdb_keeps(adopted):
    _, conn, kinds = adopted
    sectors = {row[0]: (row[1], row[2]) for row in conn.execute("SELECT code, name, active FROM sectors")}
    assert sectors["HOSP_ITALITY"] == ("Hospitality", 1) and sectors["OLD"] == ("Old Sector", 0)
    assert "POLITICAL" not in sectors and "BLANK" not in sectors    # Political is ctvdb's POL
    assert _counts(kinds["sectors"]) == (5, 4) and list(_left(kinds["sectors"])) == [("sectors", 5)]
    given = dict(conn.execute("SELECT id, sector_code FROM customers WHERE sector_code IS NOT NULL"))
    # 10: its primary; 11: Political; 12: its own row names no sector, merged 13's cache gives Hospitality.
    assert given == {10: "AUTO", 11: "POL", 12: "HOSP_ITALITY"}
    left = _left(kinds["sector assignments"])
    assert _counts(kinds["sector assignments"]) == (6, 3)
    assert set(left) == {("customer_sectors", 2), ("customer_sectors", 4), ("customer_sectors", 5)}
    assert "one sector per customer" in left[("customer_sectors", 2)] and "AUTO" in left[("customer_sectors", 2)]
    assert left[("customer_sectors", 4)] == "its customer 14 was not brought over"
    assert left[("customer_sectors", 5)] == "its sector 99 does not exist in the source"


def test_revenue_classes_are_the_source_s_and_a_bad_one_is_named(adopted):
    _, conn, kinds = adopted
    classes = dict(conn.execute("SELECT id, revenue_class FROM customers"))
    assert classes == {10: "regular", 11: "irregular", 12: "regular", 13: "regular"}
    left = _left(kinds["revenue classes"])
    assert _counts(kinds["revenue classes"]) == (5, 3)
    assert "“bogus” is not a revenue class" in left[("customers", 12)]
    assert left[("customers", 14)] == "its customer 14 was not brought over"


def test_the_active_budget_version_is_the_budget_and_the_others_its_history(adopted):
    _, conn, kinds = adopted
    budgets = {(r[0], r[1]): r[2] for r in conn.execute("SELECT ae, broadcast_month, amount FROM budgets")}
    assert budgets == {("CHARMAINE LANE", 202501): 45000, ("CHARMAINE LANE", 202502): 41000,
                       ("JOSE RUIZ", 202501): 30000, ("CHARMAINE LANE", 202412): 38000,
                       ("CHARMAINE LANE", 202312): 35000}
    latest_source = "2025-01-05T10:00:00Z"     # the newest timestamp this file planted
    history = [tuple(r[:5]) + ("later" if r[5] > latest_source else r[5],) for r in conn.execute(
        "SELECT ae, broadcast_month, old_amount, new_amount, changed_by, changed_at FROM plan_history"
        " WHERE kind = 'budget' ORDER BY broadcast_month, ae, id")]
    assert history == [
        ("CHARMAINE LANE", 202312, None, 35000, "adopt", "2023-12-20T09:00:00Z"),   # the flat table: no who
        ("CHARMAINE LANE", 202412, None, 38000, "dana@station.example", "2023-12-01T10:00:00Z"),
        ("CHARMAINE LANE", 202501, None, 40000, "dana@station.example", "2024-11-01T10:00:00Z"),     # the draft
        ("CHARMAINE LANE", 202501, 40000, 45000, "dana@station.example", "2024-12-15T10:00:00Z"),    # the final
        ("CHARMAINE LANE", 202501, 45000, 47000, "lee@station.example", "2025-01-05T10:00:00Z"),     # a what-if
        ("CHARMAINE LANE", 202501, 47000, 45000, "adopt", "later"),       # the active version is the budget
        ("JOSE RUIZ", 202501, None, 30000, "dana@station.example", "2024-12-15T10:00:00Z"),
        ("CHARMAINE LANE", 202502, None, 41000, "dana@station.example", "2024-11-01T10:00:00Z"),  # as the final
    ]
    assert _counts(kinds["budget versions"]) == (4, 4)
    left = _left(kinds["budget cells"])
    assert _counts(kinds["budget cells"]) == (11, 8)
    assert set(left) == {("budget_data", 6), ("budget_data", 7), ("budget", 1)}
    assert "no AE “GHOST AE”" in left[("budget_data", 6)]
    assert "negative" in left[("budget_data", 7)]
    assert "“Final 2024”" in left[("budget", 1)]


def test_forecasts_with_their_history_and_the_cell_history_ends_at_the_cell(adopted):
    _, conn, kinds = adopted
    forecasts = {(r[0], r[1]): r[2] for r in conn.execute("SELECT ae, broadcast_month, amount FROM forecasts")}
    assert forecasts == {("CHARMAINE LANE", 202501): 50000, ("JOSE RUIZ", 202502): 20000}
    history = [tuple(r) for r in conn.execute(
        "SELECT ae, broadcast_month, old_amount, new_amount, changed_by FROM plan_history WHERE kind = 'forecast'"
        " ORDER BY broadcast_month, ae, id")]
    assert history == [
        ("CHARMAINE LANE", 202501, None, 48000, "lee@station.example"),
        ("CHARMAINE LANE", 202501, 48000, 50000, "lee@station.example"),
        ("JOSE RUIZ", 202502, None, 20000, "dana@station.example"),
        ("CHARMAINE LANE", 202503, None, 60000, "lee@station.example"),
        ("CHARMAINE LANE", 202503, 60000, None, "adopt"),    # no forecast in the source any more
    ]
    # As planning reads a month's forecasts on a day: Charmaine's January as of Jan 7 (Pacific) was
    # the first history row, as of Jan 10 the second.
    assert planning.as_of(conn, "forecast", 202501, dt.date(2025, 1, 7))["CHARMAINE LANE"]["amount"] == 48000
    assert planning.as_of(conn, "forecast", 202501, dt.date(2025, 1, 10))["CHARMAINE LANE"]["amount"] == 50000
    assert "CHARMAINE LANE" not in planning.as_of(conn, "forecast", 202501, dt.date(2025, 1, 4))
    assert _counts(kinds["forecast cells"]) == (3, 2) and list(_left(kinds["forecast cells"])) == [("forecast", 3)]
    assert _counts(kinds["forecast history"]) == (4, 3)
    assert list(_left(kinds["forecast history"])) == [("forecast_history", 3)]


def test_a_budget_shows_on_the_management_page(adopted, session_token):
    target, _, _ = adopted
    client = Client(create_app(Config(database_path=target)))
    client.set_cookie(SESSION_COOKIE, session_token(target))
    response = client.get("/reports/management-performance?year=2025&format=json")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    quarters = {(r["ae"], r["quarter"]): r for r in response.json["tables"]["quarters"]["rows"]}
    assert quarters[("CHARMAINE LANE", "Q1 2025")]["budget"] == 45000 + 41000
    assert quarters[("JOSE RUIZ", "Q1 2025")]["budget"] == 30000
    assert quarters[("CHARMAINE LANE", "Q1 2025")]["forecast"] == 50000
    assert response.json["tables"]["aes"]["totals"]["budget"] == 45000 + 41000 + 30000


def test_contacts_addresses_terms_assignments_activities_and_follow_ups_show_on_the_account_page(adopted):
    _, conn, kinds = adopted
    page = account_page(conn, Ref("customer", 10), TODAY)
    contacts = [(c["name"], c["title"], c["role"], c["email"], c["phone"], c["is_primary"]) for c in page["contacts"]]
    assert contacts == [("Ana Lee", "Marketing Director", "decision_maker", "ana@mcd.example", "206-555-0101", 1),
                        ("Bo Chan", "", "other", "", "", 0)]
    assert page["contacts"][1]["notes"] == "Role in CTV BookedBiz DB: account manager.\nPrefers email"
    assert [(a["kind"], a["line1"], a["city"], a["region"], a["postal_code"]) for a in page["addresses"]] == [
        ("billing", "1 Main St", "Seattle", "WA", "98101"), ("mailing", "2 Dock Rd", "Tacoma", "WA", "")]
    terms = page["terms"]
    assert (terms["commission_pct"], terms["po_required"], terms["affidavit_required"], terms["invoice_notes"]) == \
        (15, 1, 1, "PO number: PO-7")
    assert page["ae"] == "CHARMAINE LANE"
    assert [(a["ae"], a["effective_from"], a["effective_to"]) for a in page["assignments"]] == [
        ("CHARMAINE LANE", "2024-07-01", None), ("JOSE RUIZ", "2024-01-15", "2024-06-30")]
    assert [(a["kind"], a["happened_on"], a["text"], a["contact"]) for a in page["activities"]] == [
        ("note", "2024-11-06", "Status change: Became active", ""),
        ("call", "2024-11-05", "Talked about the spring budget", "Ana Lee")]
    assert [(f["due_on"], f["owner"], f["text"], f["done_at"]) for f in page["follow_ups"]] == [
        ("2025-02-01", "ana@station.example", "Send the new rate card", None)]
    # The merged customer's contact and its own address columns are on the survivor's page.
    merged = account_page(conn, Ref("customer", 12), TODAY)
    assert [c["name"] for c in merged["contacts"]] == ["Dee Merged"]
    assert [(a["line1"], a["city"]) for a in merged["addresses"]] == [("6 Pho Way", "Portland")]
    assert [(a["ae"], a["effective_from"], a["effective_to"]) for a in merged["assignments"]] == [
        ("JOSE RUIZ", "2023-05-05", None)]
    agency = account_page(conn, Ref("agency", 1), TODAY)
    assert [c["name"] for c in agency["contacts"]] == ["Cy Park"]
    assert (agency["terms"]["commission_pct"], agency["terms"]["edi_code"], agency["terms"]["invoice_notes"]) == \
        (12.5, "ADM01", "Orders arrive net")
    assert account_page(conn, Ref("agency", 2), TODAY)["terms"]["invoice_notes"] == "EDI billing"
    other = account_page(conn, Ref("customer", 11), TODAY)
    assert other["contacts"] == [] and other["addresses"] == []   # the inactive ones are kept, removed
    assert conn.execute("SELECT count(*) FROM account_contacts WHERE removed_at IS NOT NULL").fetchone()[0] == 1
    assert [(f["owner"], f["done_at"]) for f in other["follow_ups"]] == [("CHARMAINE LANE", "2025-01-09T17:00:00Z")]
    assert [(a["kind"], a["happened_on"], a["who"], a["text"]) for a in other["activities"]] == [
        ("note", "2024-08-08", "adopt", "Notes in CTV BookedBiz DB: Owner speaks Cantonese;\nbooks every Lunar New Year")]


def test_every_account_record_left_behind_is_named_with_its_reason(adopted):
    _, _, kinds = adopted
    contacts = _left(kinds["contacts"])
    assert _counts(kinds["contacts"]) == (9, 5)
    assert set(contacts) == {("entity_contacts", n) for n in (4, 5, 6, 9)}
    assert contacts[("entity_contacts", 4)] == "its customer 99 does not exist in the source"
    assert "is not an email address" in contacts[("entity_contacts", 5)]
    assert "has letters" in contacts[("entity_contacts", 6)]
    assert contacts[("entity_contacts", 9)] == "its customer 14 was not brought over"
    addresses = _left(kinds["addresses"])
    assert _counts(kinds["addresses"]) == (7, 5)
    assert set(addresses) == {("entity_addresses", 4), ("customers", 10)}
    assert "same address" in addresses[("customers", 10)]
    terms = _left(kinds["billing terms"])
    assert _counts(kinds["billing terms"]) == (4, 3) and "outside 0–100" in terms[("customers", 11)]
    assignments = _left(kinds["AE assignments"])
    assert _counts(kinds["AE assignments"]) == (5, 3)
    assert set(assignments) == {("ae_assignments", 3), ("ae_assignments", 4)}
    assert "no AE “GHOST AE”" in assignments[("ae_assignments", 3)]
    assert "began and ended on 2024-03-03" in assignments[("ae_assignments", 4)]
    activities = _left(kinds["activities"])
    assert _counts(kinds["activities"]) == (5, 3) and set(activities) == {("entity_activity", 4), ("entity_activity", 5)}
    assert "cannot be empty" in activities[("entity_activity", 4)]
    follow_ups = _left(kinds["follow-ups"])
    assert _counts(kinds["follow-ups"]) == (4, 2) and set(follow_ups) == {("entity_activity", 8), ("entity_activity", 9)}
    assert "give a date" in follow_ups[("entity_activity", 8)]
    assert "no AE “SOMEBODY”" in follow_ups[("entity_activity", 9)]
    notes = _left(kinds["account notes"])
    assert _counts(kinds["account notes"]) == (3, 1) and set(notes) == {("customers", 14), ("agencies", 2)}
    assert "too long (at most 5,000)" in notes[("agencies", 2)]


def test_users_are_in_the_sign_in_database_with_role_and_ae_and_no_password(adopted):
    target, _, kinds = adopted
    conn = db.connect_auth(target)
    conn.row_factory = sqlite3.Row
    try:
        charmaine = auth.get_user(conn, "charmaine@station.example")
        assert (charmaine.role, charmaine.ae, charmaine.name, charmaine.active) == ("ae", "CHARMAINE LANE",
                                                                                    "Charmaine Lane", True)
        assert (auth.get_user(conn, "new.hire@station.example").role, auth.get_user(conn, "new.hire@station.example").ae) \
            == ("ae", "NEW HIRE")
        assert auth.get_user(conn, "dana@station.example").role == "management"
        assert (auth.get_user(conn, "vic@station.example").role, auth.get_user(conn, "vic@station.example").ae) \
            == ("viewer", None)
        hashes = dict(conn.execute("SELECT email, password_hash FROM users"))
        for email in ("charmaine@station.example", "dana@station.example", "vic@station.example",
                      "new.hire@station.example"):
            assert hashes[email] == "" and not check_password_hash(hashes[email], "")
        assert hashes["lee@station.example"].startswith("scrypt:")    # the target's own user kept as it was
        assert auth.get_user(conn, "sam@station.example") is None
    finally:
        conn.close()
    left = _left(kinds["users"])
    assert _counts(kinds["users"]) == (7, 4)
    assert set(left) == {("users", 3), ("users", 5), ("users", 7)}
    assert "lee@station.example already" in left[("users", 3)]
    assert "“superuser” is not a role" in left[("users", 5)]
    assert "not an email address" in left[("users", 7)]


def test_one_change_row_per_kind_says_what_was_adopted(adopted):
    _, conn, _ = adopted
    rows = [tuple(r) for r in conn.execute(
        "SELECT object_type, summary FROM changes WHERE actor = 'adopt' AND kind = 'adopt' ORDER BY id")]
    assert rows == [
        ("sector", "2 sectors adopted from CTV BookedBiz DB"),
        ("customer", "The sectors of 3 customers adopted from CTV BookedBiz DB"),
        ("customer", "The irregular revenue class of 1 customers adopted from CTV BookedBiz DB"),
        ("contact", "5 contacts adopted from CTV BookedBiz DB"),
        ("address", "5 addresses adopted from CTV BookedBiz DB"),
        ("customer_account", "The billing terms of 1 customer accounts adopted from CTV BookedBiz DB"),
        ("agency_account", "The billing terms of 2 agency accounts adopted from CTV BookedBiz DB"),
        ("customer_account", "The AE assignments of 2 customer accounts adopted from CTV BookedBiz DB"),
        ("activity", "3 activities adopted from CTV BookedBiz DB"),
        ("follow_up", "2 follow-ups adopted from CTV BookedBiz DB"),
        ("activity", "The notes of 1 customers and agencies adopted from CTV BookedBiz DB"),
    ]
    touched = {r[0] for r in conn.execute(
        "SELECT o.object_id FROM change_objects o JOIN changes c ON c.id = o.change_id"
        " WHERE c.kind = 'adopt' AND o.object_type = 'contact' AND o.object_id > 0")}
    assert len(touched) == 5


def test_adopt_through_the_command_brings_the_records_and_reports_them(tmp_path, capsys):
    source = tmp_path / "source.db"
    build_source(source)
    conn = sqlite3.connect(source)
    for number, (code, customer_id) in enumerate([("Admerasia:McDonald's", 10), ("Golden Dragon", 11),
                                                  ("Pho Hoa", 12)] * 4, start=1):
        source_db.spot(conn, bill_code=code, customer_id=customer_id, broadcast_month="Jan-25",
                       air_date="2025-01-06", gross_rate=100.0 * number, station_net=85.0 * number,
                       sales_person=["Charmaine Lane", "Jose Ruiz"][number % 2])
    conn.commit()
    conn.close()
    target, report = tmp_path / "ctvdb.db", tmp_path / "report.json"
    assert cli.main(["--db", str(target), "adopt", str(source), "--report", str(report)]) == 0
    capsys.readouterr()
    kinds = {k["kind"]: k for k in json.loads(report.read_text())["reconciliation"]["kinds"]}
    # Customers 13 and 14 are customers of their own here (no identity decision joins them):
    # every contact but 4 (no customer 99), 5 (bad email) and 6 (bad phone) comes over.
    assert (kinds["contacts"]["in_source"], kinds["contacts"]["brought"]) == (9, 6)
    assert {"table": "entity_contacts", "id": 4, "reason": "its customer 99 does not exist in the source"} in \
        kinds["contacts"]["not_brought"]
    conn = db.connect(target)
    try:
        page = account_page(conn, Ref("customer", 10), TODAY)
        assert [c["name"] for c in page["contacts"]] == ["Ana Lee", "Bo Chan"]
        assert dict(((r[0], r[1]), r[2]) for r in conn.execute("SELECT ae, broadcast_month, amount FROM budgets")
                    )[("CHARMAINE LANE", 202501)] == 45000
    finally:
        conn.close()
    auth_conn = db.connect_auth(target)
    try:
        assert auth.get_user(auth_conn, "charmaine@station.example").ae == "CHARMAINE LANE"
    finally:
        auth_conn.close()
