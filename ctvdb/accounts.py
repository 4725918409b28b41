"""Accounts (issue 15): the address book of the workbench's customers and agencies — contacts,
addresses, billing terms, the AE who owns each account and since when, activities, follow-ups and
saved filters — as people write it. The web views and `ctvdb accounts` call these functions.

An account is a customer or an agency of issue 9, with the same id (`Ref("customer", 12)`). Its
rows stay on the id they were entered on and are read over every id merged into it, so a merge
and its undo (customers.merge, agencies.merge, changes.undo) move nothing and lose nothing. A
write on an account merged away is refused: its account is the survivor's now.

Each write is one transaction with its change-log row (changes.record; object types
customer_account / agency_account, contact, address, activity, follow_up, saved_filter; before ->
after). Bad input is one sentence naming the field and nothing is saved. Two people editing one
contact: the save carries the values its form was drawn with; a field someone else changed since is
refused by name, saying who changed it and when, and the other fields are saved (planning's
stale-cell rule). Who may do what is `may` / `require`, the one place the pages and the command ask.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass

from ctvdb import agencies, changes, customers, db, planning
from ctvdb.changes import ChangeError

TYPES = ("customer", "agency")
CONTACT_ROLES = ("decision_maker", "billing", "creative", "other")
ROLE_WORDS = {"decision_maker": "decision maker", "billing": "billing", "creative": "creative", "other": "other"}
ADDRESS_KINDS = ("billing", "mailing")
ACTIVITY_KINDS = ("call", "email", "meeting", "note")
CONTACT_FIELDS = ("name", "title", "role", "email", "phone", "notes", "is_primary")
ADDRESS_FIELDS = ("kind", "line1", "line2", "city", "region", "postal_code", "country")
FIELD_WORDS = {"name": "Name", "title": "Title", "role": "Role", "email": "Email", "phone": "Phone",
               "notes": "Notes", "is_primary": "Primary", "kind": "Kind", "line1": "Address line 1",
               "line2": "Address line 2", "city": "City", "region": "Region", "postal_code": "Postal code",
               "country": "Country", "po_required": "PO required", "edi_code": "EDI code",
               "commission_pct": "Commission %", "affidavit_required": "Affidavit required",
               "invoice_notes": "Invoice notes", "ae": "AE", "effective_from": "Effective from",
               "happened_on": "Date", "text": "Text", "due_on": "Due date", "owner": "Owner",
               "contact_id": "Contact", "query": "Query"}
TERMS = ("po_required", "edi_code", "commission_pct", "affidavit_required", "invoice_notes")
LONG_TEXT = 5000                    # notes, activity texts, invoice notes
SHORT_TEXT = 300                    # names, titles, address lines
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}")
_PHONE = re.compile(r"\+?[\d\s().\-/]+?(\s*(x|ext\.?)\s*\d{1,6})?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\t]")


class AccountError(ChangeError):
    """A refused write to an account: one sentence for a person; nothing was saved."""


@dataclass(frozen=True)
class Ref:
    """Which account: ('customer', 12) or ('agency', 3)."""

    type: str
    id: int

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


def ref(value, account_id=None) -> Ref:
    """A Ref from a Ref, ('customer', 12), ('customer', '12') or the text 'customer:12' / 'agency:3'."""
    if isinstance(value, Ref):
        return value
    if account_id is None:
        if isinstance(value, (tuple, list)) and len(value) == 2:
            value, account_id = value
        else:
            kind, _, number = str(value or "").strip().partition(":")
            value, account_id = kind, number
    kind = str(value or "").strip().lower()
    if kind not in TYPES:
        raise AccountError(f"“{value}” is not an account type (customer or agency).")
    try:
        return Ref(kind, int(str(account_id).strip()))
    except ValueError:
        raise AccountError(f"“{account_id}” is not a {kind} id (a number).") from None


# Names, merges and permissions -------------------------------------------------------------------

def _entity(conn, account: Ref):
    return customers.get(conn, account.id) if account.type == "customer" else agencies.get(conn, account.id)


def label(conn, account: Ref) -> str:
    entity = _entity(conn, account)
    return entity.label if entity else f"{account.type} {account.id}"


def survivor(conn, account) -> Ref:
    """The account whose page shows this one: itself, or what it was merged into (through a chain)."""
    account = ref(account)
    table = "customers" if account.type == "customer" else "agencies"
    seen, current = set(), account.id
    while current not in seen:
        seen.add(current)
        row = conn.execute(f"SELECT merged_into FROM {table} WHERE id = ?", (current,)).fetchone()
        if row is None or row[0] is None:
            break
        current = row[0]
    return Ref(account.type, current)


def members(conn, account) -> list[int]:
    """The ids whose rows an account shows: its own and every id merged into it, at any depth."""
    account = ref(account)
    table = "customers" if account.type == "customer" else "agencies"
    return [r[0] for r in conn.execute(
        f"WITH RECURSIVE m(id) AS (SELECT ? UNION SELECT t.id FROM {table} t JOIN m ON t.merged_into = m.id)"
        " SELECT id FROM m ORDER BY id", (account.id,))]


def _writable(conn, account) -> Ref:
    """The account, refused when there is no such customer or agency or it was merged away."""
    account = ref(account)
    entity = _entity(conn, account)
    if entity is None:
        raise AccountError(f"There is no {account.type} {account.id}.")
    if entity.merged_into is not None:
        into = survivor(conn, account)
        raise AccountError(f"{entity.label} was merged into {label(conn, into)}; its account is that one now.")
    return account


def assigned_ae(conn, account, today: dt.date | None = None) -> str | None:
    """The AE who owns the account on `today` (its survivor's assignment), or None."""
    account = survivor(conn, account)
    day = (today or dt.date.today()).isoformat()
    row = conn.execute(
        "SELECT ae FROM account_assignments WHERE account_type = ? AND account_id = ? AND effective_from <= ?"
        " AND (effective_to IS NULL OR effective_to >= ?) ORDER BY effective_from DESC, id DESC LIMIT 1",
        (account.type, account.id, day, day)).fetchone()
    return row[0] if row else None


# What each role may do (issue 15, "Who may do what"):
#   read      every role: every account's name and contacts (the team shares the book)
#   activity  log an activity: ae on any account, management and admin
#   edit      contacts, addresses, activities and follow-ups: an ae on the accounts assigned to
#             them, management and admin on all
#   revenue   see an account's figures: an ae on their own accounts; the other roles on all
#   manage    assignment, billing terms, deactivation, CSV import, merge: management and admin
ACTIONS = ("read", "activity", "edit", "revenue", "manage")
_ACTION_WORDS = {"activity": "log activities on", "edit": "edit the contacts, activities and follow-ups of",
                 "revenue": "see the revenue of", "manage": "assign, set billing terms of, import or merge"}


def may(role: str, user_ae: str | None, action: str, account_ae: str | None) -> bool:
    """Whether a user (role, their AE key) may do `action` on an account owned by `account_ae`."""
    if action not in ACTIONS:
        raise ValueError(f"no such account action {action!r}")
    if role in ("admin", "management"):
        return True
    if action == "read":
        return role in ("ae", "viewer")
    if role == "viewer":
        return action == "revenue"
    if role == "ae":
        if action == "activity":
            return True
        if action in ("edit", "revenue"):
            return bool(user_ae) and account_ae == planning.ae_key(user_ae)
    return False


def may_edit(conn, role: str, user_ae: str | None, account, action: str = "edit",
             today: dt.date | None = None) -> bool:
    """`may` for one account, its owner looked up (the survivor's assignment on `today`)."""
    return may(role, user_ae, action, assigned_ae(conn, account, today))


def require(conn, role: str, user_ae: str | None, account, action: str, today: dt.date | None = None) -> None:
    """`may_edit`, or one sentence saying what this user may not do."""
    if not may_edit(conn, role, user_ae, account, action, today):
        who = f"an AE ({planning.ae_key(user_ae)})" if role == "ae" else f"a {role}"
        extra = " that is not assigned to you" if role == "ae" and action in ("edit", "revenue") else ""
        raise AccountError(f"As {who} you may not {_ACTION_WORDS.get(action, action)} {label(conn, ref(account))}"
                           f"{extra}.")


# Checking what people type -------------------------------------------------------------------

def text(value, field: str, longest: int = SHORT_TEXT, *, required: bool = False, lines: bool = False) -> str:
    """A text as typed (any script kept), trimmed; one line unless `lines`. One sentence if bad."""
    value = "" if value is None else str(value)
    value = value.replace("\r\n", "\n").strip() if lines else " ".join(value.split())
    words = FIELD_WORDS.get(field, field)
    if required and not value:
        raise AccountError(f"{words}: say what it is; it cannot be empty.")
    if _CONTROL.search(value) or (not lines and _LINE_BREAK.search(value)):
        raise AccountError(f"{words}: it holds a control character; type it again without one.")
    if len(value) > longest:
        raise AccountError(f"{words}: {len(value):,} characters is too long (at most {longest:,}).")
    return value


def email(value, field: str = "email") -> str:
    value = text(value, field)
    if value and not _EMAIL.fullmatch(value):
        raise AccountError(f"{FIELD_WORDS[field]}: “{value[:60]}” is not an email address like ana@example.com.")
    return value


def phone(value, field: str = "phone") -> str:
    value = text(value, field, 40)
    if not value:
        return value
    if not _PHONE.fullmatch(value):
        what = "has letters" if re.search(r"[^\W\d_]", value) else "has characters a phone number does not"
        raise AccountError(f"{FIELD_WORDS[field]}: “{value}” {what}; a phone number is digits with spaces, +, -,"
                           " ( ) and an extension like x12.")
    digits = re.sub(r"(?i)\s*(x|ext\.?)\s*\d+$", "", value)
    if len(re.sub(r"\D", "", digits)) < 7:
        raise AccountError(f"{FIELD_WORDS[field]}: “{value}” has too few digits for a phone number.")
    return value


def commission(value) -> float | None:
    """'15', '15%', '12.5 %' -> the percentage; blank -> None (not set)."""
    raw = "" if value is None else str(value).strip()
    if not raw:
        return None
    try:
        number = float(raw.rstrip("%").strip().replace(",", "."))
    except ValueError:
        raise AccountError(f"Commission %: “{raw[:30]}” is not a percentage like 15 or 12.5.") from None
    if not 0 <= number <= 100:
        raise AccountError(f"Commission %: {raw} is outside 0–100.")
    return round(number, 4)


def day(value, field: str) -> str:
    """A date as YYYY-MM-DD (a date object or that text); one sentence naming the field if not."""
    if isinstance(value, dt.date):
        return value.isoformat()
    raw = "" if value is None else str(value).strip()
    words = FIELD_WORDS.get(field, field)
    if not raw:
        raise AccountError(f"{words}: give a date like 2026-11-24.")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise AccountError(f"{words}: “{raw[:30]}” is not a date like 2026-11-24.")


def flag(value, field: str) -> int:
    raw = str(value if value is not None else "").strip().lower()
    if raw in ("1", "true", "yes", "y", "on"):
        return 1
    if raw in ("0", "false", "no", "n", "off", ""):
        return 0
    raise AccountError(f"{FIELD_WORDS[field]}: “{raw[:20]}” is not yes or no.")


def choice(value, field: str, allowed: tuple[str, ...]) -> str:
    raw = str(value or "").strip().lower().replace(" ", "_")
    if raw not in allowed:
        raise AccountError(f"{FIELD_WORDS[field]}: “{value}” is not one of "
                           f"{', '.join(ROLE_WORDS.get(a, a) for a in allowed)}.")
    return raw


def known_aes(conn) -> set[str]:
    """The AEs an account may be assigned to: every AE of the spots, budgets and forecasts, and
    every user's AE in the sign-in database beside this one."""
    found = planning.known_aes(conn)
    path = db.main_file(conn)
    if str(path) and db.auth_path(path).exists():
        auth = sqlite3.connect(f"{db.auth_path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            found |= {r[0] for r in auth.execute("SELECT DISTINCT ae FROM users WHERE ae IS NOT NULL AND ae <> ''")}
        finally:
            auth.close()
    return found


def ae(conn, value, aes: set[str] | None = None, field: str = "ae") -> str:
    key = planning.ae_key(value)
    if not key:
        raise AccountError(f"{FIELD_WORDS[field]}: name the AE.")
    if key not in (known_aes(conn) if aes is None else aes):
        raise AccountError(f"{FIELD_WORDS[field]}: there is no AE “{key}” (no spot, plan or user has that sales person).")
    return key


def owner(conn, value, aes: set[str] | None = None) -> str:
    """A follow-up's owner: a user's email (lower-cased) or a known AE."""
    raw = " ".join(str(value or "").split())
    if "@" in raw:
        return email(raw, "owner").lower()
    return ae(conn, raw, aes, "owner")


# Contacts ----------------------------------------------------------------------------------------

def contact_values(values: dict, partial: bool = False) -> dict:
    """The contact fields of `values`, checked; `partial`: only those given."""
    checks = {"name": lambda v: text(v, "name", required=True), "title": lambda v: text(v, "title"),
              "role": lambda v: choice(v or "other", "role", CONTACT_ROLES), "email": email, "phone": phone,
              "notes": lambda v: text(v, "notes", LONG_TEXT, lines=True), "is_primary": lambda v: flag(v, "is_primary")}
    unknown = set(values) - set(checks)
    if unknown:
        raise ValueError(f"no such contact fields {sorted(unknown)}")
    fields = values if partial else {f: values.get(f) for f in CONTACT_FIELDS}
    return {f: checks[f](v) for f, v in fields.items()}


def get_contact(conn, contact_id) -> dict | None:
    row = conn.execute("SELECT * FROM account_contacts WHERE id = ?", (contact_id,)).fetchone()
    return dict(row) if row else None


def add_contact(conn, actor: str, account, **values) -> int:
    """A new contact on an account; its id."""
    actor = _actor(actor)
    fields = contact_values(values)
    with db.write_transaction(conn):
        return insert_contact(conn, actor, _writable(conn, account), fields)


def insert_contact(conn, actor: str, account: Ref, fields: dict) -> int:
    """add_contact inside the caller's transaction, `fields` checked (the CSV import)."""
    now = changes.utc_now()
    contact_id = conn.execute(
        "INSERT INTO account_contacts (account_type, account_id, name, title, role, email, phone, notes, is_primary,"
        " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (account.type, account.id, fields["name"], fields["title"], fields["role"], fields["email"], fields["phone"],
         fields["notes"], fields["is_primary"], now, actor)).lastrowid
    if fields["is_primary"]:
        _only_primary(conn, actor, account, contact_id)
    changes.record(conn, actor, "add", contact_id, {}, {**fields, "account": str(account)},
                   f"Contact {fields['name']} was added to {label(conn, account)}", object_type="contact")
    return contact_id


@dataclass(frozen=True)
class Refused:
    """A field another person changed since the form was drawn."""

    contact: str
    field: str
    value: object
    changed_by: str | None
    changed_at: str | None

    def sentence(self) -> str:
        now = f"changed to “{self.value}”" if self.value not in ("", None) else "cleared"
        if self.field == "is_primary":
            now = "made primary" if self.value else "made not primary"
        who = f" by {self.changed_by} at {changes.when(self.changed_at)}" if self.changed_by else ""
        return f"{FIELD_WORDS[self.field]} of contact {self.contact} was {now}{who}; reload"


@dataclass(frozen=True)
class Outcome:
    saved: tuple[str, ...]            # the fields written
    refused: tuple[Refused, ...]
    change_id: int | None

    def sentence(self) -> str:
        done = (f"Saved {', '.join(FIELD_WORDS[f].lower() for f in self.saved)}" if self.saved
                else "Nothing was changed")
        if not self.refused:
            return done + "."
        return f"{done}; not saved: " + "; ".join(r.sentence() for r in self.refused) + "."


def update_contact(conn, actor: str, contact_id: int, values: dict, drawn: dict | None = None) -> Outcome:
    """Save the fields of `values`. `drawn` holds the values the form was loaded with: a field
    whose stored value differs from it was changed by someone else since, and is refused by name
    (unless this save sets what is stored already); the other fields are saved. Without `drawn`
    (a command, an import) every field given is saved."""
    actor = _actor(actor)
    fields = contact_values(values, partial=True)
    drawn = contact_values({f: drawn[f] for f in fields if f in drawn}, partial=True) if drawn else None
    with db.write_transaction(conn):
        contact = _live_contact(conn, contact_id)
        writes, refused = {}, []
        for field, value in fields.items():
            stored = contact[field]
            if value == stored:
                continue
            if drawn is not None and field in drawn and drawn[field] != stored:
                last = _last_set(conn, contact["id"], field)
                refused.append(Refused(contact["name"], field, stored, last and last.actor, last and last.changed_at))
                continue
            writes[field] = value
        change_id = write_contact(conn, actor, contact, writes) if writes else None
        return Outcome(tuple(writes), tuple(refused), change_id)


def write_contact(conn, actor: str, contact: dict, writes: dict) -> int:
    """Set a contact's fields (checked) inside the caller's transaction, with its change row."""
    conn.execute(f"UPDATE account_contacts SET {', '.join(f'{f} = ?' for f in writes)}, version = version + 1"
                 " WHERE id = ?", (*writes.values(), contact["id"]))
    if writes.get("is_primary"):
        _only_primary(conn, actor, Ref(contact["account_type"], contact["account_id"]), contact["id"])
    words = ", ".join(FIELD_WORDS[f].lower() for f in writes)
    return changes.record(conn, actor, "update", contact["id"], {f: contact[f] for f in writes}, writes,
                          f"Contact {contact['name']}: {words} changed", object_type="contact")


def remove_contact(conn, actor: str, contact_id: int, expected_version: int | None = None) -> int:
    """Take a contact off its account's page; kept (the activities with it still name it)."""
    actor = _actor(actor)
    with db.write_transaction(conn):
        contact = _live_contact(conn, contact_id, expected_version)
        now = changes.utc_now()
        conn.execute("UPDATE account_contacts SET removed_at = ?, removed_by = ?, is_primary = 0,"
                     " version = version + 1 WHERE id = ?", (now, actor, contact["id"]))
        return changes.record(conn, actor, "remove", contact["id"], {"removed_at": None},
                              {"removed_at": now}, f"Contact {contact['name']} was removed", object_type="contact")


def _only_primary(conn, actor: str, account: Ref, contact_id: int) -> None:
    """One primary contact per account (over the ids merged into it): the others stop being it,
    each with its change row, so a form drawn before says who made another one primary."""
    chosen = get_contact(conn, contact_id)
    for other in conn.execute(
            "SELECT id, name FROM account_contacts WHERE account_type = ? AND account_id IN"
            " (SELECT value FROM json_each(?)) AND id <> ? AND is_primary = 1",
            (account.type, _json(members(conn, survivor(conn, account))), contact_id)).fetchall():
        conn.execute("UPDATE account_contacts SET is_primary = 0, version = version + 1 WHERE id = ?", (other["id"],))
        changes.record(conn, actor, "update", other["id"],
                       {"is_primary": 1}, {"is_primary": 0},
                       f"Contact {other['name']} is no longer primary ({chosen['name']} is)", object_type="contact")


def _live_contact(conn, contact_id, expected_version: int | None = None) -> dict:
    contact = get_contact(conn, _int(contact_id, "contact"))
    if contact is None:
        raise AccountError(f"There is no contact {contact_id}.")
    if contact["removed_at"]:
        raise AccountError(f"Contact {contact['name']} was removed by {contact['removed_by']} "
                           f"at {changes.when(contact['removed_at'])}.")
    changes.check_version(conn, f"Contact {contact['name']}", contact["id"], contact["version"], expected_version,
                          "contact", AccountError)
    return contact


def _last_set(conn, contact_id: int, field: str) -> changes.Change | None:
    """The newest change that set `field` of a contact (who changed it, and when)."""
    for change in changes.list_changes(conn, contact_id, object_type="contact", limit=100):
        if field in change.after:
            return change
    return None


# Addresses -------------------------------------------------------------------------------------

def address_values(values: dict, partial: bool = False) -> dict:
    unknown = set(values) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValueError(f"no such address fields {sorted(unknown)}")
    fields = values if partial else {f: values.get(f) for f in ADDRESS_FIELDS}
    return {f: choice(v or "billing", "kind", ADDRESS_KINDS) if f == "kind" else text(v, f)
            for f, v in fields.items()}


def add_address(conn, actor: str, account, **values) -> int:
    actor = _actor(actor)
    fields = address_values(values)
    if not any(fields[f] for f in ADDRESS_FIELDS if f != "kind"):
        raise AccountError("Address line 1: an address needs at least one line, a city or a postal code.")
    with db.write_transaction(conn):
        account = _writable(conn, account)
        address_id = conn.execute(
            f"INSERT INTO account_addresses (account_type, account_id, {', '.join(ADDRESS_FIELDS)})"
            f" VALUES (?, ?, {', '.join('?' for _ in ADDRESS_FIELDS)})",
            (account.type, account.id, *fields.values())).lastrowid
        changes.record(conn, actor, "add", address_id, {}, {**fields, "account": str(account)},
                       f"A {fields['kind']} address was added to {label(conn, account)}", object_type="address")
        return address_id


def update_address(conn, actor: str, address_id: int, values: dict, expected_version: int | None = None) -> int | None:
    """Change an address's fields; a stale form (the version it was drawn from) is refused. The change id."""
    actor = _actor(actor)
    fields = address_values(values, partial=True)
    with db.write_transaction(conn):
        address = _live_address(conn, address_id, expected_version)
        writes = {f: v for f, v in fields.items() if address[f] != v}
        if not writes:
            return None
        conn.execute(f"UPDATE account_addresses SET {', '.join(f'{f} = ?' for f in writes)}, version = version + 1"
                     " WHERE id = ?", (*writes.values(), address["id"]))
        return changes.record(conn, actor, "update", address["id"], {f: address[f] for f in writes}, writes,
                              f"Address {address['id']}: {', '.join(FIELD_WORDS[f].lower() for f in writes)} changed",
                              object_type="address")


def remove_address(conn, actor: str, address_id: int, expected_version: int | None = None) -> int:
    actor = _actor(actor)
    with db.write_transaction(conn):
        address = _live_address(conn, address_id, expected_version)
        now = changes.utc_now()
        conn.execute("UPDATE account_addresses SET removed_at = ?, removed_by = ?, version = version + 1 WHERE id = ?",
                     (now, actor, address["id"]))
        return changes.record(conn, actor, "remove", address["id"], {"removed_at": None}, {"removed_at": now},
                              f"The {address['kind']} address {address['line1'] or address['city']} was removed",
                              object_type="address")


def _live_address(conn, address_id, expected_version: int | None) -> dict:
    row = conn.execute("SELECT * FROM account_addresses WHERE id = ?", (_int(address_id, "address"),)).fetchone()
    if row is None or row["removed_at"]:
        raise AccountError(f"There is no address {address_id}." if row is None else
                           f"Address {address_id} was removed by {row['removed_by']} at {changes.when(row['removed_at'])}.")
    changes.check_version(conn, f"Address {address_id}", row["id"], row["version"], expected_version, "address",
                          AccountError)
    return dict(row)


# Billing terms, active -------------------------------------------------------------------------

def terms(conn, account) -> dict:
    """An account's own row (billing terms, active, version), the defaults when it has none."""
    account = ref(account)
    row = conn.execute("SELECT * FROM accounts WHERE account_type = ? AND account_id = ?",
                       (account.type, account.id)).fetchone()
    if row:
        return dict(row)
    return {"account_type": account.type, "account_id": account.id, "po_required": 0, "edi_code": "",
            "commission_pct": None, "affidavit_required": 0, "invoice_notes": "", "active": 1,
            "deactivated_at": None, "deactivated_by": None, "version": 1}


def terms_values(values: dict) -> dict:
    unknown = set(values) - set(TERMS)
    if unknown:
        raise ValueError(f"no such billing terms {sorted(unknown)}")
    checks = {"po_required": lambda v: flag(v, "po_required"), "edi_code": lambda v: text(v, "edi_code", 60),
              "commission_pct": commission, "affidavit_required": lambda v: flag(v, "affidavit_required"),
              "invoice_notes": lambda v: text(v, "invoice_notes", LONG_TEXT, lines=True)}
    return {f: checks[f](v) for f, v in values.items()}


def set_terms(conn, actor: str, account, expected_version: int | None = None, **values) -> int | None:
    """Set billing terms (those given); a stale form is refused. The change id, None if nothing changed."""
    actor = _actor(actor)
    fields = terms_values(values)
    with db.write_transaction(conn):
        account = _writable(conn, account)
        return write_terms(conn, actor, account, fields, expected_version)


def write_terms(conn, actor: str, account: Ref, fields: dict, expected_version: int | None = None,
                kind: str = "terms") -> int | None:
    """set_terms (or the active flag) inside the caller's transaction, `fields` checked."""
    current = terms(conn, account)
    changes.check_version(conn, f"The account of {label(conn, account)}", account.id, current["version"],
                          expected_version, f"{account.type}_account", AccountError)
    writes = {f: v for f, v in fields.items() if current[f] != v}
    if not writes:
        return None
    conn.execute("INSERT INTO accounts (account_type, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                 (account.type, account.id))
    conn.execute(f"UPDATE accounts SET {', '.join(f'{f} = ?' for f in writes)}, version = version + 1"
                 " WHERE account_type = ? AND account_id = ?", (*writes.values(), account.type, account.id))
    if kind == "terms":
        summary = f"Billing terms of {label(conn, account)}: {', '.join(FIELD_WORDS[f].lower() for f in writes)} changed"
    else:
        summary = f"The account of {label(conn, account)} was {kind}d"
    return changes.record(conn, actor, kind, account.id, {f: current[f] for f in writes}, writes, summary,
                          object_type=f"{account.type}_account")


def deactivate(conn, actor: str, account, expected_version: int | None = None) -> int:
    return _switch(conn, actor, account, False, expected_version)


def reactivate(conn, actor: str, account, expected_version: int | None = None) -> int:
    return _switch(conn, actor, account, True, expected_version)


def _switch(conn, actor, account, active: bool, expected_version) -> int:
    actor = _actor(actor)
    with db.write_transaction(conn):
        account = _writable(conn, account)
        if bool(terms(conn, account)["active"]) == active:
            raise AccountError(f"The account of {label(conn, account)} is already "
                               f"{'active' if active else 'deactivated'}.")
        now = changes.utc_now()
        fields = {"active": int(active), "deactivated_at": None if active else now,
                  "deactivated_by": None if active else actor}
        return write_terms(conn, actor, account, fields, expected_version, "reactivate" if active else "deactivate")


# AE assignments --------------------------------------------------------------------------------

def assign(conn, actor: str, accounts_, ae_name: str, effective_from, today: dt.date | None = None) -> list[int]:
    """Assign one or many accounts to an AE from a day on, in one transaction: each account's open
    assignment ends the day before, every assignment is kept. The change ids, one per account."""
    actor = _actor(actor)
    start = day(effective_from, "effective_from")
    chosen = list(dict.fromkeys(ref(a) for a in accounts_))
    if not chosen:
        raise AccountError("Choose at least one account to assign.")
    with db.write_transaction(conn):
        key = ae(conn, ae_name)
        return [write_assignment(conn, actor, _writable(conn, a), key, start) for a in chosen]


def write_assignment(conn, actor: str, account: Ref, key: str, start: str) -> int:
    """One account's assignment inside the caller's transaction (key and start checked)."""
    open_ = conn.execute(
        "SELECT * FROM account_assignments WHERE account_type = ? AND account_id = ? AND effective_to IS NULL"
        " ORDER BY effective_from DESC LIMIT 1", (account.type, account.id)).fetchone()
    if open_ is not None:
        if open_["ae"] == key:
            raise AccountError(f"{label(conn, account)} is assigned to {key} already, since {open_['effective_from']}.")
        if open_["effective_from"] >= start:
            raise AccountError(f"Effective from: {label(conn, account)} is assigned to {open_['ae']} from "
                               f"{open_['effective_from']}, so a new assignment must start after that day.")
        end = (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
        conn.execute("UPDATE account_assignments SET effective_to = ? WHERE id = ?", (end, open_["id"]))
    conn.execute("INSERT INTO account_assignments (account_type, account_id, ae, effective_from, assigned_by, assigned_at)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (account.type, account.id, key, start, actor, changes.utc_now()))
    conn.execute("INSERT INTO accounts (account_type, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                 (account.type, account.id))
    conn.execute("UPDATE accounts SET version = version + 1 WHERE account_type = ? AND account_id = ?",
                 (account.type, account.id))
    before = {"ae": open_["ae"], "effective_from": open_["effective_from"]} if open_ else {"ae": None}
    was = f" (was {open_['ae']})" if open_ else ""
    return changes.record(conn, actor, "assign", account.id, before, {"ae": key, "effective_from": start},
                          f"{label(conn, account)} was assigned to {key} from {start}{was}",
                          object_type=f"{account.type}_account")


# Activities and follow-ups ---------------------------------------------------------------------

def log_activity(conn, actor: str, account, kind: str, happened_on, text_: str, contact_id: int | None = None) -> int:
    """A call, email, meeting or note, on a day, optionally with one of the account's contacts."""
    actor = _actor(actor)
    kind = choice(kind, "kind", ACTIVITY_KINDS)
    on = day(happened_on, "happened_on")
    said = text(text_, "text", LONG_TEXT, required=True, lines=True)
    with db.write_transaction(conn):
        account = _writable(conn, account)
        if contact_id not in (None, ""):
            contact = get_contact(conn, _int(contact_id, "contact"))
            if contact is None or contact["account_type"] != account.type or \
                    contact["account_id"] not in members(conn, account):
                raise AccountError(f"Contact: there is no contact {contact_id} at {label(conn, account)}.")
            contact_id = contact["id"]
        else:
            contact_id = None
        activity_id = conn.execute(
            "INSERT INTO account_activities (account_type, account_id, kind, happened_on, who, text, contact_id,"
            " logged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (account.type, account.id, kind, on, actor, said, contact_id, changes.utc_now())).lastrowid
        changes.record(conn, actor, "log", activity_id, {}, {"account": str(account), "kind": kind, "happened_on": on,
                                                             "text": said, "contact_id": contact_id},
                       f"A {kind} on {on} was logged on {label(conn, account)}", object_type="activity")
        return activity_id


def add_follow_up(conn, actor: str, account, due_on, owner_: str, text_: str) -> int:
    actor = _actor(actor)
    due = day(due_on, "due_on")
    said = text(text_, "text", LONG_TEXT, required=True, lines=True)
    with db.write_transaction(conn):
        who = owner(conn, owner_)
        account = _writable(conn, account)
        follow_up_id = conn.execute(
            "INSERT INTO account_follow_ups (account_type, account_id, due_on, owner, text, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (account.type, account.id, due, who, said, changes.utc_now(), actor)).lastrowid
        changes.record(conn, actor, "add", follow_up_id, {}, {"account": str(account), "due_on": due, "owner": who,
                                                              "text": said},
                       f"A follow-up for {who} due {due} was set on {label(conn, account)}", object_type="follow_up")
        return follow_up_id


def mark_done(conn, actor: str, follow_up_id: int, expected_version: int | None = None) -> int:
    actor = _actor(actor)
    with db.write_transaction(conn):
        row = conn.execute("SELECT * FROM account_follow_ups WHERE id = ?", (_int(follow_up_id, "follow-up"),)).fetchone()
        if row is None:
            raise AccountError(f"There is no follow-up {follow_up_id}.")
        if row["done_at"]:
            raise AccountError(f"Follow-up {follow_up_id} was marked done by {row['done_by']} at {changes.when(row['done_at'])}.")
        changes.check_version(conn, f"Follow-up {follow_up_id}", row["id"], row["version"], expected_version,
                              "follow_up", AccountError)
        now = changes.utc_now()
        conn.execute("UPDATE account_follow_ups SET done_at = ?, done_by = ?, version = version + 1 WHERE id = ?",
                     (now, actor, row["id"]))
        return changes.record(conn, actor, "done", row["id"], {"done_at": None}, {"done_at": now, "done_by": actor},
                              f"Follow-up “{row['text'][:40]}” (due {row['due_on']}) was marked done",
                              object_type="follow_up")


# Saved filters ---------------------------------------------------------------------------------

def save_filter(conn, user_email: str, name: str, query: str) -> int:
    """A person's named filter of the accounts list (the same name again replaces its query)."""
    who = _actor(user_email)
    name = text(name, "name", 80, required=True)
    query = text(str(query or "").lstrip("?"), "query", 2000)
    with db.write_transaction(conn):
        old = conn.execute("SELECT id, query FROM account_saved_filters WHERE user_email = ? AND name = ?",
                           (who, name)).fetchone()
        if old:
            conn.execute("UPDATE account_saved_filters SET query = ? WHERE id = ?", (query, old["id"]))
            filter_id = old["id"]
        else:
            filter_id = conn.execute("INSERT INTO account_saved_filters (user_email, name, query, created_at)"
                                     " VALUES (?, ?, ?, ?)", (who, name, query, changes.utc_now())).lastrowid
        changes.record(conn, who, "save", filter_id, {"query": old["query"]} if old else {}, {"name": name, "query": query},
                       f"Filter “{name}” was saved", object_type="saved_filter")
        return filter_id


def delete_filter(conn, user_email: str, filter_id: int) -> int:
    """Delete one of a person's own saved filters (nobody else's)."""
    who = _actor(user_email)
    with db.write_transaction(conn):
        row = conn.execute("SELECT * FROM account_saved_filters WHERE id = ? AND user_email = ?",
                           (_int(filter_id, "filter"), who)).fetchone()
        if row is None:
            raise AccountError(f"You have no saved filter {filter_id}.")
        conn.execute("DELETE FROM account_saved_filters WHERE id = ?", (row["id"],))
        return changes.record(conn, who, "delete", row["id"], {"name": row["name"], "query": row["query"]}, {},
                              f"Filter “{row['name']}” was deleted", object_type="saved_filter")


def saved_filters(conn, user_email: str) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT id, name, query FROM account_saved_filters WHERE user_email = ?"
                                          " ORDER BY name", ((user_email or "").strip().lower(),))]


# What every write shares -----------------------------------------------------------------------

def _actor(actor: str) -> str:
    return changes.actor(actor, AccountError)


def _int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AccountError(f"“{value}” is not a {what} id (a number).") from None


def _json(values) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"
