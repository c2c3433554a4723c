"""How an extraction reports its progress while it runs: once its models are about to be asked, then each chunk.

The JSON reply and the server-sent events run the one pipeline; the events only listen. ``started`` is said
once the extraction's estimate is held on its key's budget (so a refusal comes before it, as an error), and
``answered`` once per chunk, in the order the chunks are answered, with the chunk's claims as the API shows
them: grounded, checked and filtered, but not yet de-duplicated across chunks.
"""

from __future__ import annotations

from typing import Protocol

from schemas.streaming import ChunkClaims


class Progress(Protocol):
    """What listens to an extraction as it runs (the methods are called on the event loop and must not block)."""

    def started(self, chunks: int) -> None:
        """Hear that the estimate is held and the ``chunks`` are about to be asked."""

    def answered(self, chunk: ChunkClaims) -> None:
        """Hear that a chunk was answered (or failed): its provisional claims, warnings and errors."""
