"""Stub answers in the facts stage's format, with evidence numbers computed from the source text.

A facts answer names evidence by sentence number (:class:`thesisgen.evidence.Numbered`). Tests
name a phrase instead and look its sentences up at test time, so the answers do not break when the
segmenter cuts sentences differently.
"""

from __future__ import annotations

from typing import Any

from thesisgen.evidence import Numbered
from thesisgen.grounding import Folded
from thesisgen.models import Source


def sentences_of(numbered: Numbered, phrase: str, occurrence: int = 0) -> list[int]:
    """The numbers of the sentences the ``occurrence``-th match of ``phrase`` overlaps (the phrase
    is found as quotes are: across line breaks, curly quotes and dashes)."""
    found = Folded.of(numbered.source.text).locate_all(phrase)
    assert len(found) > occurrence, f"{phrase!r} is not in {numbered.source.id} that often"
    at = found[occurrence]
    numbers = [
        n for n, s in enumerate(numbered.sentences, 1) if s.start < at.end and at.start < s.end
    ]
    assert numbers, f"{phrase!r} is in no sentence of {numbered.source.id}"
    return numbers


def sentence_of(numbered: Numbered, phrase: str, occurrence: int = 0) -> int:
    """The number of the one sentence that holds ``phrase``."""
    numbers = sentences_of(numbered, phrase, occurrence)
    assert len(numbers) == 1, f"{phrase!r} spans sentences {numbers}"
    return numbers[0]


def proposed(
    source: Source | Numbered, statement: str, phrase: str, topic: str = "other"
) -> dict[str, Any]:
    """One proposed fact as the model answers it: evidence is the sentences holding ``phrase``."""
    numbered = source if isinstance(source, Numbered) else Numbered.of(source)
    return {
        "evidence": sentences_of(numbered, phrase),
        "statement": statement,
        "topic": topic,
    }
