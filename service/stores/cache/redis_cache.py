"""The reply cache on Redis, shared by every API replica and worker: the disk cache's keys and JSON values.

A reply cached by one process is a hit in every other. Entries expire ``cache_ttl_hours`` after they are
written; under memory pressure Redis' own eviction (``maxmemory-policy volatile-lru``) drops the least
recently used first, so the cache's size is bounded by the TTL and by Redis, never by us.

A cache must never fail an extraction: every operation gives up within a second, and a Redis that cannot be
reached costs a miss (a read) or nothing (a write). Failures are counted (``failures`` in ``/readyz``);
the first of an outage is logged, and so is the recovery. ``/readyz`` stays ready meanwhile, since
extractions go on without the cache.
"""

from __future__ import annotations

import logging

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.stores.cache.reply_cache import CachedReply

logger = logging.getLogger("claims.cache")
KEY_PREFIX = "claims:reply:"
_READ = TypeAdapter(CachedReply)


class RedisReplyCache:
    """A ``ReplyCache`` on Redis: entries with a TTL, misses when Redis cannot be reached."""

    def __init__(self, redis: Redis, ttl_s: float) -> None:
        self._redis = redis
        self._ttl_s = max(1, int(ttl_s))
        self._counts = {"hits": 0, "misses": 0, "writes": 0, "unreadable": 0, "failures": 0}
        self._outage = False

    async def get(self, key: str) -> CachedReply | None:
        """Return the reply stored under ``key``; what cannot be read, or reached, is a miss."""
        found = await self._read(key)
        self._counts["hits" if found is not None else "misses"] += 1
        return found

    async def _read(self, key: str) -> CachedReply | None:
        """Read and validate one entry; an entry that cannot be read is deleted and counted."""
        try:
            stored = await self._redis.get(KEY_PREFIX + key)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._reachable()
        if stored is None:
            return None
        try:
            return _READ.validate_json(stored)
        except ValidationError as exc:
            self._counts["unreadable"] += 1
            logger.warning("a reply cache entry could not be read (%d errors); deleted", exc.error_count())
            await self._delete(key)
            return None

    async def _delete(self, key: str) -> None:
        """Delete one entry, if Redis can be reached."""
        try:
            await self._redis.delete(KEY_PREFIX + key)
        except (RedisError, OSError) as exc:
            self._failed(exc)

    async def set(self, key: str, reply: CachedReply) -> None:
        """Store ``reply`` under ``key`` for ``cache_ttl_hours``; a Redis that cannot take it skips it."""
        try:
            await self._redis.set(KEY_PREFIX + key, _READ.dump_json(reply), ex=self._ttl_s)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return
        self._reachable()
        self._counts["writes"] += 1

    def _failed(self, exc: BaseException) -> None:
        """Count a failed operation; log the first of an outage."""
        self._counts["failures"] += 1
        if not self._outage:
            self._outage = True
            logger.warning("the reply cache on Redis cannot be reached (%s); extractions go on without it", exc)

    def _reachable(self) -> None:
        """Note that Redis answered; log the end of an outage."""
        if self._outage:
            self._outage = False
            logger.warning("the reply cache on Redis can be reached again")

    async def health(self) -> str | None:
        """Return None: an unreachable Redis costs misses, not readiness (``failures`` counts them)."""
        return None

    async def stats(self) -> dict[str, int]:
        """Return this process's counts of hits, misses, writes, unreadable entries and failed operations."""
        return dict(self._counts)

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.aclose()
