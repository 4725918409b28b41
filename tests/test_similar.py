"""Suggestions for the resolution queue (ctvdb/similar.py, DOMAIN.md §7): which customers a bill
code most likely is. A name is "not suggested" below 50, the threshold this module promises."""

import pytest

from ctvdb.similar import SimilarityIndex, name_score, suggest
from ctvdb.names import match_key

CUSTOMERS = [
    (1, "McDonald's", ""),
    (2, "McDonald's", "Admerasia"),
    (3, "Phở Hòa", ""),
    (4, "Pho 24", ""),
    (5, "Tran Pharmacy", ""),
    (6, "Tân Định Pharmacy", ""),
    (7, "Nguyễn Law Office", ""),
    (8, "Kim Law Office", ""),
    (9, "The Home Depot", ""),
    (10, "A & B Market", ""),
    (11, "99 Ranch Market", ""),
    (12, "김밥천국", ""),
    (13, "金山酒家", ""),
    (14, "Golden Auto", ""),
    (15, "Golden Bakery", ""),
    (16, "Seafood City", "IW Group:Admerasia"),
    (17, "Seafood City", "IW Group"),
    (18, "Seafood City", "Dentsu"),
]


@pytest.fixture(scope="module")
def index():
    return SimilarityIndex(CUSTOMERS)


@pytest.mark.parametrize("one, other", [
    ("Phở Hòa", "PHO HOA"),
    ("McDonald's", "McDonalds"),
    ("McDonalds", "Mc Donald's Inc"),
    ("McDonald's", "Mc Donald's Inc"),
    ("Nguyễn Law Office", "Nguyen Law Office LLC"),
    ("The Home Depot", "Home Depot"),
    ("A & B Market", "A and B Market"),
    ("Tran Pharmacy", "Pharmacy Tran"),
    ("한국 마트", "한국마트"),
])
def test_names_a_person_calls_the_same_score_100_both_ways(one, other):
    assert suggest(one, [(1, other, "")])[0].score == 100
    assert suggest(other, [(1, one, "")])[0].score == 100


@pytest.mark.parametrize("bill_code, intended", [
    ("PHO HOA", 3),
    ("Mc Donald's Inc", 1),
    ("McDonalds PRODUCTION", 1),                      # the DOMAIN §4 suffix goes first
    ("Nguyen Law Office LLC", 7),
    ("Home Depot", 9),
    ("A and B Market", 10),
    ("Pharmacy Tran", 5),
    ("Tan Dinh Pharmacy", 6),
    ("Golden Auto Sales", 14),                         # not Golden Bakery, which shares a word
    ("Pho Hoa Restaurant", 3),                         # not Pho 24
    ("김밥천국", 12),
    ("金山酒家", 13),
])
def test_the_intended_customer_comes_first_among_decoys(index, bill_code, intended):
    top = index.suggest(bill_code)
    assert top[0].customer_id == intended
    assert all(later.score <= top[0].score for later in top[1:])


@pytest.mark.parametrize("bill_code, reason", [
    ("McDonald's", "same name"),
    ("MCDONALDS", "name differs only in case, accents or punctuation"),
    ("PHO HOA", "name differs only in case, accents or punctuation"),
    ("Home Depot", "name differs only in legal words (Inc, LLC, The…), accents or punctuation"),
    ("Pharmacy Tran", "same words in another order"),
    ("Golden Auto Sales", "similar name"),
])
def test_each_suggestion_says_why(index, bill_code, reason):
    top = index.suggest(bill_code)[0]
    assert (top.reason, top.same_agency) == (reason, True)


def test_an_agency_prefixed_code_finds_the_direct_customer_as_another_account():
    # No customer through Admerasia yet: the direct one is suggested, and said to be another agency's.
    (top,) = suggest("Admerasia:McDonalds", [(1, "McDonald's", ""), (2, "Burger King", "Admerasia")])
    assert (top.customer_id, top.score, top.same_agency) == (1, 100, False)
    assert top.reason == "same name, different agency"


def test_the_same_agency_ranks_first_among_equal_names(index):
    first, second = index.suggest("Admerasia:McDonald's CREDIT MEMO")[:2]
    assert (first.customer_id, first.same_agency, first.reason) == (2, True, "same name")
    assert (second.customer_id, second.same_agency, second.reason) == (1, False, "same name, different agency")
    direct = index.suggest("McDonald's")
    assert [s.customer_id for s in direct[:2]] == [1, 2]


def test_the_booking_agency_counts_before_the_rest_of_the_chain(index):
    # 16 has the whole chain, 17 only its booking agency (IW Group), 18 neither.
    ranked = [s.customer_id for s in index.suggest("IW Group:Admerasia:Seafood City")]
    assert ranked[:3] == [16, 17, 18]
    ranked = [s.customer_id for s in index.suggest("IW Group:AAAZA:Seafood City")]
    assert ranked[:3] == [17, 16, 18]


@pytest.mark.parametrize("one, other", [
    ("Tran Pharmacy", "Golden Dragon Restaurant"),
    ("H Mart", "99 Ranch Market"),
    ("State Farm", "Seafood City"),
    ("Costco", "Comcast Xfinity"),
    ("AT&T", "T-Mobile"),
    ("김밥천국", "金山酒家"),
    ("김밥천국", "Kim Bap Heaven"),                    # Hangul is not romanised: no guessing
])
def test_unrelated_names_score_below_50_and_are_not_suggested(one, other):
    assert name_score(match_key(one), match_key(other)) < 50
    assert suggest(one, [(1, other, "")]) == []


def test_a_name_inside_a_longer_one_is_suggested_below_an_exact_match():
    # "Tran" is every word of "Tran Pharmacy" but not the same name: suggested, not at 100.
    (only,) = suggest("Tran", [(5, "Tran Pharmacy", "")])
    assert 50 <= only.score < 100
    assert [s.customer_id for s in suggest("Tran", [(5, "Tran Pharmacy", ""), (6, "TRAN", "")])] == [6, 5]


def test_limit_exclude_and_nothing_to_compare(index):
    assert len(index.suggest("Seafood City", limit=2)) == 2
    assert 12 not in [s.customer_id for s in index.suggest("김밥천국", exclude=12)]
    assert index.suggest("") == index.suggest("Admerasia: - ") == []
    assert suggest("McDonald's", []) == []


def test_one_bill_code_and_the_index_agree(index):
    assert suggest("Mc Donald's Inc", CUSTOMERS) == index.suggest("Mc Donald's Inc")
