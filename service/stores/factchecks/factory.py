"""Open the fact-check archive's store: on Redis with ``redis_url`` (shared by every replica), else SQLite."""

from __future__ import annotations

from service.settings import Settings
from service.stores.factchecks.factcheck_store import FactCheckStore
from service.stores.factchecks.sqlite_factchecks import SqliteFactChecks


def open_factcheck_store(settings: Settings) -> FactCheckStore:
    """Open the archive's store: on Redis with ``redis_url``, else SQLite under ``data_dir`` (ConfigError: unusable)."""
    retention_s = settings.job_retention_hours * 3600
    redis_url = settings.shared_redis_url()
    if redis_url is not None:  # the Redis store loads only when used: an embedded process never imports it
        from service.stores.factchecks.redis_factchecks import RedisFactChecks

        return RedisFactChecks(redis_url, retention_s=retention_s)
    return SqliteFactChecks(settings.data_dir, retention_s=retention_s)
