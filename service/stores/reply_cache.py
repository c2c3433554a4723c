"""The reply cache: diskcache behind a small get / set / stats interface, with explicit, versioned keys.

A key hashes everything that shapes a model's reply: the cache format version, the model alias's litellm
params without secrets, the rendered messages, the structured-output mode and the prompt's sha256. Only
replies that validated are stored, and marks for chunks too big to answer whole. diskcache is
SQLite-backed and safe across worker processes; a networked backend can slot in behind the same methods.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import diskcache

from service.errors import ConfigError

CACHE_FORMAT_VERSION = 1
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

    def get(self, key: str) -> CachedReply | None:
        """Return the reply stored under ``key``, if any."""

    def set(self, key: str, reply: CachedReply) -> None:
        """Store ``reply`` under ``key``."""

    def stats(self) -> dict[str, int]:
        """Return the size, and the hits, misses and writes counted since the cache was opened."""

    def close(self) -> None:
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


class DiskReplyCache:
    """A ``ReplyCache`` on diskcache, bounded in size (least recently stored evicted first)."""

    def __init__(self, directory: Path, size_limit_mb: int) -> None:
        try:
            self._cache = diskcache.Cache(str(directory), size_limit=size_limit_mb * 1024 * 1024)
        except (OSError, sqlite3.Error) as exc:  # not a directory, not writable, not creatable
            raise ConfigError(f"cache_dir {directory} cannot hold the cache: {exc}") from exc
        self._counts = {"hits": 0, "misses": 0, "writes": 0}

    def get(self, key: str) -> CachedReply | None:
        """Return the reply stored under ``key``, if any."""
        stored = self._cache.get(key)
        found = CachedReply(**stored) if isinstance(stored, dict) else None
        self._counts["hits" if found is not None else "misses"] += 1
        return found

    def set(self, key: str, reply: CachedReply) -> None:
        """Store ``reply`` under ``key``."""
        self._cache.set(key, asdict(reply))
        self._counts["writes"] += 1

    def stats(self) -> dict[str, int]:
        """Return the entry count and bytes on disk, and this process's hits, misses and writes."""
        return {"entries": len(self._cache), "bytes": int(self._cache.volume()), **self._counts}

    def close(self) -> None:
        """Close the underlying SQLite connections."""
        self._cache.close()


class NoReplyCache:
    """A ``ReplyCache`` that stores nothing, for ``cache_enabled: false``."""

    def get(self, key: str) -> CachedReply | None:
        """Return nothing: nothing is stored."""
        return None

    def set(self, key: str, reply: CachedReply) -> None:
        """Store nothing."""

    def stats(self) -> dict[str, int]:
        """Return zero entries, and nothing counted."""
        return {"entries": 0, "bytes": 0, "hits": 0, "misses": 0, "writes": 0}

    def close(self) -> None:
        """Release nothing: nothing is held."""
