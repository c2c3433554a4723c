"""The archive at scale: fact-checks, vectors and import jobs on the Redis every replica shares (``redis_url``).

Keys: ``claims:factchecks:records`` (hash: URL → the fact-check's JSON), ``…:vectors`` (URL → float32
bytes), ``…:embedders`` (URL → the embedder's tag), ``…:version`` (a counter every write takes one higher)
and ``…:changes`` (a sorted set: URL → the version that last wrote it, removals included). Each write is one
Lua script, so a reader never sees half of it. A replica asks for the version before it searches (one GET)
and, when it moved, reads only the URLs whose version is higher than the one it holds. None of these keys
has a TTL, so ``maxmemory-policy volatile-lru`` never evicts the archive; import jobs expire after the
jobs' retention. A Redis that cannot be reached is ``StoreUnavailable`` (a 503).
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.factcheck_archive import ImportJob
from service.errors import StoreUnavailable
from service.stores import redis_guard
from service.stores.factchecks.factcheck_store import Changes, StoredFactCheck, Written
from service.stores.redis_connection import LIMITS_TIMEOUT_S, open_redis, redacted

PREFIX = "claims:factchecks:"
RECORDS, VECTORS, EMBEDDERS = PREFIX + "records", PREFIX + "vectors", PREFIX + "embedders"
VERSION, CHANGES = PREFIX + "version", PREFIX + "changes"
IMPORT = PREFIX + "import:"
READ_BATCH = 1000
KEYS = (RECORDS, VECTORS, EMBEDDERS, CHANGES, VERSION)
UPSERT = """
local version = redis.call('INCR', KEYS[5])
local imported, updated = 0, 0
for i = 1, #ARGV, 4 do
  local url = ARGV[i]
  if redis.call('HSET', KEYS[1], url, ARGV[i + 1]) == 1 then imported = imported + 1 else updated = updated + 1 end
  if ARGV[i + 2] == '' then redis.call('HDEL', KEYS[2], url) else redis.call('HSET', KEYS[2], url, ARGV[i + 2]) end
  if ARGV[i + 3] == '' then redis.call('HDEL', KEYS[3], url) else redis.call('HSET', KEYS[3], url, ARGV[i + 3]) end
  redis.call('ZADD', KEYS[4], version, url)
end
return {version, imported, updated}
"""
REMOVE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[1])
return 1
"""


reached = redis_guard.reached("the fact-check archive")


def _text(value: bytes | None) -> str | None:
    """Return stored bytes as text (None stays None)."""
    return None if value is None else value.decode("utf-8")


class RedisFactChecks:
    """The ``FactCheckStore`` shared by every replica."""

    def __init__(self, url: str, *, retention_s: float) -> None:
        self.where = redacted(url)
        self._redis = open_redis(url, timeout_s=LIMITS_TIMEOUT_S)
        self._retention_s = retention_s
        self._upsert = self._redis.register_script(UPSERT)
        self._remove = self._redis.register_script(REMOVE)

    @reached
    async def upsert(self, rows: Sequence[StoredFactCheck]) -> Written:
        """Write the rows in one script under a new version; count the new and the replaced."""
        arguments: list[str | bytes] = []
        for row in rows:
            arguments += [row.url, row.record or "", row.vector or b"", row.embedder or ""]
        version, imported, updated = await self._upsert(keys=KEYS, args=arguments)
        return Written(version=int(version), imported=int(imported), updated=int(updated))

    @reached
    async def remove(self, url: str) -> bool:
        """Remove one fact-check in one script (its change recorded for the replicas); say whether it was there."""
        return bool(await self._remove(keys=KEYS, args=[url]))

    @reached
    async def get(self, url: str) -> StoredFactCheck | None:
        """Return the row of ``url``, or None."""
        rows = await self._rows([url])
        return rows[0] if rows[0].record is not None else None

    @reached
    async def version(self) -> int:
        """Return the archive's version (one GET)."""
        return int(await self._redis.get(VERSION) or 0)

    @reached
    async def changes_since(self, version: int) -> Changes:
        """Return the rows whose version is above ``version``, read with the version in one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(VERSION)
            pipe.zrangebyscore(CHANGES, f"({version}", "+inf")
            current_raw, changed = await pipe.execute()
        current = int(current_raw or 0)
        if current < version:  # the Redis restarted empty, or was flushed: start over from what it holds
            everything = await self.changes_since(0)
            return Changes(version=everything.version, rows=everything.rows, reset=True)
        urls = [url.decode("utf-8") for url in changed]
        rows = [
            row
            for start in range(0, len(urls), READ_BATCH)
            for row in await self._rows(urls[start : start + READ_BATCH])
        ]
        return Changes(version=current, rows=rows)

    async def _rows(self, urls: list[str]) -> list[StoredFactCheck]:
        """Read the rows of ``urls`` (a removed one has no record)."""
        if not urls:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(RECORDS, urls)
            pipe.hmget(VECTORS, urls)
            pipe.hmget(EMBEDDERS, urls)
            records, vectors, embedders = await pipe.execute()
        return [
            StoredFactCheck(url=url, record=_text(record), vector=vector, embedder=_text(embedder))
            for url, record, vector, embedder in zip(urls, records, vectors, embedders, strict=True)
        ]

    @reached
    async def count(self) -> int:
        """Return how many fact-checks the archive holds."""
        return int(await self._redis.hlen(RECORDS))  # type: ignore[misc] # redis-py types hlen for both clients

    @reached
    async def save_import(self, job: ImportJob) -> None:
        """Store an import job's state, to expire after the jobs' retention."""
        await self._redis.set(IMPORT + job.id, job.model_dump_json(), ex=max(1, int(self._retention_s)))

    @reached
    async def load_import(self, job_id: str) -> ImportJob | None:
        """Return an import job's state, or None."""
        found = await self._redis.get(IMPORT + job_id)
        return None if found is None else ImportJob.model_validate_json(found)

    async def health(self) -> str | None:
        """Return why the Redis cannot be used now, or None."""
        try:
            await self.version()
        except StoreUnavailable as exc:
            return exc.detail
        return None

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()
