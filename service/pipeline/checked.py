"""What was checked of a chunk's reply, remembered: a cache hit is not grounded or checked again.

Grounding and the faithfulness gate are pure functions of the reply (its JSON, as the reply cache holds
it), the chunk (its sentences, their ids and offsets, its context), the article's text (which the offsets
map back to), the title, the model that answered and the faithfulness mode. ``checked_key`` hashes all of
them, so a remembered outcome is returned only where checking again would give the same claims and the
same notices: the same reply for the same chunk of another article, or at another place, is checked anew.

The memory is this process's, bounded by the size of the replies it holds (least recently used dropped
first), and is filled on a miss, so the first hit is already cheap. It is never written to the reply
cache, whose format is unchanged.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from cachetools import LRUCache

from schemas import Notice
from service.steps.chunking import Chunk
from service.steps.grounding import GroundedClaim, Producer

CHECKED_BUDGET_CHARS = 500_000  # of reply JSON: ~40 chunks of 20 claims; their objects take ~4× that, ~2 MB


@dataclass(frozen=True, slots=True)
class Checked:
    """A chunk's reply as checked: the claims kept (grounded, faithful) and a notice for each one dropped."""

    claims: tuple[GroundedClaim, ...]
    notices: tuple[Notice, ...]
    weight: int  # characters of the reply it came from, for the memory's budget


def checked_key(
    *,
    reply_key: str,
    content: str,
    producer: Producer,
    chunk: Chunk,
    article_sha256: str,
    title: str | None,
    faithfulness: str,
) -> str:
    """Return the key of checking ``content`` for ``chunk``: a hash of everything the outcome depends on."""
    shown = (*chunk.context, *chunk.sentences)
    places = [(s.id, s.start, s.end, s.paragraph, s.speaker) for s in shown]
    fields = [reply_key, content, producer.alias, producer.model, article_sha256, repr(title), faithfulness]
    fields += [repr((chunk.index, len(chunk.context), places)), *(s.text for s in shown)]
    return hashlib.sha256("\x00".join(fields).encode("utf-8")).hexdigest()


class CheckedReplies:
    """A bounded, thread-safe memory of checked replies, keyed by ``checked_key``."""

    def __init__(self, budget_chars: int = CHECKED_BUDGET_CHARS) -> None:
        self._memory: LRUCache[str, Checked] = LRUCache(maxsize=budget_chars, getsizeof=lambda c: c.weight)
        self._lock = threading.Lock()

    def get(self, key: str) -> Checked | None:
        """Return what was checked under ``key``, if it is still remembered."""
        with self._lock:
            return self._memory.get(key)

    def put(self, key: str, checked: Checked) -> None:
        """Remember ``checked`` (a reply bigger than the whole budget is not kept)."""
        if checked.weight > self._memory.maxsize:
            return
        with self._lock:
            self._memory[key] = checked

    def clear(self) -> None:
        """Forget everything (a benchmark measuring a first check uses it)."""
        with self._lock:
            self._memory.clear()


CHECKED = CheckedReplies()
