"""Open the configured reply cache: on Redis with ``redis_url``, else diskcache; or one storing nothing."""

from __future__ import annotations

from service.settings import Settings
from service.stores.cache.disk_cache import DiskReplyCache
from service.stores.cache.reply_cache import NoReplyCache, ReplyCache


def open_reply_cache(settings: Settings) -> ReplyCache:
    """Open the configured reply cache: on Redis with ``redis_url``, else diskcache; or one storing nothing."""
    if not settings.cache_enabled:
        return NoReplyCache()
    redis_url = settings.shared_redis_url()
    if redis_url is not None:  # the Redis stores load only when used: an embedded process never imports them
        from service.stores.cache.redis_cache import RedisReplyCache
        from service.stores.redis_connection import CACHE_TIMEOUT_S, open_redis

        return RedisReplyCache(open_redis(redis_url, timeout_s=CACHE_TIMEOUT_S), settings.cache_ttl_hours * 3600)
    return DiskReplyCache(settings.cache_dir, settings.cache_size_limit_mb)
