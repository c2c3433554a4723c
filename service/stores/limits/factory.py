"""Open the per-model rate limits and the API keys' quotas: in this process, or shared on Redis with ``redis_url``."""

from __future__ import annotations

from service.settings import Settings
from service.stores.limits.quotas import KeyQuotas
from service.stores.limits.rate_limits import RateLimits


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
