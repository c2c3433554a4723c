"""Build the pipeline from settings: prompts loaded and verified, the reply cache opened, the model client made.

The API, the CLI and the evaluations all build it here, so none of them sits above another.
"""

from __future__ import annotations

from service.llm.client import ModelClient
from service.pipeline.extraction import Pipeline
from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.settings import Settings
from service.stores.disk_cache import DiskReplyCache
from service.stores.job_store import JobBackend
from service.stores.quotas import KeyQuotas
from service.stores.rate_limits import RateLimits
from service.stores.reply_cache import NoReplyCache, ReplyCache
from service.stores.sqlite_jobs import SqliteJobs


def open_reply_cache(settings: Settings) -> ReplyCache:
    """Open the configured reply cache: on Redis with ``redis_url``, else diskcache; or one storing nothing."""
    if not settings.cache_enabled:
        return NoReplyCache()
    redis_url = settings.shared_redis_url()
    if redis_url is not None:  # the Redis stores load only when used: an embedded process never imports them
        from service.stores.redis_cache import RedisReplyCache
        from service.stores.redis_connection import CACHE_TIMEOUT_S, open_redis

        return RedisReplyCache(open_redis(redis_url, timeout_s=CACHE_TIMEOUT_S), settings.cache_ttl_hours * 3600)
    return DiskReplyCache(settings.cache_dir, settings.cache_size_limit_mb)


def open_rate_limits(settings: Settings) -> RateLimits:
    """Open the per-model rate limits: in this process, or shared on Redis with ``redis_url``."""
    redis_url = settings.shared_redis_url()
    if redis_url is None:
        return RateLimits(settings.models, settings.rate_limit_wait_s)
    from service.stores.redis_connection import LIMITS_TIMEOUT_S, open_redis

    return RateLimits(settings.models, settings.rate_limit_wait_s, open_redis(redis_url, timeout_s=LIMITS_TIMEOUT_S))


def open_quotas(settings: Settings) -> KeyQuotas:
    """Open the API keys' quotas: in this process, or shared on Redis with ``redis_url``."""
    redis_url = settings.shared_redis_url()
    if redis_url is None:
        return KeyQuotas()
    from service.stores.redis_connection import LIMITS_TIMEOUT_S, open_redis

    return KeyQuotas(open_redis(redis_url, timeout_s=LIMITS_TIMEOUT_S))


def open_job_store(settings: Settings) -> JobBackend:
    """Open the jobs backend: on Redis with ``redis_url``, else SQLite under ``data_dir`` (ConfigError if unusable)."""
    retention_s = settings.job_retention_hours * 3600
    redis_url = settings.shared_redis_url()
    if redis_url is not None:
        from service.stores.redis_jobs import RedisJobs

        return RedisJobs(redis_url, lease_s=settings.job_lease_s, retention_s=retention_s)
    return SqliteJobs(settings.data_dir, lease_s=settings.job_lease_s, retention_s=retention_s)


def build_pipeline(settings: Settings) -> Pipeline:
    """Load and verify prompts, open the cache and rate limits, build the model client; ConfigError when unusable."""
    prompts = PromptRegistry.load(settings.prompts_dir or default_prompts_dir())
    prompts.get(settings.prompt)  # the configured default prompt must exist
    client = ModelClient(settings, open_rate_limits(settings))
    return Pipeline(settings=settings, prompts=prompts, cache=open_reply_cache(settings), client=client)
