"""An article's reading remembered: a re-POSTed article is not normalised, segmented and chunked again.

Reading an article (``normalize_text``, ``read_sentences``, ``chunk_sentences``) is a pure function of its
text, its format, its language and the chunking settings, and its results are frozen (``NormalizedText``,
``Sentence``, ``Chunk``), so a second request for the same text is given the first one's reading. It was a
third of the CPU of a re-POSTed eight-chunk article's cache hit. The memory is this process's, bounded by
the characters of the texts it holds (least recently used dropped first); each reading takes about 25 bytes
a character (the text twice, its offsets, its sentences), so the budget is about 3 MB at most.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache

from service.steps.chunking import Chunk
from service.steps.text import NormalizedText, Sentence

READ_BUDGET_CHARS = 120_000  # of article text: two of the sample eight times, or six 20 KB articles
ReadKey = tuple[str, str, str | None, int, int]  # text, format, language, chunk tokens, context sentences


@dataclass(frozen=True, slots=True)
class ArticleReading:
    """An article read: its working text, its sentences and its chunks."""

    normalized: NormalizedText
    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]


class RememberedReads:
    """A bounded, thread-safe memory of articles' readings, keyed by what a reading depends on."""

    def __init__(self, budget_chars: int = READ_BUDGET_CHARS) -> None:
        self._memory: LRUCache[ReadKey, ArticleReading] = LRUCache(
            maxsize=budget_chars, getsizeof=lambda reading: len(reading.normalized.text) or 1
        )
        self._lock = threading.Lock()

    def read(
        self, key: ReadKey, read: Callable[[], tuple[NormalizedText, list[Sentence], list[Chunk]]]
    ) -> tuple[NormalizedText, list[Sentence], list[Chunk]]:
        """Return the reading remembered under ``key``, else ``read()``'s, remembered when it fits the budget.

        The lists are new each time, so a caller may change them; what they hold is frozen.
        """
        with self._lock:
            remembered = self._memory.get(key)
        if remembered is None:
            normalized, sentences, chunks = read()
            remembered = ArticleReading(normalized, tuple(sentences), tuple(chunks))
            if len(normalized.text) <= self._memory.maxsize:
                with self._lock:
                    self._memory[key] = remembered
        return remembered.normalized, list(remembered.sentences), list(remembered.chunks)

    def clear(self) -> None:
        """Forget every reading (a benchmark measuring a first reading uses it)."""
        with self._lock:
            self._memory.clear()
