"""How telling a word is, from a fixed corpus: its idf over the 10,375 CLEF 2020 Snopes fact-checks.

The match model weighs shared words by these, never by the archive's own idf: over an archive of one
fact-check every word would weigh the same, and the score would change with the archive's size. The table
(``word_weights.json``, stems seen in two fact-checks or more) is written by
``training/train_factcheck_match.py``; a stem it lacks is rarer still and weighs ``log(1 + N)``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("word_weights.json")
MIN_DOCUMENTS = 2  # stems seen once weigh what an unseen stem does: not kept


@cache
def _table() -> tuple[int, dict[str, int]]:
    """Return the corpus's document count and each kept stem's document frequency (read once)."""
    spec = json.loads(TABLE.read_text(encoding="utf-8"))
    return int(spec["documents"]), {str(word): int(count) for word, count in spec["counts"].items()}


def word_weight(word: str) -> float:
    """Return a stem's idf over the fixed corpus, log(1 + N / df)."""
    documents, counts = _table()
    return math.log1p(documents / counts.get(word, 1))


def weight_of(words: Iterable[str]) -> float:
    """Return the summed weight of the stems."""
    return sum(word_weight(word) for word in words)


def table_of(documents: Iterable[Iterable[str]]) -> dict[str, object]:
    """Return the JSON form of the table for documents given as their stems (for the trainer)."""
    counts: Counter[str] = Counter()
    total = 0
    for words in documents:
        counts.update(set(words))
        total += 1
    kept = {word: count for word, count in sorted(counts.items()) if count >= MIN_DOCUMENTS}
    return {
        "corpus": "CLEF 2020 CheckThat! task 2 fact-checks (claim and title, stemmed)",
        "documents": total,
        "counts": kept,
    }
