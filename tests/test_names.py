"""Folding names for comparison (ctvdb/names.py): what a person considers the same name."""

import pytest

from ctvdb.names import fold, match_key


@pytest.mark.parametrize("name, folded", [
    ("Phở Hòa", "pho hoa"),
    ("PHỞ HÒA", "pho hoa"),
    ("Nguyễn Law Office", "nguyen law office"),
    ("Đặng Đức Thắng", "dang duc thang"),           # đ/Đ do not decompose under NFKD
    ("Trường Sơn Ứng", "truong son ung"),            # the horn and the tones both go
    ("Bánh Mì Hội An", "banh mi hoi an"),
])
def test_vietnamese_names_lose_case_and_every_accent(name, folded):
    assert fold(name) == folded


@pytest.mark.parametrize("name, folded", [
    ("Øster Łódź Straße", "oster lodz strasse"),
    ("Æble Œuvre Þór", "aeble oeuvre thor"),
    ("Crème Brûlée Café", "creme brulee cafe"),
    ("ＰＨＯ ２４", "pho 24"),                         # full-width letters and digits
])
def test_letters_nfkd_leaves_whole_are_mapped(name, folded):
    assert fold(name) == folded


@pytest.mark.parametrize("name", ["김밥천국", "한국 마트", "金山酒家", "新光 百貨", "ガスト", "ਪੰਜਾਬ ਰੇਡੀਓ"])
def test_korean_chinese_japanese_and_punjabi_come_back_untouched(name):
    # Hangul goes through NFKD as jamo and must come back as the same syllables; the kana
    # voicing mark and the Gurmukhi vowel signs are not accents to drop.
    assert fold(name) == name


@pytest.mark.parametrize("name, folded", [
    ("McDonald's", "mcdonalds"),
    ("McDonald’s", "mcdonalds"),
    ("MCDONALDS", "mcdonalds"),
    ("A.B.C. Motors", "abc motors"),
    ("Coca-Cola", "coca cola"),
    ("Kim & Park Realty", "kim and park realty"),
    ("Kim and Park Realty", "kim and park realty"),
    ("AT&T", "at and t"),
    ("  Lee   Law,  Inc. ", "lee law inc"),         # legal words stay: a search for "inc" finds it
    ("Admerasia:McDonald's", "admerasia mcdonalds"),
])
def test_apostrophes_punctuation_ampersand_and_spaces(name, folded):
    assert fold(name) == folded


def test_nothing_to_fold_is_empty():
    assert fold(None) == fold("") == fold(" - ' . ") == ""


@pytest.mark.parametrize("name, key", [
    ("The Home Depot", "home depot"),
    ("Nguyễn Law Office LLC", "nguyen law office"),
    ("Mc Donald's Inc.", "mc donalds"),                # spacing is the scorers' business
    ("Acme Co., Ltd", "acme"),
    ("Pacific Corp", "pacific"),
    ("Lee & Sons Company", "lee and sons"),
    ("Pharmacy Tran", "pharmacy tran"),               # word order kept
])
def test_match_key_drops_the_legal_words(name, key):
    assert match_key(name) == key


@pytest.mark.parametrize("name, key", [
    ("Theater Coco Incheon", "theater coco incheon"),  # whole words only
    ("Costco", "costco"),
    ("The Company", "the company"),                    # nothing left: the legal words stay
    ("김밥천국 Inc", "김밥천국"),
    ("", ""),
])
def test_match_key_keeps_what_is_not_a_legal_word(name, key):
    assert match_key(name) == key
