"""Accounts that are probably one (issue 15): pairs of customers, or of agencies, whose names are
alike by issue 9's similarity (ctvdb/similar.py), whose contacts share an email domain (not a public
one such as gmail.com), or share a phone number; each pair with its reasons. Merging a pair is issue
9's merge (customers.merge, agencies.merge), so the change log has it and `changes undo` takes it
back; the accounts' rows stay where they are and show on the survivor (ctvdb/accounts.py).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from ctvdb import accounts, agencies, customers
from ctvdb.accounts import AccountError, Ref
from ctvdb.similar import SimilarityIndex

NAME_SCORE = 88          # names at least this alike (0-100) are offered; below, too many are not one
LARGEST_GROUP = 25       # a domain or phone more accounts share is a switchboard or an agency's, not a sign
PUBLIC_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "comcast.net", "att.net", "sbcglobal.net", "verizon.net",
    "protonmail.com", "proton.me", "gmx.com", "mail.com", "qq.com", "163.com", "126.com", "sina.com",
    "naver.com", "daum.net", "hanmail.net", "yahoo.com.vn", "yahoo.co.jp",
})


@dataclass(frozen=True)
class Pair:
    type: str
    first: int                   # the lower id
    second: int
    first_label: str
    second_label: str
    score: int                   # how alike the names are (0 when they were not compared alike)
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _phone_key(phone: str) -> str | None:
    digits = re.sub(r"\D", "", re.sub(r"(?i)\s*(x|ext\.?)\s*\d+$", "", phone or ""))
    return digits[-10:] if len(digits) >= 7 else None


def pairs(conn: sqlite3.Connection) -> list[Pair]:
    """Every pair of accounts not merged away that is probably one, most reasons first."""
    found: dict[tuple[str, int, int], dict] = {}

    def add(kind, a, b, reason, score=0):
        if a == b:
            return
        key = (kind, min(a, b), max(a, b))
        entry = found.setdefault(key, {"score": 0, "reasons": []})
        entry["score"] = max(entry["score"], score)
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)

    live = [tuple(r) for r in conn.execute(
        "SELECT id, name, agency_chain FROM customers WHERE merged_into IS NULL ORDER BY id")]
    index = SimilarityIndex(live)
    for customer_id, name, chain in live:
        for s in index.suggest(f"{chain}:{name}" if chain else name, limit=5, exclude=customer_id):
            if s.score >= NAME_SCORE:
                add("customer", customer_id, s.customer_id, s.reason, s.score)
    live_agencies = [(r[0], r[1], "") for r in conn.execute("SELECT id, name FROM agencies WHERE merged_into IS NULL")]
    index = SimilarityIndex(live_agencies)
    for agency_id, name, _ in live_agencies:
        for s in index.suggest(name, limit=5, exclude=agency_id):
            if s.score >= NAME_SCORE:
                add("agency", agency_id, s.customer_id, s.reason, s.score)

    # Contacts, each on the account whose page shows it.
    groups: dict[tuple[str, str, str], set[int]] = {}
    for kind, account_id, email, phone in conn.execute(
            "SELECT account_type, account_id, email, phone FROM account_contacts WHERE removed_at IS NULL"):
        home = accounts.survivor(conn, Ref(kind, account_id)).id
        domain = email.rpartition("@")[2].strip().lower() if "@" in email else ""
        if domain and domain not in PUBLIC_DOMAINS:
            groups.setdefault((kind, "domain", domain), set()).add(home)
        phone_key = _phone_key(phone)
        if phone_key:
            groups.setdefault((kind, "phone", phone_key), set()).add(home)
    for (kind, what, value), homes in sorted(groups.items()):
        if 1 < len(homes) <= LARGEST_GROUP:
            ordered = sorted(homes)
            reason = f"contacts with email at {value}" if what == "domain" else f"same phone ({value})"
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    add(kind, a, b, reason)
    out = [Pair(kind, a, b, accounts.label(conn, Ref(kind, a)), accounts.label(conn, Ref(kind, b)), e["score"],
                tuple(e["reasons"])) for (kind, a, b), e in found.items()]
    return sorted(out, key=lambda p: (-len(p.reasons), -p.score, p.type, p.first, p.second))


def merge_pair(conn: sqlite3.Connection, actor: str, kind: str, survivor_id: int, other_id: int,
               expected_versions: dict[int, int] | None = None) -> int:
    """Merge `other_id` into `survivor_id` through issue 9's merge; the change id (undo it there)."""
    if kind == "customer":
        return customers.merge(conn, actor, survivor_id, [other_id], expected_versions=expected_versions)
    if kind == "agency":
        return agencies.merge(conn, actor, survivor_id, [other_id], expected_versions=expected_versions)
    raise AccountError(f"“{kind}” is not an account type (customer or agency).")
