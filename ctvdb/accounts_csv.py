"""Accounts to and from CSV (issue 15): the filtered list (accounts, and their contacts) out as CSV
(UTF-8 with a byte-order mark, so Excel reads Vietnamese, Korean and Chinese names) or XLSX; and
accounts or contacts in from a CSV of the same columns, first as a dry run that says line by line
what would be created, updated or refused and why, then all or nothing in one transaction.

What the export writes the import reads: an exported file imported into another database holding
the same customers and agencies makes the same file again. An account's figures (revenue, signals,
next follow-up, contacts) are the database's and are not imported; its AE, billing terms and active
flag are. A contact is matched on its account and its name (accent- and case-blind).

A text Excel would run as a formula (=, +, -, @, tab or CR first) is written with a leading
apostrophe, as ctvdb/web/downloads.py does for every report, and the import takes the apostrophe
off again, so what a person typed comes back as typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from ctvdb import accounts, changes, db, names
from ctvdb.accounts import AccountError, Ref
from ctvdb.accounts_read import ListFilters, list_accounts

ACCOUNT_COLUMNS = ("type", "id", "name", "agency", "sector", "ae", "trailing_12", "this_year", "last_year",
                   "signals", "next_follow_up", "contacts", "po_required", "edi_code", "commission_pct",
                   "affidavit_required", "invoice_notes", "active")
CONTACT_COLUMNS = ("account_type", "account_id", "account", "name", "title", "role", "email", "phone", "notes",
                   "primary")
_NUMBERS = {"id", "account_id", "trailing_12", "this_year", "last_year", "contacts", "commission_pct"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")     # as ctvdb/web/downloads.py


def _cell(value, column: str) -> str:
    if value is None:
        return ""
    if column in _NUMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int):
            return str(value)
        return f"{value:g}" if column == "commission_pct" else f"{value:.2f}"
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _yes(value) -> str:
    return "yes" if value else "no"


# Export ------------------------------------------------------------------------------------------

def account_records(conn, today: dt.date, filters: ListFilters = ListFilters(), revenue_of: str | None = None,
                    rows: list[dict] | None = None) -> list[dict]:
    """The filtered list as export rows ({column: value}), in the list's order; `revenue_of` as
    list_accounts (figures blank on the accounts of other AEs), `rows` the list if already read."""
    rows = list_accounts(conn, today, filters, revenue_of) if rows is None else rows
    terms = {(r["account_type"], r["account_id"]): dict(r) for r in conn.execute("SELECT * FROM accounts")}
    out = []
    for r in rows:
        t = terms.get((r["type"], r["id"])) or accounts.terms(conn, Ref(r["type"], r["id"]))
        name = f"{r['agency_chain']}:{r['name']}" if r["agency_chain"] else r["name"]
        out.append({"type": r["type"], "id": r["id"], "name": name, "agency": r["agency"], "sector": r["sector"],
                    "ae": r["ae"] or "", "trailing_12": r["trailing"], "this_year": r["this_year"],
                    "last_year": r["last_year"], "signals": r["signal_words"], "next_follow_up": r["next_follow_up"],
                    "contacts": r["contacts"], "po_required": _yes(t["po_required"]), "edi_code": t["edi_code"],
                    "commission_pct": t["commission_pct"], "affidavit_required": _yes(t["affidavit_required"]),
                    "invoice_notes": t["invoice_notes"], "active": _yes(r["active"])})
    return out


def contact_records(conn, today: dt.date, filters: ListFilters = ListFilters(), rows: list[dict] | None = None
                    ) -> list[dict]:
    """The contacts of the filtered list's accounts (merged-in ones on their survivor), in the
    list's order, then primary first and by name."""
    rows = list_accounts(conn, today, filters) if rows is None else rows
    out = []
    for r in rows:
        account = Ref(r["type"], r["id"])
        name = f"{r['agency_chain']}:{r['name']}" if r["agency_chain"] else r["name"]
        for c in conn.execute(
                "SELECT * FROM account_contacts WHERE account_type = ? AND removed_at IS NULL AND account_id IN"
                " (SELECT value FROM json_each(?)) ORDER BY is_primary DESC, name, id",
                (account.type, accounts._json(accounts.members(conn, account)))):
            out.append({"account_type": account.type, "account_id": account.id, "account": name, "name": c["name"],
                        "title": c["title"], "role": c["role"], "email": c["email"], "phone": c["phone"],
                        "notes": c["notes"], "primary": _yes(c["is_primary"])})
    return out


def to_csv(records: list[dict], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c), c) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def export_accounts(conn, today: dt.date, filters: ListFilters = ListFilters(), revenue_of: str | None = None,
                    rows: list[dict] | None = None) -> bytes:
    return to_csv(account_records(conn, today, filters, revenue_of, rows), ACCOUNT_COLUMNS)


def export_contacts(conn, today: dt.date, filters: ListFilters = ListFilters(), rows: list[dict] | None = None) -> bytes:
    return to_csv(contact_records(conn, today, filters, rows), CONTACT_COLUMNS)


def export_xlsx(conn, today: dt.date, filters: ListFilters = ListFilters(), revenue_of: str | None = None,
                rows: list[dict] | None = None) -> bytes:
    """Two sheets, Accounts and Contacts (each account's contacts), numbers as numbers, every
    text a text (never a formula), the header bold and frozen."""
    book = Workbook(write_only=True)
    rows = list_accounts(conn, today, filters, revenue_of) if rows is None else rows
    for title, columns, records in (("Accounts", ACCOUNT_COLUMNS, account_records(conn, today, filters, rows=rows)),
                                    ("Contacts", CONTACT_COLUMNS, contact_records(conn, today, filters, rows))):
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        sheet.append([_xlsx_cell(sheet, c, bold=True) for c in columns])
        for record in records:
            sheet.append([_xlsx_cell(sheet, record.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value, bold: bool = False):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"          # openpyxl would write a str starting with "=" as a formula
        cell.quotePrefix = value.startswith(_FORMULA_START)
    if bold:
        cell.font = Font(bold=True)
    return cell


# Import ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    number: int                   # the line of the file as a spreadsheet numbers it (header = 1)
    action: str                   # create | update | unchanged | refused
    sentence: str


@dataclass
class Plan:
    kind: str                     # accounts | contacts
    lines: list[Line] = field(default_factory=list)
    writes: list = field(default_factory=list)

    @property
    def refused(self) -> list[Line]:
        return [line for line in self.lines if line.action == "refused"]

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "unchanged": 0, "refused": 0}
        for line in self.lines:
            out[line.action] += 1
        return out

    def digest(self) -> str:
        """What the plan says, line by line, as a digest: the import's page shows a dry run and
        the import refuses to go on when the database has changed what it would do since."""
        return hashlib.sha256("\n".join(f"{line.number}\t{line.action}\t{line.sentence}"
                                         for line in self.lines).encode()).hexdigest()

    def sentence(self) -> str:
        c = self.counts()
        return (f"{c['create']} to create, {c['update']} to update, {c['unchanged']} unchanged, "
                f"{c['refused']} refused")


def _text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AccountError(f"The file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8.") from None
    return data.lstrip("\ufeff")


def _typed(value: str) -> str:
    """A cell as typed: the apostrophe the export put before a formula-like text taken off."""
    value = value or ""
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def plan(conn, data: bytes | str, today: dt.date) -> Plan:
    """The dry run: what importing this CSV would do, line by line; the database is not changed."""
    records = list(csv.reader(io.StringIO(_text(data))))
    if not records or not any(cell.strip() for cell in records[0]):
        raise AccountError("Line 1: the file is empty; it needs the header line of an accounts or contacts export.")
    header = tuple(cell.strip().lower() for cell in records[0])
    kind, columns = ("contacts", CONTACT_COLUMNS) if "account_id" in header or "account_type" in header \
        else ("accounts", ACCOUNT_COLUMNS)
    missing = [c for c in columns if c not in header]
    extra = [c for c in header if c not in columns]
    if missing or extra or len(set(header)) != len(header):
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
            ([f"extra {', '.join(e or '(blank)' for e in extra)}"] if extra else []) + \
            (["a column named twice"] if len(set(header)) != len(header) else [])
        raise AccountError(f"Line 1: the columns are not those of an {kind} export: {'; '.join(parts)} "
                           f"(expected {', '.join(columns)}).")
    result = Plan(kind)
    aes = accounts.known_aes(conn)
    seen: dict[tuple, int] = {}
    for number, cells in enumerate(records[1:], 2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            result.lines.append(Line(number, "refused", f"Line {number} has {len(cells)} cells; the header has "
                                                        f"{len(header)}."))
            continue
        row = {h: _typed(v) for h, v in zip(header, cells)}
        try:
            step = (_account_line if kind == "accounts" else _contact_line)(conn, row, number, today, aes, seen)
        except AccountError as exc:
            result.lines.append(Line(number, "refused", f"Line {number}, {_continued(str(exc))}"))
            continue
        action, sentence, write = step
        result.lines.append(Line(number, action, f"Line {number}: {sentence}"))
        if write is not None:
            result.writes.append(write)
    return result


def import_csv(conn, actor: str, data: bytes | str, today: dt.date, expected: str | None = None) -> Plan:
    """Import the CSV in one transaction with a change-log row per thing written, or, if any line
    is refused, nothing (AccountError holding every refusal, one line each). `expected`: the
    digest of the dry run a person confirmed; if the plan is not that one now, nothing is imported."""
    actor = changes.actor(actor, AccountError)
    with db.write_transaction(conn):
        result = plan(conn, data, today)
        if expected is not None and result.digest() != expected:
            raise AccountError("The accounts changed since the dry run, so this import would not do what it showed;"
                               " nothing was imported: upload the file again for a new dry run.")
        if result.refused:
            raise AccountError("Nothing was imported: " + " ".join(line.sentence.rstrip(".") + "."
                                                                   for line in result.refused))
        for write in result.writes:
            write(actor)
        return result


def _continued(sentence: str) -> str:
    """A sentence as the rest of another: "Email: …" -> "email: …" (an "AE: …" stays as it is)."""
    return sentence[:1].lower() + sentence[1:] if sentence[1:2].islower() else sentence


def _account(conn, kind: str, number: str, where: str) -> Ref:
    try:
        account = accounts.ref(kind, number)
    except AccountError as exc:
        raise AccountError(f"{where}: {_continued(str(exc))}") from None
    entity = accounts._entity(conn, account)
    if entity is None:
        raise AccountError(f"{where}: there is no {account.type} {account.id}.")
    if entity.merged_into is not None:
        raise AccountError(f"{where}: {entity.label} was merged into {accounts.label(conn, accounts.survivor(conn, account))};"
                           " name that account instead.")
    return account


def _full_name(conn, account: Ref) -> str:
    entity = accounts._entity(conn, account)
    chain = getattr(entity, "agency_chain", "")
    return f"{chain}:{entity.name}" if chain else entity.name


def _same_name(conn, account: Ref, given: str, column: str) -> None:
    name = _full_name(conn, account)
    if given.strip() and names.fold(given) != names.fold(name):
        raise AccountError(f"{column}: {account.type} {account.id} is “{name}”, not “{given.strip()}”.")


def _account_line(conn, row: dict, number: int, today: dt.date, aes: set[str], seen: dict):
    account = _account(conn, row["type"], row["id"], "Id")
    _same_name(conn, account, row["name"], "Name")
    if account in seen:
        raise AccountError(f"Id: {accounts.label(conn, account)} is on line {seen[account]} already.")
    seen[account] = number
    fields = accounts.terms_values({f: row[f] for f in accounts.TERMS})
    active = accounts.flag(row["active"], "active") if row["active"].strip() else 1
    key = accounts.ae(conn, row["ae"], aes) if row["ae"].strip() else None
    current = accounts.terms(conn, account)
    changed = [accounts.FIELD_WORDS[f].lower() for f, v in fields.items() if current[f] != v]
    now_ae = accounts.assigned_ae(conn, account, today)
    if key and key != now_ae:
        open_ = conn.execute("SELECT effective_from FROM account_assignments WHERE account_type = ? AND account_id = ?"
                             " AND effective_to IS NULL", (account.type, account.id)).fetchone()
        if open_ and open_[0] >= today.isoformat():
            raise AccountError(f"AE: {accounts.label(conn, account)} is assigned to another AE from {open_[0]}, so "
                               f"{key} cannot take it over today.")
        changed.append(f"AE {key} from {today.isoformat()}")
    if bool(active) != bool(current["active"]):
        changed.append("reactivated" if active else "deactivated")
    if not changed:
        return "unchanged", f"{accounts.label(conn, account)} unchanged.", None

    def write(actor):
        accounts.write_terms(conn, actor, account, fields)
        if key and key != now_ae:
            accounts.write_assignment(conn, actor, account, key, today.isoformat())
        if bool(active) != bool(accounts.terms(conn, account)["active"]):
            now = changes.utc_now()
            accounts.write_terms(conn, actor, account, {"active": active, "deactivated_at": None if active else now,
                                                        "deactivated_by": None if active else actor},
                                 kind="reactivate" if active else "deactivate")
    return "update", f"{accounts.label(conn, account)}: {', '.join(changed)}.", write


def _contact_line(conn, row: dict, number: int, today: dt.date, aes: set[str], seen: dict):
    account = _account(conn, row["account_type"], row["account_id"], "Account id")
    _same_name(conn, account, row["account"], "Account")
    fields = accounts.contact_values({"name": row["name"], "title": row["title"], "role": row["role"],
                                      "email": row["email"], "phone": row["phone"], "notes": row["notes"],
                                      "is_primary": row["primary"]})
    key = (account, names.fold(fields["name"]))
    if key in seen:
        raise AccountError(f"Name: contact {fields['name']} of {accounts.label(conn, account)} is on line "
                           f"{seen[key]} already.")
    seen[key] = number
    existing = next((dict(c) for c in conn.execute(
        "SELECT * FROM account_contacts WHERE account_type = ? AND removed_at IS NULL AND account_id IN"
        " (SELECT value FROM json_each(?)) ORDER BY id", (account.type, accounts._json(accounts.members(conn, account))))
        if names.fold(c["name"]) == key[1]), None)
    where = accounts.label(conn, account)
    if existing is None:
        return "create", f"contact {fields['name']} of {where} would be created.", \
            lambda actor: accounts.insert_contact(conn, actor, account, fields)
    writes = {f: v for f, v in fields.items() if existing[f] != v}
    if not writes:
        return "unchanged", f"contact {fields['name']} of {where} unchanged.", None
    words = ", ".join(accounts.FIELD_WORDS[f].lower() for f in writes)

    def write(actor):
        # Read again: an earlier line of this import may have made another contact primary.
        accounts.write_contact(conn, actor, accounts.get_contact(conn, existing["id"]), writes)
    return "update", f"contact {fields['name']} of {where}: {words} would change.", write
