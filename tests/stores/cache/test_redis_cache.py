"""Tests of ``service/stores/cache/redis_cache.py``: the reply cache on a real Redis, shared, expiring, never fatal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from benchmarks.client import get_json
from benchmarks.processes import service_config, start_provider, start_service, wait_ready
from service.stores.cache.redis_cache import KEY_PREFIX, RedisReplyCache
from service.stores.cache.reply_cache import CachedReply
from tests.jobs.test_crash import request

REPLY = CachedReply(content='{"claims": []}', model="openai/gpt-4o-mini", prompt_tokens=412, completion_tokens=9)


async def test_one_process_reads_what_another_wrote(redis_url: str) -> None:
    """Two caches on one Redis (two processes): a reply written by one is a hit in the other, whole."""
    writer = RedisReplyCache(Redis.from_url(redis_url), ttl_s=60)
    reader = RedisReplyCache(Redis.from_url(redis_url), ttl_s=60)
    try:
        await writer.set("k", REPLY)
        assert await reader.get("k") == REPLY
        assert await reader.get("other") is None
        assert (await reader.stats())["hits"] == 1
        assert (await reader.stats())["misses"] == 1
    finally:
        await writer.close()
        await reader.close()


async def test_entries_expire_after_the_ttl(redis_url: str) -> None:
    """Each entry is written with ``cache_ttl_hours`` as its Redis TTL, so the cache's size stays bounded."""
    cache = RedisReplyCache(Redis.from_url(redis_url), ttl_s=3600)
    try:
        await cache.set("k", REPLY)
        ttl = redis.Redis.from_url(redis_url).ttl(KEY_PREFIX + "k")
    finally:
        await cache.close()
    assert 3590 <= ttl <= 3600


async def test_an_unreadable_entry_is_a_miss_and_is_deleted(redis_url: str) -> None:
    """Garbage under a key reads as a miss, is counted, and is removed."""
    raw = redis.Redis.from_url(redis_url)
    raw.set(KEY_PREFIX + "k", b"\x80not json")
    cache = RedisReplyCache(Redis.from_url(redis_url), ttl_s=60)
    try:
        assert await cache.get("k") is None
        assert (await cache.stats())["unreadable"] == 1
    finally:
        await cache.close()
    assert raw.exists(KEY_PREFIX + "k") == 0


async def test_a_redis_that_cannot_be_reached_costs_misses_not_errors(caplog: pytest.LogCaptureFixture) -> None:
    """With Redis down, reads miss and writes are skipped within the timeout; one warning, failures counted."""
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    cache = RedisReplyCache(down, ttl_s=60)
    try:
        assert await cache.get("k") is None
        await cache.set("k", REPLY)
        assert await cache.get("k") is None
        stats = await cache.stats()
        assert await cache.health() is None  # the service stays ready: extractions go on without the cache
    finally:
        await cache.close()
    assert (stats["failures"], stats["misses"], stats["writes"]) == (3, 2, 0)
    assert sum("cannot be reached" in record.message for record in caplog.records) == 1


@pytest.fixture
def real_sockets(http_mock: Any) -> None:
    """The replica test speaks plain HTTP over loopback, outside respx, which patches httpx only."""


def test_a_reply_cached_by_one_api_replica_is_a_hit_in_another(
    tmp_path: Path, redis_url: str, real_sockets: None, sample_article: str
) -> None:
    """Two ``claims serve`` replicas on one Redis: the second extracts the same article with 0 model calls."""
    provider = start_provider(50, tmp_path, max_seconds=120)
    config = service_config(provider.port, tmp_path / "cache", 4, 16) | {"redis_url": redis_url}
    first = start_service("first", config, tmp_path)
    second = start_service("second", config | {"cache_dir": str(tmp_path / "other-cache")}, tmp_path)
    body = json.dumps({"article": {"text": sample_article}})
    try:
        asyncio.run(wait_ready(first))
        asyncio.run(wait_ready(second))
        by_first = request(first.port, "POST", "/v1/extractions", body, "application/json")
        calls_after_first = asyncio.run(get_json(provider.port, "/stats"))["calls"]
        by_second = request(second.port, "POST", "/v1/extractions", body, "application/json")
        calls_after_second = asyncio.run(get_json(provider.port, "/stats"))["calls"]
    finally:
        for process in (second, first, provider):
            process.stop()
    assert by_first["usage"]["model_calls"] == by_first["usage"]["chunks"] == calls_after_first > 0
    assert by_second["usage"]["model_calls"] == 0
    assert by_second["usage"]["cache_hits"] == by_second["usage"]["chunks"]
    assert calls_after_second == calls_after_first
    assert [claim["text"] for claim in by_second["claims"]] == [claim["text"] for claim in by_first["claims"]]
    print(f"\nfirst replica: {calls_after_first} model calls; second replica: 0 calls, "
          f"{by_second['usage']['cache_hits']} cache hits")  # fmt: skip
