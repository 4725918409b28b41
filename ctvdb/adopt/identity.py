"""Who each spot's customer is, as the source decided it, written as ctvdb's customers and agencies.

The source keeps its identity decisions in several places; adopt follows the one its import and
reports use, and says so in the report:

- `entity_aliases` (active rows) is the alias table the source's import routes a bill code
  through (its migrations 022/023 set a new spot's customer from it). A customer alias becomes a
  ctvdb bill code pointing at that customer (table bill_codes), an agency alias a spelling of
  that agency (agencies.merged_into), so ctvdb's next import books them the same way.
- `customer_mappings` is an older table overlapping it, which the import no longer reads: its
  rows are not brought, each one named in the report.
- A spot's customer is, in order: the active alias of its bill code; else the customer the
  audit view `v_customer_normalization_audit` attributes its bill code to (where the spot's own
  `customer_id` is wrong, the view is right); else its `customer_id`. A spot with none of these
  gets the customer ctvdb's import would give it (its bill code's, created unreviewed).

Source ids are kept as ctvdb ids. Customers whose names differ only in letter case (the source
split "ADMERASIA" and "Admerasia") stay two customers, with their own figures; the later one is
left in the workbench's resolution queue with the merge proposed in its reason, never merged
here. The bill code they share (ctvdb matches bill codes whatever their case) belongs to the
one in the queue, so that the merge proposed there moves its spots. An alias that points at an inactive customer is kept, and that customer comes over
inactive (hidden from pick lists, never from figures; ctvdb's import reactivates it when spots
arrive). Every other adopted customer counts as reviewed: people looked at them in the source.
"""

from __future__ import annotations

import collections
import sqlite3

from ctvdb import codes
from ctvdb.adopt.model import IdMap, KindReport
from ctvdb.adopt.source import has_table

ADOPTER = "adopt"   # reviewed_by / the actor of what adopt writes


class Identity:
    """The source's identity decisions, and the ctvdb customers and agencies made from them."""

    def __init__(self, src: sqlite3.Connection, dst: sqlite3.Connection, now: str):
        self.src, self.dst, self.now = src, dst, now
        self.ids = IdMap()
        self.notes: list[str] = []                  # said in the report: how identity was decided
        self.reports: list[KindReport] = []
        self.agency_keys: dict[str, int] = {}       # ctvdb agencies.name_key -> id
        self.customer_keys: dict[str, int] = {}     # ctvdb identity_key -> id (plain keys only)
        self.customer_agency: dict[int, int | None] = {}
        self.inactive: set[int] = set()
        self.case_duplicates: list[tuple[int, int]] = []   # (later id, the id it differs from in case)
        self.customer_aliases: dict[str, int] = {}  # raw alias_name -> source customer id (active, target exists)
        self.audit: dict[str, int] = {}             # raw bill code -> customer id, from the audit view
        self.code_customers: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.code_spelling: dict[str, str] = {}     # code key -> the spelling first seen
        self._memo: dict[tuple, int] = {}
        self._next_customer = 1

    # -- customers and agencies -------------------------------------------------------------

    def write_agencies(self) -> None:
        rows = self.src.execute("SELECT agency_id, agency_name FROM agencies ORDER BY agency_id").fetchall()
        brought = 0
        for agency_id, raw_name in rows:
            name = " ".join(str(raw_name or "").split())
            key = name.lower()
            if not name:
                continue
            if key in self.agency_keys:
                # Two source agencies one spelling apart in case: the later is a spelling of the first.
                self.dst.execute("INSERT INTO agencies (id, name, name_key, merged_into) VALUES (?, ?, ?, ?)",
                                 (agency_id, name, f"{key} (source agency {agency_id})", self.agency_keys[key]))
                self.notes.append(f"Agencies {self.agency_keys[key]} and {agency_id} differ only in letter case "
                                  f"(“{name}”); ctvdb books both through agency {self.agency_keys[key]}.")
            else:
                self.dst.execute("INSERT INTO agencies (id, name, name_key) VALUES (?, ?, ?)", (agency_id, name, key))
                self.agency_keys[key] = agency_id
            self.ids.agency[agency_id] = agency_id
            brought += 1
        self.reports.append(KindReport("agencies", len(rows), brought,
                                       [("agencies", a, "its name is blank") for a, n in rows
                                        if not " ".join(str(n or "").split())]))

    def _agency_for(self, name: str) -> int:
        key = name.lower()
        if key not in self.agency_keys:
            self.agency_keys[key] = self.dst.execute(
                "INSERT INTO agencies (name, name_key) VALUES (?, ?)", (name, key)).lastrowid
        return self.agency_keys[key]

    def write_customers(self) -> None:
        rows = self.src.execute(
            "SELECT customer_id, normalized_name, agency_id, coalesce(is_active, 1) FROM customers"
            " ORDER BY customer_id").fetchall()
        brought, left = 0, []
        for customer_id, raw_name, agency_id, active in rows:
            code = codes.normalise_bill_code(str(raw_name or ""))
            chain, name = codes.split_bill_code(code)
            if not name:
                left.append(("customers", customer_id, f"its name “{raw_name}” has no customer part"))
                continue
            key = code.lower()
            reason = None
            reviewed_at, reviewed_by = self.now, ADOPTER
            if key in self.customer_keys:
                first = self.customer_keys[key]
                self.case_duplicates.append((customer_id, first))
                reason = (f"CTV BookedBiz DB kept “{code}” apart from customer {first}, which differs only in "
                          f"letter case: probably the same customer, merge them if so")
                reviewed_at = reviewed_by = None
                identity_key = f"{key} (source customer {customer_id})"
            else:
                identity_key = key
                self.customer_keys[key] = customer_id
            chain_agency = self._agency_for(chain[0]) if chain else None
            own_agency = agency_id if agency_id in self.ids.agency else chain_agency
            self.dst.execute(
                "INSERT INTO customers (id, name, agency_chain, agency_id, identity_key, active, reviewed_at,"
                " reviewed_by, review_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (customer_id, name, ":".join(chain), own_agency, identity_key, 1 if active else 0,
                 reviewed_at, reviewed_by, reason))
            for agency in chain[1:]:
                self._agency_for(agency)
            self.customer_agency[customer_id] = own_agency
            if not active:
                self.inactive.add(customer_id)
            self.ids.customer[customer_id] = customer_id
            brought += 1
        self._next_customer = max([0, *self.ids.customer]) + 1
        self.reports.append(KindReport("customers", len(rows), brought, left))
        if self.case_duplicates:
            self.notes.append(f"{len(self.case_duplicates)} customer(s) differ from another only in letter case: "
                              f"kept apart and proposed as merges in the resolution queue.")

    # -- attribution ------------------------------------------------------------------------

    def read_decisions(self) -> None:
        """The aliases and the audit view's attributions, read once before the spots stream by."""
        rows = self.src.execute(
            "SELECT alias_id, alias_name, target_entity_id, coalesce(is_active, 1) FROM entity_aliases"
            " WHERE entity_type = 'customer' ORDER BY alias_id").fetchall() if has_table(self.src, "entity_aliases") else []
        for alias_id, alias_name, target, active in rows:
            if active and target in self.ids.customer and alias_name is not None:
                self.customer_aliases[alias_name] = target
        if has_table(self.src, "v_customer_normalization_audit"):
            for raw, customer_id in self.src.execute(
                    "SELECT raw_text, customer_id FROM v_customer_normalization_audit WHERE customer_id IS NOT NULL"):
                if customer_id in self.ids.customer:
                    self.audit[raw] = customer_id
            self.notes.append("Spots are attributed as the source's audit view v_customer_normalization_audit "
                              "does where it names a customer, before the spot's own customer_id.")
        self.notes.append("Aliases: entity_aliases is the table the source's import uses; customer_mappings "
                          "(older, overlapping) is not brought.")

    def customer_for(self, raw_code: str, source_customer: int | None, code: str) -> int:
        """The ctvdb customer of one spot: its raw bill code, its customer_id, its normalised code."""
        memo_key = (raw_code, source_customer)
        found = self._memo.get(memo_key)
        if found is None:
            found = self.customer_aliases.get(raw_code) or self.audit.get(raw_code)
            if found is None and source_customer in self.ids.customer:
                found = source_customer
            if found is None:
                found = self._unattributed(code)
            self._memo[memo_key] = found
        return found

    def _unattributed(self, code: str) -> int:
        """A spot the source left without a customer: its bill code's customer, as ctvdb's import would."""
        key = code.lower()
        if key in self.customer_keys:
            return self.customer_keys[key]
        chain, name = codes.split_bill_code(code)
        agency_id = self._agency_for(chain[0]) if chain else None
        for agency in chain[1:]:
            self._agency_for(agency)
        customer_id = self._next_customer
        self._next_customer += 1
        self.dst.execute(
            "INSERT INTO customers (id, name, agency_chain, agency_id, identity_key, review_reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (customer_id, name, ":".join(chain), agency_id, key,
             "a bill code the source had not given a customer, brought by adopt"))
        self.customer_keys[key] = customer_id
        self.customer_agency[customer_id] = agency_id
        return customer_id

    def saw(self, code: str, customer_id: int) -> None:
        """A spot of bill code `code` (normalised) went to `customer_id`."""
        key = code.lower()
        self.code_customers[key][customer_id] += 1
        self.code_spelling.setdefault(key, code)

    # -- after the spots --------------------------------------------------------------------

    def write_bill_codes(self) -> None:
        """bill_codes: the aliases first (what the next import follows), then each bill code of the
        spots to the customer holding most of its spots, then each customer's own name."""
        owner: dict[str, int] = {}
        spelling: dict[str, str] = dict(self.code_spelling)
        aliases = self.src.execute(
            "SELECT alias_id, alias_name, target_entity_id, coalesce(is_active, 1) FROM entity_aliases"
            " WHERE entity_type = 'customer' ORDER BY alias_id").fetchall() if has_table(self.src, "entity_aliases") else []
        left = []
        for alias_id, alias_name, target, active in aliases:
            code = codes.normalise_bill_code(str(alias_name or ""))
            key = code.lower()
            if not active:
                left.append(("entity_aliases", alias_id, "inactive in the source"))
            elif target not in self.ids.customer:
                left.append(("entity_aliases", alias_id, f"its customer {target} does not exist in the source"))
            elif not key:
                left.append(("entity_aliases", alias_id, "its alias name is blank"))
            elif key in owner and owner[key] != target:
                left.append(("entity_aliases", alias_id,
                             f"“{code}” is already an alias of customer {owner[key]} (letter case aside)"))
            else:
                owner[key] = target
                spelling.setdefault(key, code)
                if target in self.inactive:
                    self.notes.append(f"Alias “{code}” points at inactive customer {target}: kept; the customer "
                                      f"comes over inactive, and ctvdb's import reactivates it when spots arrive.")
        self.reports.append(KindReport("customer aliases", len(aliases), len(aliases) - len(left), left))
        queued = {later for later, _ in self.case_duplicates}
        for key, counts in self.code_customers.items():
            if key in owner:
                continue
            # A bill code shared by case duplicates belongs to the one waiting in the queue, so the
            # merge proposed there (it into the other) takes the code and its spots with it.
            waiting = sorted(c for c in counts if c in queued)
            owner[key] = waiting[-1] if waiting else max(sorted(counts), key=lambda c: counts[c])
        for key, customer_id in self.customer_keys.items():
            owner.setdefault(key, customer_id)
            spelling.setdefault(key, key)
        names = dict(self.dst.execute("SELECT identity_key, name FROM customers"))
        self.dst.executemany("INSERT INTO bill_codes (code_key, bill_code, customer_id) VALUES (?, ?, ?)",
                             [(key, spelling.get(key) or names.get(key, key), owner[key]) for key in sorted(owner)])
        self._mappings_report()

    def _mappings_report(self) -> None:
        if not has_table(self.src, "customer_mappings"):
            return
        rows = self.src.execute("SELECT mapping_id, original_name, customer_id FROM customer_mappings"
                                " ORDER BY mapping_id").fetchall()
        left = [("customer_mappings", mapping_id,
                 "the source's import routes bill codes through entity_aliases; this older table is not used"
                 + (f" (entity_aliases sends “{name}” to customer {self.customer_aliases[name]})"
                    if name in self.customer_aliases else ""))
                for mapping_id, name, _ in rows]
        self.reports.append(KindReport("customer_mappings", len(rows), 0, left))

    def write_agency_aliases(self) -> None:
        if not has_table(self.src, "entity_aliases"):
            return
        rows = self.src.execute(
            "SELECT alias_id, alias_name, target_entity_id, coalesce(is_active, 1) FROM entity_aliases"
            " WHERE entity_type = 'agency' ORDER BY alias_id").fetchall()
        left = []
        for alias_id, alias_name, target, active in rows:
            name = " ".join(str(alias_name or "").split())
            key = name.lower()
            if not active:
                left.append(("entity_aliases", alias_id, "inactive in the source"))
            elif target not in self.ids.agency:
                left.append(("entity_aliases", alias_id, f"its agency {target} does not exist in the source"))
            elif not name:
                left.append(("entity_aliases", alias_id, "its alias name is blank"))
            elif key in self.agency_keys:
                existing = self.agency_keys[key]
                if existing != target:   # an agency of that spelling already: the alias merges it
                    self.dst.execute("UPDATE agencies SET merged_into = ? WHERE id = ?", (target, existing))
            else:
                self.agency_keys[key] = self.dst.execute(
                    "INSERT INTO agencies (name, name_key, merged_into) VALUES (?, ?, ?)",
                    (name, key, target)).lastrowid
        self.reports.append(KindReport("agency aliases", len(rows), len(rows) - len(left), left))
        # A customer booked through a merged agency is booked through the one it points at.
        self.dst.execute(
            "UPDATE customers SET agency_id = (SELECT coalesce(a.merged_into, a.id) FROM agencies a"
            " WHERE a.id = customers.agency_id) WHERE agency_id IN (SELECT id FROM agencies WHERE merged_into IS NOT NULL)")
