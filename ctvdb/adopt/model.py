"""What the two halves of `ctvdb adopt` (issue 17) hand each other.

The core (spots, customers, agencies; ctvdb/adopt/spots.py, identity.py) writes the source's
customers and agencies first and hands their ids to the records part as an `IdMap`; the records
part (ctvdb/adopt/records.py, `adopt_records(src, dst, ids, auth_path)`) brings what people typed
and answers with one `KindReport` per kind of record, which the reconciliation prints and writes
to the report. Source ids are kept as ctvdb ids where that is possible, so most maps are the
identity; a merged or split customer is where they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IdMap:
    """Source id -> ctvdb id for customers and agencies, and the AE names seen on the spots.

    A source customer merged into another (by the source's own decisions) maps to the customer
    it was merged into; a source id missing from the map was not brought over. ae_names are
    ctvdb's AE keys of the adopted spots (spots.ae: the sales person trimmed and upper-cased,
    'UNKNOWN' when blank), filled in before the records part is called.
    """

    customer: dict[int, int] = field(default_factory=dict)
    agency: dict[int, int] = field(default_factory=dict)
    ae_names: set[str] = field(default_factory=set)


@dataclass
class KindReport:
    """One kind of record (e.g. "contacts"): how many the source holds and how many came across.

    `not_brought` names each record left behind as (source table, source id, reason): the reason
    is a sentence for a person, e.g. "its customer 412 does not exist in the source".
    """

    kind: str
    in_source: int
    brought: int
    not_brought: list[tuple[str, int, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "in_source": self.in_source,
            "brought": self.brought,
            "not_brought": [
                {"table": table, "id": source_id, "reason": reason}
                for table, source_id, reason in self.not_brought
            ],
        }
