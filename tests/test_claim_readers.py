"""The fast readers of claims.py give what their plain definitions give, on any text.

The gate reads every sentence with them, so they avoid a match object per word, a regular
expression per name word and a search that cannot find anything; each shortcut must agree with the
definition it replaces, including on text where lowercasing changes lengths ("İ").
"""

from __future__ import annotations

import random

from thesisgen import claims

PIECES = [
    *"abcSTUxyz ,.;:'’&-–—_()\"“”%$019\nİKΣé²",
    "The ", "the company", "Management", " not ", " and ", " rose ", "POSCO's ", "ReElement",
    " U.S. ", "iPhone", " BUY ", "'s", " no more than ", " 80% ", " to ", " May ", " Inc. ",
    "parents'", "rare-earth", "R&D",
]  # fmt: skip


def texts(count: int = 3000) -> list[str]:
    rng = random.Random(12)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40))) for _ in range(count)]


def test_tokens_are_the_token_pattern_s_matches() -> None:
    for text in texts():
        low = text.lower().replace("’", "'")
        expected = [(m.start(), m.end(), m.group(0)) for m in claims._TOKEN.finditer(low)]
        words, starts, ends, aligned = claims._split(text)
        assert list(zip(starts, ends, words, strict=True)) == expected, text
        assert aligned == (len(low) == len(text))


def test_word_starts_are_the_word_pattern_s_starts() -> None:
    for text in texts():
        expected = [m.start() for m in claims._WORD.finditer(text)]
        assert claims._Text.of(text, []).starts == expected, text


def test_name_words_and_possessives_are_the_possessive_pattern_s() -> None:
    for text in texts():
        for word in [*text.split(), text]:
            assert claims._possessive(word) == bool(claims._POSSESSIVE.search(word)), word
            assert claims._unpossessive(word) == claims._POSSESSIVE.sub("", word), word


def test_found_phrases_read_as_their_words_as_written() -> None:
    for text in texts():
        for found in claims._scan(text):
            for match in found:
                assert match.phrase() == claims._key(match.group(0)), text


def test_shortcuts_skip_only_texts_without_a_match() -> None:
    samples = [
        "We rate it a BUY.",
        "The Company's plant",
        "Management said",
        "the theme",
        "he firm",
    ]
    for text in [*texts(), *samples]:
        if claims._RATING_CAPS.search(text):
            assert any(c in text for c in claims._CAPITALS), text
        cue = any(c in text for c in claims._COMPANY_CUES)
        assert claims._may_name_the_company(text) == cue, text
        if claims._THE_COMPANY.search(text):
            assert cue, text
        low = text.lower()
        long_runs = [w for w in claims._CONTENT.findall(low) if len(w) > 2]
        assert claims._CONTENT_WORD.findall(low) == long_runs, text
