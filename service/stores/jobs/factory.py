"""Open the configured job store: on Redis with ``redis_url``, else SQLite under ``data_dir``."""

from __future__ import annotations

from service.settings import Settings
from service.stores.jobs.job_store import JobBackend
from service.stores.jobs.sqlite_jobs import SqliteJobs


def open_job_store(settings: Settings) -> JobBackend:
    """Open the jobs backend: on Redis with ``redis_url``, else SQLite under ``data_dir`` (ConfigError if unusable)."""
    retention_s = settings.job_retention_hours * 3600
    redis_url = settings.shared_redis_url()
    if redis_url is not None:  # the Redis stores load only when used: an embedded process never imports them
        from service.stores.jobs.redis_jobs import RedisJobs

        return RedisJobs(redis_url, lease_s=settings.job_lease_s, retention_s=retention_s)
    return SqliteJobs(settings.data_dir, lease_s=settings.job_lease_s, retention_s=retention_s)
