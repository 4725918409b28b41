"""Names compared the way a person reads them: `fold("Phở Hòa")` == `fold("PHO HOA")` == "pho hoa".

The customer search uses `fold`; the name similarity (ctvdb/similar.py, DOMAIN.md §7) uses
`match_key`, which also drops the legal words (Inc, LLC…). `fold` keeps them: a search for "inc"
must still find "Acme Inc".
"""

from __future__ import annotations

import functools
import unicodedata

# Letters that are not a base letter plus a combining mark, so NFKD leaves them whole. They are
# mapped after casefold, which has already lowered Đ, Ø, Ł… and turned ß into "ss".
_LETTERS = str.maketrans({
    "đ": "d", "ð": "d", "ø": "o", "ł": "l", "ŀ": "l", "ħ": "h", "ı": "i", "ŧ": "t",
    "æ": "ae", "œ": "oe", "þ": "th", "ĸ": "k",
})
# Apostrophes and full stops join (McDonald's ~ mcdonalds, A.B.C. ~ abc); every other
# punctuation mark or symbol separates words (Coca-Cola ~ coca cola).
_JOINERS = str.maketrans(dict.fromkeys("'’‘ʼ`´.", ""))
# Words that say what kind of company a name is, not which one (DOMAIN.md §7), as fold leaves them.
LEGAL_WORDS = frozenset({"inc", "llc", "ltd", "co", "corp", "company", "the"})


def _is_accent(char: str) -> bool:
    """A combining accent of the Latin, Greek and Cyrillic scripts (Vietnamese tones and horns
    among them). Marks of other scripts are letters of their words: the vowel signs of
    Punjabi or Hindi, the voicing mark of Japanese kana (ガ is not カ)."""
    code = ord(char)
    return (0x0300 <= code <= 0x036F or 0x1AB0 <= code <= 0x1AFF or 0x1DC0 <= code <= 0x1DFF
            or 0x20D0 <= code <= 0x20FF or 0xFE20 <= code <= 0xFE2F)


def fold(text: str | None) -> str:
    """Case-, accent- and punctuation-blind form of a name: lower case, no accents, `&` as
    "and", apostrophes and full stops dropped, other punctuation as a space, single spaces.
    Scripts without case or accents (Korean, Chinese…) come back as they were."""
    if not text:
        return ""
    # The joiners go before NFKD, which would split ´ into a space and an accent.
    text = unicodedata.normalize("NFKD", text.translate(_JOINERS)).casefold()
    out = []
    for char in text.translate(_LETTERS).replace("&", " and "):
        if _is_accent(char):
            continue
        category = unicodedata.category(char)[0]
        out.append(char if category in "LNM" else " ")
    # NFC puts back together what NFKD took apart and is not an accent: Hangul syllables, kana.
    return " ".join(unicodedata.normalize("NFC", "".join(out)).split())


@functools.lru_cache(maxsize=100_000)
def match_key(name: str | None) -> str:
    """The folded name without its legal words, for comparing two names: "The Home Depot, Inc."
    -> "home depot". Word order is kept; the scorers in ctvdb/similar.py are blind to it. A name
    made only of legal words ("The Company") keeps them, so it still has something to compare.
    Remembered: the suggestions' index is built again from every customer's name after an import
    or a rename, and most names are the same as last time (a few MB for 100,000 names)."""
    folded = fold(name)
    words = [word for word in folded.split() if word not in LEGAL_WORDS]
    return " ".join(words) or folded
