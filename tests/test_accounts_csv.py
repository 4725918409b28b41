"""Accounts to and from CSV and XLSX (ctvdb/accounts_csv.py), the duplicate finder
(ctvdb/accounts_duplicates.py) and `ctvdb accounts` (ctvdb/accounts_cli.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import openpyxl
import pytest

from ctvdb import accounts, accounts_csv, accounts_duplicates, changes, cli, customers, db
from ctvdb.accounts import AccountError, Ref
from ctvdb.accounts_read import ListFilters, account_page
from account_book import ANA, MGR, TODAY, account_rows, aid, build, cid, digest, expected

PAYLOAD_NAMES = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
                 "<script>alert(1)</script>", "Robert'); DROP TABLE account_contacts;--"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("accounts-csv") / "base")


@pytest.fixture
def loaded(built, private_copy):
    path = private_copy(built)
    conn = db.connect(path)
    yield path, conn
    conn.close()


def enter(conn) -> None:
    """What people typed: contacts in several scripts and payloads, terms, AEs, a deactivation."""
    mcd, pho = Ref("customer", cid(conn, "Admerasia:McDonald's")), Ref("customer", cid(conn, "Phở Hòa"))
    agency = Ref("agency", aid(conn, "Admerasia"))
    accounts.add_contact(conn, ANA, mcd, name="Ana Lee", title="Buyer", role="decision_maker", email="ana@admerasia.com",
                         phone="+1 213 555 0101", notes="Line one\nline two, with a comma", is_primary=True)
    accounts.add_contact(conn, ANA, pho, name="Nguyễn Thị Lan", email="lan@phohoa.vn", phone="408-555-0102")
    accounts.add_contact(conn, ANA, agency, name="김민수", title="代表", role="billing", email="kim@admerasia.com")
    for n, name in enumerate(PAYLOAD_NAMES):
        accounts.add_contact(conn, ANA, pho, name=name, title=name, notes=name, phone=f"+1 206 555 01{n:02d}")
    accounts.set_terms(conn, MGR, mcd, po_required=True, edi_code="=EDI", commission_pct="15", invoice_notes="Net 30")
    accounts.set_terms(conn, MGR, agency, commission_pct="12.5", affidavit_required=True)
    accounts.assign(conn, MGR, [mcd, agency], "Brandon Wu", "2026-01-01")
    accounts.assign(conn, MGR, [pho], "Alice Nguyen", "2026-03-01")
    accounts.deactivate(conn, MGR, Ref("customer", cid(conn, "Wells Fargo")))


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# Export ----------------------------------------------------------------------------------------

def test_the_accounts_export_holds_the_lists_figures_and_terms(loaded):
    _, conn = loaded
    enter(conn)
    lines = csv_rows(accounts_csv.export_accounts(conn, TODAY, ListFilters(type="customer", inactive=True)))
    assert tuple(lines[0]) == accounts_csv.ACCOUNT_COLUMNS
    by_name = {line[2]: dict(zip(lines[0], line)) for line in lines[1:]}
    want = expected()
    assert set(by_name) == set(want)
    for code, figures in want.items():
        assert [by_name[code][c] for c in ("trailing_12", "this_year", "last_year")] == \
            [f"{figures[f]:.2f}" for f in ("trailing", "this_year", "last_year")]
    mcd = by_name["Admerasia:McDonald's"]
    assert (mcd["ae"], mcd["po_required"], mcd["edi_code"], mcd["commission_pct"], mcd["active"]) == \
        ("BRANDON WU", "yes", "'=EDI", "15", "yes")
    assert by_name["Wells Fargo"]["active"] == "no"


def test_formula_cells_are_neutralised_in_csv_and_xlsx_and_payloads_kept_verbatim(loaded):
    _, conn = loaded
    enter(conn)
    lines = csv_rows(accounts_csv.export_contacts(conn, TODAY))
    names = [line[3] for line in lines[1:]]
    for name in PAYLOAD_NAMES:
        assert (("'" + name) if name[0] in "=+-@" else name) in names
    assert "'+1 213 555 0101" in [line[7] for line in lines[1:]]
    book = openpyxl.load_workbook(io.BytesIO(accounts_csv.export_xlsx(conn, TODAY)))
    assert book.sheetnames == ["Accounts", "Contacts"]
    cells = [c for row in book["Contacts"].iter_rows(min_row=2) for c in row]
    for name in PAYLOAD_NAMES:
        cell = next(c for c in cells if c.value == name)          # the text itself, never a formula
        assert cell.data_type == "s"
        assert cell.quotePrefix is (name[0] in "=+-@")
    accounts_sheet = list(book["Accounts"].iter_rows(values_only=True))
    assert accounts_sheet[0] == accounts_csv.ACCOUNT_COLUMNS
    mcd = next(r for r in accounts_sheet if r[2] == "Admerasia:McDonald's")
    assert mcd[6] == expected()["Admerasia:McDonald's"]["trailing"]            # a number, not a text


def test_export_import_into_an_empty_database_and_export_again_gives_identical_files(loaded, tmp_path):
    _, conn = loaded
    enter(conn)
    first = (accounts_csv.export_accounts(conn, TODAY, ListFilters(inactive=True)),
             accounts_csv.export_contacts(conn, TODAY, ListFilters(inactive=True)))
    fresh = db.connect(build(tmp_path / "fresh"))
    try:
        assert account_rows(fresh) == {t: [] for t in account_rows(fresh)}
        accounts_csv.import_csv(fresh, MGR, first[0], TODAY)
        accounts_csv.import_csv(fresh, MGR, first[1], TODAY)
        again = (accounts_csv.export_accounts(fresh, TODAY, ListFilters(inactive=True)),
                 accounts_csv.export_contacts(fresh, TODAY, ListFilters(inactive=True)))
        assert again == first
        # Importing the same files again changes nothing and says so.
        result = accounts_csv.plan(fresh, first[1], TODAY)
        assert {line.action for line in result.lines} == {"unchanged"}
    finally:
        fresh.close()


# Import ------------------------------------------------------------------------------------------

def contacts_file(*lines: str, header: str = ",".join(accounts_csv.CONTACT_COLUMNS)) -> bytes:
    return ("\ufeff" + "\r\n".join((header,) + lines) + "\r\n").encode("utf-8")


def test_the_dry_run_says_line_by_line_what_would_be_created_updated_or_left(loaded):
    _, conn = loaded
    mcd = cid(conn, "Admerasia:McDonald's")
    accounts.add_contact(conn, ANA, Ref("customer", mcd), name="Ana Lee", email="ana@admerasia.com")
    before = digest(conn)
    data = contacts_file(f"customer,{mcd},Admerasia:McDonald's,ana lee,Director,,ana@admerasia.com,,,no",
                         f"customer,{mcd},Admerasia:McDonald's,Bo Park,,creative,bo@admerasia.com,,,yes")
    result = accounts_csv.plan(conn, data, TODAY)
    assert [(line.action, line.sentence) for line in result.lines] == [
        ("update", f"Line 2: contact ana lee of Admerasia:McDonald's (#{mcd}): name, title would change."),
        ("create", f"Line 3: contact Bo Park of Admerasia:McDonald's (#{mcd}) would be created.")]
    assert digest(conn) == before
    accounts_csv.import_csv(conn, MGR, data, TODAY)
    page = account_page(conn, Ref("customer", mcd), TODAY)
    assert [(c["name"], c["title"], c["is_primary"]) for c in page["contacts"]] == \
        [("Bo Park", "", 1), ("ana lee", "Director", 0)]
    assert [c.kind for c in changes.list_changes(conn, limit=2)] == ["add", "update"]


BAD_FILES = [
    ("missing", lambda m: contacts_file(f"customer,{m},x,Ana", header="account_type,account_id,account,name"),
     "Line 1: the columns are not those of an contacts export: missing title, role, email, phone, notes, primary"),
    ("extra", lambda m: contacts_file(f"customer,{m},,Ana,,,,,,no,1",
                                      header=",".join(accounts_csv.CONTACT_COLUMNS) + ",shoe_size"),
     "Line 1: the columns are not those of an contacts export: extra shoe_size"),
    ("no account", lambda m: contacts_file("customer,99999,,Ana,,,,,,no"),
     "Line 2, account id: there is no customer 99999."),
    ("wrong name", lambda m: contacts_file(f"customer,{m},Burger King,Ana,,,,,,no"),
     "Line 2, account: customer {m} is “Admerasia:McDonald's”, not “Burger King”."),
    ("duplicate", lambda m: contacts_file(f"customer,{m},,Ana Lee,,,,,,no", f"customer,{m},,ANA LEE,,,,,,no"),
     "Line 3, name: contact ANA LEE of Admerasia:McDonald's (#{m}) is on line 2 already."),
    ("email", lambda m: contacts_file(f"customer,{m},,Ana,,,ana.example.com,,,no"),
     "Line 2, email: “ana.example.com” is not an email address like ana@example.com."),
    ("phone", lambda m: contacts_file(f"customer,{m},,Ana,,,,call me,,no"),
     "Line 2, phone: “call me” has letters; a phone number is digits with spaces, +, -, ( ) and an extension like x12."),
    ("cells", lambda m: contacts_file(f"customer,{m},,Ana"), "Line 2 has 4 cells; the header has 10."),
]


@pytest.mark.parametrize("case, make, sentence", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_each_bad_contacts_csv_is_refused_with_its_sentence_and_nothing_is_saved(loaded, case, make, sentence):
    _, conn = loaded
    m = cid(conn, "Admerasia:McDonald's")
    sentence = sentence.format(m=m)
    good = f"customer,{m},,Good Contact,,,,,,no"
    data = make(m)
    if not sentence.startswith("Line 1"):
        data = data + contacts_file(good, header="")[len("\ufeff\r\n".encode()):]   # a good line after the bad
    before = digest(conn)
    if sentence.startswith("Line 1"):
        with pytest.raises(AccountError) as refused:
            accounts_csv.plan(conn, data, TODAY)
        assert str(refused.value).startswith(sentence)
    else:
        result = accounts_csv.plan(conn, data, TODAY)
        assert [line.sentence for line in result.refused] == [sentence]
        assert result.lines[-1].action == "create"
    with pytest.raises(AccountError) as refused:
        accounts_csv.import_csv(conn, MGR, data, TODAY)
    assert sentence.rstrip(".") in str(refused.value)
    assert digest(conn) == before


def accounts_file(conn, **changed) -> bytes:
    """The export of Admerasia:McDonald's with some cells changed."""
    lines = csv_rows(accounts_csv.export_accounts(conn, TODAY, ListFilters(q="mcdonald's")))
    row = next(dict(zip(lines[0], line)) for line in lines[1:] if line[2] == "Admerasia:McDonald's")
    row.update(changed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(lines[0])
    writer.writerow([row[c] for c in lines[0]])
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("changed, sentence", [
    ({"commission_pct": "101"}, "Line 2, commission %: 101 is outside 0–100."),
    ({"ae": "Nobody Here"}, "Line 2, AE: there is no AE “NOBODY HERE” (no spot, plan or user has that sales person)."),
    ({"po_required": "perhaps"}, "Line 2, PO required: “perhaps” is not yes or no."),
    ({"id": "99999"}, "Line 2, id: there is no customer 99999."),
])
def test_each_bad_accounts_csv_is_refused_with_its_sentence_and_nothing_is_saved(loaded, changed, sentence):
    _, conn = loaded
    data = accounts_file(conn, **changed)
    before = digest(conn)
    assert [line.sentence for line in accounts_csv.plan(conn, data, TODAY).refused] == [sentence]
    with pytest.raises(AccountError, match="^Nothing was imported: "):
        accounts_csv.import_csv(conn, MGR, data, TODAY)
    assert digest(conn) == before


def test_an_accounts_csv_sets_terms_the_ae_and_the_active_flag(loaded):
    _, conn = loaded
    mcd = Ref("customer", cid(conn, "Admerasia:McDonald's"))
    data = accounts_file(conn, ae="alice nguyen", commission_pct="20", edi_code="X-1", active="no",
                         trailing_12="1.00")          # a figure: the database's, not imported
    [line] = accounts_csv.plan(conn, data, TODAY).lines
    assert line.sentence == (f"Line 2: Admerasia:McDonald's (#{mcd.id}): edi code, commission %, AE ALICE NGUYEN from "
                             "2026-11-20, deactivated.")
    accounts_csv.import_csv(conn, MGR, data, TODAY)
    terms = accounts.terms(conn, mcd)
    assert (terms["edi_code"], terms["commission_pct"], terms["active"]) == ("X-1", 20.0, 0)
    assert accounts.assigned_ae(conn, mcd, TODAY) == "ALICE NGUYEN"


# Duplicates ------------------------------------------------------------------------------------

def test_duplicates_by_name_email_domain_and_phone_and_their_merge_undoes(loaded):
    _, conn = loaded
    mcd, mcds = cid(conn, "Admerasia:McDonald's"), cid(conn, "McDonalds")
    wells, bank = cid(conn, "Wells Fargo"), cid(conn, "Admerasia:Wells Fargo Bank")
    pho, kim = cid(conn, "Phở Hòa"), cid(conn, "IW Group:Kim's Market")
    accounts.add_contact(conn, ANA, Ref("customer", mcd), name="Ana", email="ana@mcd.com")
    accounts.add_contact(conn, ANA, Ref("customer", mcds), name="Bo", email="bo@MCD.com")
    accounts.add_contact(conn, ANA, Ref("customer", pho), name="Lan", email="lan@gmail.com", phone="(408) 555-0102")
    accounts.add_contact(conn, ANA, Ref("customer", kim), name="Kim", email="kim@gmail.com", phone="+1 408.555.0102")
    found = {(p.type, p.first, p.second): p.reasons for p in accounts_duplicates.pairs(conn)}
    assert found[("customer", min(mcd, mcds), max(mcd, mcds))] == \
        ("same name, different agency", "contacts with email at mcd.com")
    assert found[("customer", min(pho, kim), max(pho, kim))] == ("same phone (4085550102)",)   # gmail.com is no sign
    assert ("customer", min(wells, bank), max(wells, bank)) in found
    assert not any(kind == "agency" for kind, _, _ in found)

    change_id = accounts_duplicates.merge_pair(conn, MGR, "customer", mcd, mcds)
    assert [c["name"] for c in account_page(conn, Ref("customer", mcd), TODAY)["contacts"]] == ["Ana", "Bo"]
    assert ("customer", min(mcd, mcds), max(mcd, mcds)) not in \
        {(p.type, p.first, p.second) for p in accounts_duplicates.pairs(conn)}
    changes.undo(conn, MGR, change_id)
    assert customers.get(conn, mcds).merged_into is None
    assert [c["name"] for c in account_page(conn, Ref("customer", mcds), TODAY)["contacts"]] == ["Bo"]


# The command -----------------------------------------------------------------------------------

def ctvdb(*args):
    """The real command in a process of its own (once: it proves `accounts` is registered)."""
    return subprocess.run([sys.executable, "-m", "ctvdb", *map(str, args)], capture_output=True, text=True, timeout=60)


def run(capsys, *args) -> tuple[int, str, str]:
    """`ctvdb ARGS` in this process (the same main() the command runs): status, stdout, stderr."""
    status = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_the_command_lists_assigns_adds_a_contact_exports_and_imports(loaded, tmp_path, capsys):
    path, conn = loaded
    mcd = cid(conn, "Admerasia:McDonald's")
    conn.close()
    done = ctvdb("--db", path, "accounts", "assign", f"customer:{mcd}", "--ae", "alice nguyen", "--from", "2026-01-01",
                 "--by", MGR)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"Admerasia:McDonald's (#{mcd}) was assigned to ALICE NGUYEN from 2026-01-01.")
    status, out, _ = run(capsys, "--db", path, "accounts", "contacts", "add", f"customer:{mcd}", "--name", "Lê Văn Tám",
                         "--email", "tam@mcd.com", "--by", ANA)
    assert status == 0 and "Contact Lê Văn Tám was added" in out
    status, _, err = run(capsys, "--db", path, "accounts", "contacts", "add", f"customer:{mcd}", "--name", "X",
                         "--email", "nope", "--by", ANA)
    assert status == 1
    assert err.strip().splitlines()[-1] == "ctvdb: error: Email: “nope” is not an email address like ana@example.com."
    status, out, _ = run(capsys, "--db", path, "accounts", "list", "--json", "--ae", "Alice Nguyen", "--today", TODAY)
    assert [(r["id"], r["contacts"], r["trailing"]) for r in json.loads(out)] == \
        [(mcd, 1, expected()["Admerasia:McDonald's"]["trailing"])]
    export = tmp_path / "contacts.csv"
    assert run(capsys, "--db", path, "accounts", "export", export, "--contacts", "--today", TODAY)[0] == 0
    export.write_bytes(export.read_bytes().replace(b"tam@mcd.com", b"tam.le@mcd.com"))
    status, out, _ = run(capsys, "--db", path, "accounts", "import", export, "--dry-run", "--today", TODAY)
    assert status == 0
    assert f"update\tLine 2: contact Lê Văn Tám of Admerasia:McDonald's (#{mcd}): email would change." in out
    status, out, _ = run(capsys, "--db", path, "accounts", "import", export, "--by", MGR, "--today", TODAY)
    assert status == 0 and "0 to create, 1 to update" in out
    conn = db.connect(path)
    assert account_page(conn, Ref("customer", mcd), TODAY)["contacts"][0]["email"] == "tam.le@mcd.com"
    conn.close()
    status, out, _ = run(capsys, "--db", path, "accounts", "show", f"customer:{mcd}", "--today", TODAY)
    assert "AE ALICE NGUYEN from 2026-01-01 to now" in out and "Contact #" in out
    status, out, _ = run(capsys, "--db", path, "accounts", "follow-ups", "--ae", "alice nguyen", "--today", TODAY)
    assert status == 0 and out == ""
    status, out, _ = run(capsys, "--db", path, "accounts", "duplicates", "--json")
    assert status == 0 and any({p["first"], p["second"]} == {mcd, cid_of(path, "McDonalds")} for p in json.loads(out))


def cid_of(path, code: str) -> int:
    conn = db.connect_readonly(path)
    try:
        return cid(conn, code)
    finally:
        conn.close()
