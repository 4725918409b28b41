"""Which existing customers a bill code most likely is (DOMAIN.md §7), for the resolution queue.

Pure functions over names, no database: the queue passes the customers it read. The customer
part of a bill code and its agency chain are compared apart, so `Admerasia:McDonald's` and
`McDonald's` come out as possibly the same advertiser, with a reason saying the agency differs;
the score is the names' similarity only, and deciding that two accounts are one is left to a person.

The scorers are rapidfuzz's, which run in C++ over the whole list of customers at once; what the
index precomputes (every customer's match key, the key without spaces, the agency keys) is what
would otherwise be computed again for each of the many bill codes the queue asks about. This is
its own module rather than part of ctvdb/names.py so that the search, which needs only `fold`,
does not load rapidfuzz.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from ctvdb import codes
from ctvdb.names import fold, match_key

# Below this a name is not worth showing a person. Names with no word in common score under it;
# names that share a common word ("Golden Auto", "Golden Bakery") can score above it, and rank
# below the names that share all their words.
MIN_SCORE = 50.0
# Each scorer keeps this many of its best before they are combined: far more than a person reads.
_SHORTLIST = 40


@dataclass(frozen=True)
class Suggestion:
    customer_id: int
    name: str
    agency_chain: str          # 'Agency1:Agency2', '' for a direct customer
    score: int                 # 0-100: how alike the two names are, the agencies aside
    same_agency: bool          # False: possibly the same advertiser, never the same account
    reason: str                # what a person reads beside it


@dataclass(frozen=True)
class _Customer:
    customer_id: int
    name: str
    agency_chain: str
    agencies: tuple[str, ...]  # each agency's match key, booking agency first


def _agency_keys(chain: str | list[str]) -> tuple[str, ...]:
    """'Admerasia:IW Group' (as customers.agency_chain holds it) or a split bill code's list."""
    parts = chain.split(":") if isinstance(chain, str) else chain
    return tuple(key for key in (match_key(part) for part in parts) if key)


def _agreement(ours: tuple[str, ...], theirs: tuple[str, ...]) -> int:
    """2 the same chain (or both direct), 1 the same booking agency, 0 otherwise."""
    if ours == theirs:
        return 2
    return 1 if ours and theirs and ours[0] == theirs[0] else 0


def name_score(key: str, other: str) -> float:
    """How alike two match keys are, 0-100. The best of: the words compared in any order, by edit
    distance (token sort: "tran pharmacy" ~ "pharmacy tran"); the letters without the spaces, by
    Levenshtein ("mc donalds" ~ "mcdonalds"); and, when one name's words are all in the other's,
    halfway between that and 100 ("pho hoa" ~ "pho hoa restaurant", but "tran" is not
    "tran pharmacy"). Shared words alone do not count: "kim law office" is not "nguyen law office"."""
    if not key or not other:
        return 0.0
    by_words = fuzz.token_sort_ratio(key, other)
    by_letters = 100 * Levenshtein.normalized_similarity(key.replace(" ", ""), other.replace(" ", ""))
    score = max(by_words, by_letters)
    if fuzz.token_set_ratio(key, other) == 100:
        score = max(score, (100 + by_words) / 2)
    return score


def _name_reason(name: str, other: str, key: str, other_key: str) -> str:
    if name == other:
        return "same name"
    if fold(name).replace(" ", "") == fold(other).replace(" ", ""):
        return "name differs only in case, accents or punctuation"
    if key.replace(" ", "") == other_key.replace(" ", ""):
        return "name differs only in legal words (Inc, LLC, The…), accents or punctuation"
    if sorted(key.split()) == sorted(other_key.split()):
        return "same words in another order"
    return "similar name"


class SimilarityIndex:
    """Built once from the customers, each (id, name, agency chain) as the customers table holds
    them (the name is the part of the bill code after the last colon, the chain '' when direct);
    then `suggest` once per bill code."""

    def __init__(self, candidates):
        self._customers: list[_Customer] = []
        self._keys: list[str] = []
        self._compact: list[str] = []
        self._memo: dict[str, tuple] = {}
        for customer_id, name, chain in candidates:
            key = match_key(name)
            self._customers.append(_Customer(customer_id, name, chain, _agency_keys(chain)))
            self._keys.append(key)
            self._compact.append(key.replace(" ", ""))
        # Which customers each word of a name is in: the names made of a bill code's words, or
        # holding all of them, are found by set operations rather than by scoring every name.
        self._words = [frozenset(key.split()) for key in self._keys]
        self._having: dict[str, set[int]] = {}
        for index, words in enumerate(self._words):
            for word in words:
                self._having.setdefault(word, set()).add(index)

    def _subsets(self, key: str) -> set[int]:
        """The customers whose words are all among the key's or hold all of the key's words: the
        names token_set_ratio scores 100 ("pho hoa" ~ "pho hoa restaurant"), found through the
        word index instead of by scoring every name (half of what ranking a bill code cost)."""
        words = frozenset(key.split())
        if not words:
            return set()
        having = sorted((self._having.get(word, set()) for word in words), key=len)
        holding_all = set(having[0]).intersection(*having[1:])
        within = {index for found in having for index in found if self._words[index] <= words}
        return holding_all | within

    def suggest(self, bill_code: str, limit: int = 5, exclude=None) -> list[Suggestion]:
        """The `limit` customers most like the bill code, best first: by name, then by agency.
        `exclude` is a customer id or a set of them never to suggest: the bill code's own customer,
        and those merged away or deactivated since the index was built (so a merge needs no new index)."""
        excluded = exclude if isinstance(exclude, (set, frozenset)) else {exclude}
        ranked = self._memo.get(bill_code)
        if ranked is None:
            ranked = self._memo[bill_code] = self._rank(bill_code)
        name, key, agencies, indexes = ranked
        chosen = [(i, score) for i, score in indexes if self._customers[i].customer_id not in excluded][:limit]
        return [self._suggestion(name, key, agencies, self._customers[i], self._keys[i], score) for i, score in chosen]

    def _rank(self, bill_code: str) -> tuple:
        """Every shortlisted customer scoring MIN_SCORE or more, best first, as (index, score).
        Remembered for the index's life: the queue asks about the same fifteen bill codes again
        after each decision, and the customers excluded then are dropped, not scored again."""
        chain, name = codes.split_bill_code(codes.normalise_bill_code(bill_code))
        key = match_key(name)
        if not key:
            return name, key, (), []
        compact = key.replace(" ", "")
        # Each scorer over every customer in C++, keeping its best few; then the few combined here.
        shortlist = self._subsets(key)
        for query, choices, scorer, cutoff in (
            (key, self._keys, fuzz.token_sort_ratio, MIN_SCORE),
            (compact, self._compact, Levenshtein.normalized_similarity, MIN_SCORE / 100),
        ):
            shortlist.update(index for _, _, index in process.extract(
                query, choices, scorer=scorer, processor=None, limit=_SHORTLIST, score_cutoff=cutoff))
        agencies = _agency_keys(chain)
        ranked = []
        for index in shortlist:
            score = name_score(key, self._keys[index])
            if score < MIN_SCORE:
                continue
            agreement = _agreement(agencies, self._customers[index].agencies)
            ranked.append((round(score), agreement, score, index))
        ranked.sort(key=lambda item: (-item[0], -item[1], -item[2], self._customers[item[3]].name))
        return name, key, agencies, [(index, rounded) for rounded, _, _, index in ranked]

    def _suggestion(self, name, key, agencies, customer, other_key, score) -> Suggestion:
        same_agency = agencies == customer.agencies
        reason = _name_reason(name, customer.name, key, other_key)
        if not same_agency:
            alike = reason != "similar name" and reason != "same words in another order"
            reason = "same name, different agency" if alike else f"{reason}, different agency"
        return Suggestion(customer.customer_id, customer.name, customer.agency_chain, score,
                          same_agency, reason)


def suggest(bill_code: str, candidates, limit: int = 5) -> list[Suggestion]:
    """One bill code against the customers; the queue, asking about many, keeps a SimilarityIndex."""
    return SimilarityIndex(candidates).suggest(bill_code, limit)
