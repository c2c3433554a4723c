"""The reply cache: a small get / set / stats / health interface, with explicit, versioned keys.

A key hashes everything that shapes a model's reply: the cache format version, the model alias's litellm
params without secrets, the rendered messages, the structured-output mode and the prompt's sha256. Only
replies that validated are stored, and marks for chunks too big to answer whole. The disk backend is
``service.stores.cache.disk_cache``; a networked one slots in behind the same methods.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

CACHE_FORMAT_VERSION = 2  # 2: replies stored as JSON text, not pickles
REPLY_NEUTRAL_PARAMS = frozenset({"rpm", "tpm", "timeout", "stream_timeout"})


@dataclass(frozen=True, slots=True)
class CachedReply:
    """A validated model reply as stored: its JSON text and what producing it cost.

    ``too_big`` marks instead a chunk the model could not answer whole (its reply was cut off, or the chunk
    overflowed its window); ``content`` then says why, and the chunk is asked in halves straight away.
    """

    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    too_big: bool = False

    @classmethod
    def reply(cls, content: str, model: str, prompt_tokens: int, completion_tokens: int) -> CachedReply:
        """Return a validated reply to store, with what producing it cost."""
        return cls(content=content, model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    @classmethod
    def too_big_marker(cls, detail: str, model: str) -> CachedReply:
        """Return the mark of a chunk ``model`` could not answer whole, ``detail`` saying why."""
        return cls(content=detail, model=model, prompt_tokens=0, completion_tokens=0, too_big=True)


class ReplyCache(Protocol):
    """What the pipeline needs from a cache."""

    async def get(self, key: str) -> CachedReply | None:
        """Return the reply stored under ``key``, if any."""

    async def set(self, key: str, reply: CachedReply) -> None:
        """Store ``reply`` under ``key``."""

    async def stats(self) -> dict[str, int]:
        """Return the size, and the hits, misses and writes counted since the cache was opened."""

    async def health(self) -> str | None:
        """Return why the cache cannot be used now, or None when it can."""

    async def close(self) -> None:
        """Release files and connections."""


def cache_key(
    *,
    model_params: Mapping[str, Any],
    messages: Sequence[Mapping[str, str]],
    response_mode: str,
    prompt_sha256: str,
) -> str:
    """Return the hex key of one model call; ``model_params`` must already be free of secrets.

    Params that bound the call but never shape the reply (rate limits, timeouts) are left out, so tuning
    them keeps the cache.
    """
    material = {
        "format": CACHE_FORMAT_VERSION,
        "model": {key: value for key, value in model_params.items() if key not in REPLY_NEUTRAL_PARAMS},
        "messages": [dict(message) for message in messages],
        "response": response_mode,
        "prompt": prompt_sha256,
    }
    canonical = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class NoReplyCache:
    """A ``ReplyCache`` that stores nothing, for ``cache_enabled: false``."""

    async def get(self, key: str) -> CachedReply | None:
        """Return nothing: nothing is stored."""
        return None

    async def set(self, key: str, reply: CachedReply) -> None:
        """Store nothing."""

    async def stats(self) -> dict[str, int]:
        """Return zero entries, and nothing counted."""
        return {"entries": 0, "bytes": 0, "hits": 0, "misses": 0, "writes": 0}

    async def health(self) -> str | None:
        """Return None: storing nothing never fails."""
        return None

    async def close(self) -> None:
        """Release nothing: nothing is held."""
