"""Tests of ``service/factchecks/word_weights.py``: word weights from a fixed corpus, not from the archive."""

from __future__ import annotations

import math

from service.factchecks.text import stemmed_words
from service.factchecks.word_weights import table_of, weight_of, word_weight


def test_a_rare_word_weighs_more_than_a_common_one() -> None:
    """The stem of "Guantanamo" is rarer among the CLEF fact-checks than "people"; an unseen stem is rarest."""
    guantanamo, people = stemmed_words("Guantanamo people")
    assert word_weight(people) < word_weight(guantanamo) <= word_weight("zzzunseenzzz")
    assert weight_of([people, guantanamo]) == word_weight(people) + word_weight(guantanamo)


def test_the_table_keeps_stems_seen_twice_and_counts_documents() -> None:
    """A stem in one document only is left out (it weighs what an unseen one does); each document counts once."""
    table = table_of([["vaccin", "autism", "autism"], ["vaccin", "flu"], ["moon"]])
    assert table["documents"] == 3
    assert table["counts"] == {"vaccin": 2}
    assert math.isclose(math.log1p(3 / 2), 0.9162907318741551)
