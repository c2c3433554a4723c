"""Tests of ``service/stores/jobs/factory.py``: the job store the settings ask for."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings
from service.stores.jobs.factory import open_job_store
from service.stores.jobs.redis_jobs import RedisJobs
from service.stores.jobs.sqlite_jobs import SqliteJobs


async def test_jobs_live_in_sqlite_under_data_dir_or_on_redis_with_a_url(tmp_path: Path, redis_url: str) -> None:
    """No ``redis_url``: SQLite in ``data_dir``; with one: Redis, and nothing written to ``data_dir``."""
    embedded = open_job_store(Settings(data_dir=tmp_path / "data"))
    shared = open_job_store(Settings(data_dir=tmp_path / "unused", redis_url=redis_url))
    assert isinstance(embedded, SqliteJobs)
    assert isinstance(shared, RedisJobs)
    assert list((tmp_path / "data").iterdir())
    assert not (tmp_path / "unused").exists()
    await embedded.close()
    await shared.close()
