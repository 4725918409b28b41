"""The accounts' writes (ctvdb/accounts.py) on a real imported workbook: each write with its
change-log row, each refusal with its sentence and nothing changed, the concurrent edit of one
contact, merges and their undo, who may do what, and that an import touches none of it."""

from __future__ import annotations

import json

import pytest

from ctvdb import accounts, agencies, auth, changes, customers, db
from ctvdb.accounts import AccountError, Ref
from ctvdb.accounts_read import account_page, list_accounts
from account_book import ANA, BOB, MGR, TODAY, account_rows, aid, build, cid, digest, reimport

PAYLOADS = ["<script>alert('x')</script>", "'; DROP TABLE customers; --", "=HYPERLINK(\"http://evil\",\"x\")",
            "Nguyễn Thị Hồng", "김민수", "王小明", "@SUM(A1)", "+1-2", "-3+4"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("accounts") / "base")


@pytest.fixture
def loaded(built, private_copy):
    path = private_copy(built)
    conn = db.connect(path)
    yield path, conn
    conn.close()


def last_change(conn) -> changes.Change:
    return changes.get(conn, conn.execute("SELECT max(id) FROM changes").fetchone()[0])


def mcd(conn) -> Ref:
    return Ref("customer", cid(conn, "Admerasia:McDonald's"))


# Each write with its change-log row --------------------------------------------------------------

def test_a_contact_is_added_updated_and_removed_each_with_its_change_row(loaded):
    _, conn = loaded
    account = mcd(conn)
    contact_id = accounts.add_contact(conn, ANA, account, name="  Ana   Lee ", title="Media buyer", role="decision maker",
                                      email="ana.lee@admerasia.com", phone="(213) 555-0101 x12", notes="Prefers\nemail")
    stored = accounts.get_contact(conn, contact_id)
    assert (stored["name"], stored["role"], stored["phone"], stored["notes"], stored["version"]) == \
        ("Ana Lee", "decision_maker", "(213) 555-0101 x12", "Prefers\nemail", 1)
    change = last_change(conn)
    assert (change.actor, change.kind, change.object_type, change.object_id) == (ANA, "add", "contact", contact_id)
    assert change.after["email"] == "ana.lee@admerasia.com" and change.after["account"] == f"customer:{account.id}"
    assert change.summary == f"Contact Ana Lee was added to Admerasia:McDonald's (#{account.id})"

    outcome = accounts.update_contact(conn, BOB, contact_id, {"title": "Director", "email": "ana@admerasia.com"})
    assert outcome.saved == ("title", "email") and not outcome.refused
    change = last_change(conn)
    assert change.before == {"title": "Media buyer", "email": "ana.lee@admerasia.com"}
    assert change.after == {"title": "Director", "email": "ana@admerasia.com"} and change.actor == BOB
    assert accounts.get_contact(conn, contact_id)["version"] == 2

    accounts.remove_contact(conn, ANA, contact_id, expected_version=2)
    assert account_page(conn, account, TODAY)["contacts"] == []
    assert accounts.get_contact(conn, contact_id)["removed_by"] == ANA      # kept, off the page
    with pytest.raises(AccountError, match=r"^Contact Ana Lee was removed by ana@example.com at "):
        accounts.update_contact(conn, BOB, contact_id, {"title": "x"})


def test_one_primary_contact_per_account_the_other_says_who_took_it(loaded):
    _, conn = loaded
    account = mcd(conn)
    first = accounts.add_contact(conn, ANA, account, name="Ana Lee", is_primary=True)
    second = accounts.add_contact(conn, BOB, account, name="Bo Park", is_primary=True)
    assert [c["name"] for c in account_page(conn, account, TODAY)["contacts"] if c["is_primary"]] == ["Bo Park"]
    outcome = accounts.update_contact(conn, ANA, first, {"is_primary": True}, drawn={"is_primary": True})
    assert outcome.saved == ()
    assert outcome.refused[0].sentence().startswith(f"Primary of contact Ana Lee was made not primary by {BOB} at ")
    assert accounts.get_contact(conn, second)["is_primary"] == 1


def test_addresses_terms_assignments_activities_follow_ups_and_deactivation(loaded):
    _, conn = loaded
    account = mcd(conn)
    address_id = accounts.add_address(conn, ANA, account, kind="billing", line1="1 Main St", city="Los Angeles",
                                      region="CA", postal_code="90012", country="US")
    accounts.add_address(conn, ANA, account, kind="mailing", line1="PO Box 9", city="Pasadena")
    accounts.update_address(conn, BOB, address_id, {"line2": "Suite 200"}, expected_version=1)
    assert last_change(conn).after == {"line2": "Suite 200"}
    accounts.remove_address(conn, ANA, address_id)
    assert [a["line1"] for a in account_page(conn, account, TODAY)["addresses"]] == ["PO Box 9"]

    accounts.set_terms(conn, MGR, account, po_required="yes", edi_code="EDI-77", commission_pct="15%",
                       affidavit_required=True, invoice_notes="Net 30 — gửi hoá đơn")
    terms = accounts.terms(conn, account)
    assert (terms["po_required"], terms["edi_code"], terms["commission_pct"], terms["affidavit_required"],
            terms["invoice_notes"]) == (1, "EDI-77", 15.0, 1, "Net 30 — gửi hoá đơn")
    assert last_change(conn).object_type == "customer_account" and last_change(conn).before["commission_pct"] is None

    accounts.assign(conn, MGR, [account, Ref("customer", cid(conn, "Phở Hòa"))], "alice nguyen", "2026-01-01")
    accounts.assign(conn, MGR, [account], "Brandon Wu", "2026-11-01")
    history = account_page(conn, account, TODAY)["assignments"]
    assert [(a["ae"], a["effective_from"], a["effective_to"]) for a in history] == \
        [("BRANDON WU", "2026-11-01", None), ("ALICE NGUYEN", "2026-01-01", "2026-10-31")]
    assert accounts.assigned_ae(conn, account, TODAY) == "BRANDON WU"
    assert accounts.assigned_ae(conn, account, TODAY.replace(month=10)) == "ALICE NGUYEN"
    assert last_change(conn).summary.endswith("was assigned to BRANDON WU from 2026-11-01 (was ALICE NGUYEN)")

    contact_id = accounts.add_contact(conn, ANA, account, name="Ana Lee")
    activity_id = accounts.log_activity(conn, ANA, account, "call", "2026-11-19", "Talked about Q1", contact_id)
    logged = account_page(conn, account, TODAY)["activities"]
    assert [(a["id"], a["kind"], a["who"], a["contact"], a["text"]) for a in logged] == \
        [(activity_id, "call", ANA, "Ana Lee", "Talked about Q1")]

    follow_up = accounts.add_follow_up(conn, ANA, account, "2026-11-25", "brandon wu", "Send the rate card")
    accounts.mark_done(conn, BOB, follow_up, expected_version=1)
    done = account_page(conn, account, TODAY)["follow_ups"][0]
    assert (done["owner"], done["done_by"]) == ("BRANDON WU", BOB)
    with pytest.raises(AccountError, match=r"^Follow-up \d+ was marked done by bob@example.com at "):
        accounts.mark_done(conn, ANA, follow_up)

    accounts.deactivate(conn, MGR, account)
    assert account not in {Ref(r["type"], r["id"]) for r in list_accounts(conn, TODAY)}
    with pytest.raises(AccountError, match="is already deactivated"):
        accounts.deactivate(conn, MGR, account)
    accounts.reactivate(conn, MGR, account)
    assert last_change(conn).kind == "reactivate" and accounts.terms(conn, account)["active"] == 1


def test_saved_filters_are_each_persons_own(loaded):
    _, conn = loaded
    first = accounts.save_filter(conn, "Ana@Example.com", "My overdue", "?overdue=1&ae=ALICE+NGUYEN")
    assert accounts.save_filter(conn, ANA, "My overdue", "overdue=1") == first      # same name: replaced
    assert accounts.saved_filters(conn, ANA) == [{"id": first, "name": "My overdue", "query": "overdue=1"}]
    assert accounts.saved_filters(conn, BOB) == []
    with pytest.raises(AccountError, match=f"^You have no saved filter {first}.$"):
        accounts.delete_filter(conn, BOB, first)
    accounts.delete_filter(conn, ANA, first)
    assert accounts.saved_filters(conn, ANA) == [] and last_change(conn).before["name"] == "My overdue"


def test_an_ae_of_a_users_account_can_be_assigned_before_any_spot_of_theirs(loaded, cheap_scrypt):
    path, conn = loaded
    auth_conn = db.connect_auth(path)
    auth.add_user(auth_conn, "zoe@example.com", "a long enough password", "ae", ae="Zoe Tran")
    auth_conn.close()
    accounts.assign(conn, MGR, [mcd(conn)], "zoe tran", "2026-11-01")
    assert accounts.assigned_ae(conn, mcd(conn), TODAY) == "ZOE TRAN"


# Refusals: one sentence naming the field, and nothing changed -----------------------------------

REFUSALS = [
    (lambda c, a: accounts.add_contact(c, ANA, a, name="X", email="ana(at)example.com"),
     "Email: “ana(at)example.com” is not an email address like ana@example.com."),
    (lambda c, a: accounts.add_contact(c, ANA, a, name="X", phone="555-CALL-NOW"),
     "Phone: “555-CALL-NOW” has letters; a phone number is digits with spaces, +, -, ( ) and an extension like x12."),
    (lambda c, a: accounts.add_contact(c, ANA, a, name="   "), "Name: say what it is; it cannot be empty."),
    (lambda c, a: accounts.add_contact(c, ANA, a, name="X", role="boss"),
     "Role: “boss” is not one of decision maker, billing, creative, other."),
    (lambda c, a: accounts.set_terms(c, MGR, a, commission_pct="120"), "Commission %: 120 is outside 0–100."),
    (lambda c, a: accounts.set_terms(c, MGR, a, commission_pct="-1"), "Commission %: -1 is outside 0–100."),
    (lambda c, a: accounts.set_terms(c, MGR, a, commission_pct="a lot"),
     "Commission %: “a lot” is not a percentage like 15 or 12.5."),
    (lambda c, a: accounts.add_follow_up(c, ANA, a, "next Tuesday", ANA, "Call"),
     "Due date: “next Tuesday” is not a date like 2026-11-24."),
    (lambda c, a: accounts.add_follow_up(c, ANA, a, "2026-02-30", ANA, "Call"),
     "Due date: “2026-02-30” is not a date like 2026-11-24."),
    (lambda c, a: accounts.add_follow_up(c, ANA, a, "2026-12-01", "Nobody Here", "Call"),
     "Owner: there is no AE “NOBODY HERE” (no spot, plan or user has that sales person)."),
    (lambda c, a: accounts.assign(c, MGR, [a], "Nobody Here", "2026-11-01"),
     "AE: there is no AE “NOBODY HERE” (no spot, plan or user has that sales person)."),
    (lambda c, a: accounts.log_activity(c, ANA, a, "call", "2026-11-01", ""), "Text: say what it is; it cannot be empty."),
    (lambda c, a: accounts.log_activity(c, ANA, a, "lunch", "2026-11-01", "x"),
     "Kind: “lunch” is not one of call, email, meeting, note."),
    (lambda c, a: accounts.add_contact(c, " ", a, name="X"), "Say who makes the change (an email address)."),
    (lambda c, a: accounts.add_contact(c, ANA, Ref("customer", 99999), name="X"), "There is no customer 99999."),
    (lambda c, a: accounts.add_address(c, ANA, a, kind="billing"),
     "Address line 1: an address needs at least one line, a city or a postal code."),
]


@pytest.mark.parametrize("write, sentence", REFUSALS, ids=[s[:40] for _, s in REFUSALS])
def test_bad_input_is_one_sentence_naming_the_field_and_nothing_is_saved(loaded, write, sentence):
    _, conn = loaded
    before = digest(conn)
    with pytest.raises(AccountError) as refused:
        write(conn, mcd(conn))
    assert str(refused.value) == sentence
    assert digest(conn) == before


def test_a_stale_terms_form_and_a_second_assignment_not_after_the_first_are_refused(loaded):
    _, conn = loaded
    account = mcd(conn)
    drawn = accounts.terms(conn, account)["version"]
    accounts.set_terms(conn, BOB, account, edi_code="A1")
    before = digest(conn)
    with pytest.raises(AccountError, match=r"changed after the page was opened: Billing terms of .* changed by "
                                           r"bob@example.com at .*; nothing was changed"):
        accounts.set_terms(conn, ANA, account, expected_version=drawn, edi_code="B2")
    assert digest(conn) == before
    accounts.assign(conn, MGR, [account], "Alice Nguyen", "2026-11-01")
    before = digest(conn)
    with pytest.raises(AccountError, match="is assigned to ALICE NGUYEN from 2026-11-01, so a new assignment must"
                                           " start after that day"):
        accounts.assign(conn, MGR, [Ref("customer", cid(conn, "Phở Hòa")), account], "Brandon Wu", "2026-10-01")
    assert digest(conn) == before          # the first account of the two was not assigned either


def test_text_keeps_any_script_and_payloads_verbatim(loaded):
    _, conn = loaded
    for text in PAYLOADS:
        contact_id = accounts.add_contact(conn, ANA, mcd(conn), name=text, title=text, notes=text)
        stored = accounts.get_contact(conn, contact_id)
        assert (stored["name"], stored["title"], stored["notes"]) == (text, text, text)
        accounts.log_activity(conn, ANA, mcd(conn), "note", "2026-11-01", text)
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 6
    assert [a["text"] for a in account_page(conn, mcd(conn), TODAY)["activities"]] == PAYLOADS[::-1]


# Two people editing one contact ----------------------------------------------------------------

def test_concurrent_edit_of_one_contact_refuses_the_field_the_other_changed_and_saves_the_rest(loaded):
    _, conn = loaded
    contact_id = accounts.add_contact(conn, ANA, mcd(conn), name="Ana Lee", email="ana@admerasia.com",
                                      phone="213-555-0101", title="Buyer")
    drawn = {f: accounts.get_contact(conn, contact_id)[f] for f in ("email", "phone", "title")}   # both forms
    first = accounts.update_contact(conn, BOB, contact_id, {**drawn, "email": "ana.lee@admerasia.com"}, drawn)
    assert first.saved == ("email",) and not first.refused
    second = accounts.update_contact(conn, ANA, contact_id,
                                     {"email": "lee@admerasia.com", "phone": "213-555-0199", "title": "Buyer"}, drawn)
    assert second.saved == ("phone",)
    assert len(second.refused) == 1
    sentence = second.refused[0].sentence()
    assert sentence.startswith(f"Email of contact Ana Lee was changed to “ana.lee@admerasia.com” by {BOB} at ")
    assert sentence.endswith("; reload")
    assert second.sentence() == f"Saved phone; not saved: {sentence}."
    stored = accounts.get_contact(conn, contact_id)
    assert (stored["email"], stored["phone"], stored["title"]) == ("ana.lee@admerasia.com", "213-555-0199", "Buyer")
    # A save that sets what the other person set is no conflict.
    third = accounts.update_contact(conn, ANA, contact_id, {"email": "ana.lee@admerasia.com"}, drawn)
    assert third.saved == () and third.refused == ()


# Merges follow issue 9 -------------------------------------------------------------------------

def test_a_merged_customers_contacts_activities_and_follow_ups_show_on_the_survivor_and_go_back_on_undo(loaded):
    _, conn = loaded
    survivor, other = mcd(conn), Ref("customer", cid(conn, "McDonalds"))
    accounts.add_contact(conn, ANA, survivor, name="Ana Lee")
    theirs = accounts.add_contact(conn, ANA, other, name="Minh Tran", email="minh@mcd.com")
    accounts.log_activity(conn, ANA, other, "meeting", "2026-11-02", "Lunch with Minh", theirs)
    accounts.add_follow_up(conn, ANA, other, "2026-11-10", "Alice Nguyen", "Send proposal")
    accounts.add_address(conn, ANA, other, kind="mailing", city="Oak Brook")
    before = account_rows(conn)

    change_id = customers.merge(conn, MGR, survivor.id, [other.id])
    assert account_rows(conn) == before                                    # the merge moved no row
    page = account_page(conn, survivor, TODAY)
    assert [c["name"] for c in page["contacts"]] == ["Ana Lee", "Minh Tran"]
    assert [(a["text"], a["contact"]) for a in page["activities"]] == [("Lunch with Minh", "Minh Tran")]
    assert [(f["text"], f["overdue"]) for f in page["follow_ups"]] == [("Send proposal", True)]
    assert [a["city"] for a in page["addresses"]] == ["Oak Brook"]
    listed = {(r["type"], r["id"]): r for r in list_accounts(conn, TODAY)}
    assert ("customer", other.id) not in listed
    assert (listed[("customer", survivor.id)]["contacts"], listed[("customer", survivor.id)]["next_follow_up"]) == \
        (2, "2026-11-10")
    assert account_page(conn, other, TODAY)["merged_into"] == str(survivor)
    with pytest.raises(AccountError, match=r"^McDonalds \(#\d+\) was merged into Admerasia:McDonald's \(#\d+\); its"
                                           " account is that one now.$"):
        accounts.add_contact(conn, ANA, other, name="X")
    accounts.log_activity(conn, ANA, survivor, "call", "2026-11-03", "After the merge")

    changes.undo(conn, MGR, change_id)
    assert [c["name"] for c in account_page(conn, survivor, TODAY)["contacts"]] == ["Ana Lee"]
    page = account_page(conn, other, TODAY)
    assert page["merged_into"] is None
    assert [c["name"] for c in page["contacts"]] == ["Minh Tran"]
    assert [a["text"] for a in page["activities"]] == ["Lunch with Minh"]
    assert [f["text"] for f in page["follow_ups"]] == ["Send proposal"]
    assert [a["text"] for a in account_page(conn, survivor, TODAY)["activities"]] == ["After the merge"]


def test_a_merged_agencys_contacts_show_on_the_survivor_and_go_back_on_undo(loaded):
    _, conn = loaded
    admerasia, iw = Ref("agency", aid(conn, "Admerasia")), Ref("agency", aid(conn, "IW Group"))
    accounts.add_contact(conn, ANA, iw, name="Grace Liu", email="grace@iwgroup.com")
    change_id = agencies.merge(conn, MGR, admerasia.id, [iw.id])
    page = account_page(conn, admerasia, TODAY)
    assert [c["name"] for c in page["contacts"]] == ["Grace Liu"]
    assert "Kim's Market" in [a["name"] for a in page["advertisers"]]
    changes.undo(conn, MGR, change_id)
    assert account_page(conn, admerasia, TODAY)["contacts"] == []
    assert [c["name"] for c in account_page(conn, iw, TODAY)["contacts"]] == ["Grace Liu"]


def test_an_import_after_people_entered_accounts_data_leaves_every_row_as_it_was(loaded, built):
    path, conn = loaded
    account = mcd(conn)
    contact_id = accounts.add_contact(conn, ANA, account, name="Ana Lee", email="ana@admerasia.com")
    accounts.add_address(conn, ANA, account, kind="billing", line1="1 Main St")
    accounts.set_terms(conn, MGR, account, commission_pct="15")
    accounts.assign(conn, MGR, [account], "Alice Nguyen", "2026-01-01")
    accounts.log_activity(conn, ANA, account, "call", "2026-11-19", "Called", contact_id)
    accounts.add_follow_up(conn, ANA, account, "2026-12-01", ANA, "Send")
    accounts.save_filter(conn, ANA, "Mine", "ae=ALICE+NGUYEN")
    accounts.deactivate(conn, MGR, Ref("customer", cid(conn, "Wells Fargo")))
    before = account_rows(conn)
    assert all(before.values())
    batches = conn.execute("SELECT count(*) FROM import_batches WHERE status = 'COMPLETED'").fetchone()[0]
    reimport(path, built)
    assert conn.execute("SELECT count(*) FROM import_batches WHERE status = 'COMPLETED'").fetchone()[0] == batches + 1
    assert account_rows(conn) == before


# Who may do what -------------------------------------------------------------------------------

@pytest.mark.parametrize("role, user_ae, action, owner, allowed", [
    ("viewer", None, "read", "ALICE NGUYEN", True),
    ("viewer", None, "revenue", "ALICE NGUYEN", True),
    ("viewer", None, "activity", "ALICE NGUYEN", False),
    ("viewer", None, "edit", None, False),
    ("viewer", None, "manage", None, False),
    ("ae", "Alice Nguyen", "read", "BRANDON WU", True),
    ("ae", "Alice Nguyen", "activity", "BRANDON WU", True),
    ("ae", "Alice Nguyen", "activity", None, True),
    ("ae", "Alice Nguyen", "edit", "ALICE NGUYEN", True),
    ("ae", "Alice Nguyen", "edit", "BRANDON WU", False),
    ("ae", "Alice Nguyen", "edit", None, False),
    ("ae", "Alice Nguyen", "revenue", "ALICE NGUYEN", True),
    ("ae", "Alice Nguyen", "revenue", "BRANDON WU", False),
    ("ae", "Alice Nguyen", "manage", "ALICE NGUYEN", False),
    ("management", None, "manage", None, True),
    ("management", None, "edit", "BRANDON WU", True),
    ("admin", None, "manage", "ALICE NGUYEN", True),
    ("admin", None, "revenue", None, True),
])
def test_who_may_do_what(role, user_ae, action, owner, allowed):
    assert accounts.may(role, user_ae, action, owner) is allowed


def test_may_edit_asks_the_survivors_assignment_and_require_says_why_not(loaded):
    _, conn = loaded
    survivor, other = mcd(conn), Ref("customer", cid(conn, "McDonalds"))
    accounts.assign(conn, MGR, [survivor], "Alice Nguyen", "2026-01-01")
    assert accounts.may_edit(conn, "ae", "alice nguyen", survivor, today=TODAY)
    assert not accounts.may_edit(conn, "ae", "alice nguyen", other, today=TODAY)
    customers.merge(conn, MGR, survivor.id, [other.id])
    assert accounts.may_edit(conn, "ae", "alice nguyen", other, today=TODAY)
    with pytest.raises(AccountError) as refused:
        accounts.require(conn, "ae", "Brandon Wu", survivor, "edit", TODAY)
    assert str(refused.value) == ("As an AE (BRANDON WU) you may not edit the contacts, activities and follow-ups of "
                                  f"Admerasia:McDonald's (#{survivor.id}) that is not assigned to you.")
    with pytest.raises(AccountError, match=r"^As a viewer you may not log activities on "):
        accounts.require(conn, "viewer", None, survivor, "activity", TODAY)


def test_refs_are_read_from_text_and_bad_ones_are_sentences():
    assert accounts.ref("customer:12") == Ref("customer", 12) == accounts.ref(("customer", "12"))
    assert str(accounts.ref("Agency:3")) == "agency:3"
    with pytest.raises(AccountError, match="^“client” is not an account type"):
        accounts.ref("client:3")
    with pytest.raises(AccountError, match="^“x” is not a customer id"):
        accounts.ref("customer:x")
    assert json.dumps(str(Ref("agency", 1))) == '"agency:1"'
