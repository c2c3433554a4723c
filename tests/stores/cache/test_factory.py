"""Tests of ``service/stores/cache/factory.py``: the reply cache the settings ask for."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings
from service.stores.cache.disk_cache import DiskReplyCache
from service.stores.cache.factory import open_reply_cache
from service.stores.cache.redis_cache import RedisReplyCache
from service.stores.cache.reply_cache import NoReplyCache


async def test_the_cache_is_on_disk_by_default_on_redis_with_a_url_and_absent_when_off(
    tmp_path: Path, redis_url: str
) -> None:
    """No ``redis_url``: diskcache under ``cache_dir``; with one: Redis; ``cache_enabled: false``: nothing stored."""
    on_disk = open_reply_cache(Settings(cache_dir=tmp_path / "cache"))
    on_redis = open_reply_cache(Settings(cache_dir=tmp_path / "unused", redis_url=redis_url))
    assert isinstance(on_disk, DiskReplyCache)
    assert isinstance(on_redis, RedisReplyCache)
    assert not (tmp_path / "unused").exists()
    assert isinstance(open_reply_cache(Settings(cache_enabled=False, redis_url=redis_url)), NoReplyCache)
    await on_disk.close()
    await on_redis.close()
