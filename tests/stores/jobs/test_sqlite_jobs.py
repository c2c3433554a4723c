"""Tests of ``service/stores/jobs/sqlite_jobs.py`` beyond the shared contract: a damaged file, at start and in use."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.errors import ConfigError, StoreUnavailable
from service.stores.jobs.sqlite_jobs import SqliteJobs
from tests.damage import announce_change, filled_job_store, scribble


def open_store(data_dir: Path) -> SqliteJobs:
    """Open the embedded job store under ``data_dir``."""
    return SqliteJobs(data_dir, lease_s=30.0, retention_s=3600.0)


def test_a_scribbled_job_store_refuses_to_start_naming_the_file_and_leaving_it_in_place(tmp_path: Path) -> None:
    """Pages of random bytes: ConfigError on one line naming the file and where to move it; the file untouched."""
    data_dir = tmp_path / "data"
    database = filled_job_store(data_dir)
    scribble(database)
    before = database.read_bytes()
    with pytest.raises(ConfigError) as refused:
        open_store(data_dir)
    detail = refused.value.detail
    assert detail.startswith(f"the job store {database} is damaged (PRAGMA quick_check found: ")
    assert f"move it aside (mv {database} {database}.damaged) to start with an empty job store" in detail
    assert "\n" not in detail
    assert database.read_bytes() == before  # the accepted jobs are the operator's to recover, not ours to drop
    assert sorted(path.name for path in data_dir.iterdir()) == ["jobs.db"]


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "it is empty (0 bytes)"), (b"PK\x03\x04" + bytes(4092), "it is not a SQLite database")],
)
def test_an_empty_or_foreign_job_store_file_refuses_to_start(tmp_path: Path, content: bytes, why: str) -> None:
    """A 0-byte jobs.db (a truncation lost its jobs) or one that is not SQLite is never taken for an empty store."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "jobs.db").write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        open_store(data_dir)
    assert refused.value.detail.startswith(f"the job store {data_dir / 'jobs.db'} is damaged ({why}); ")
    assert (data_dir / "jobs.db").read_bytes() == content


async def test_damage_met_while_serving_is_store_unavailable_naming_the_store_and_stays_unhealthy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Pages scribbled under a running store: StoreUnavailable (a 503), then no more use of it; health fails; logged."""
    data_dir = tmp_path / "data"
    database = filled_job_store(data_dir)
    store = open_store(data_dir)
    try:
        assert len(await store.recent(100, None)) == 60
        assert await store.health() is None
        scribble(database)
        announce_change(database)
        damaged = f"the job store {database} is damaged (database disk image is malformed); restart to check it"
        with pytest.raises(StoreUnavailable) as failed:
            await store.recent(100, None)
        assert failed.value.detail == f"the job store {database} cannot be used (database disk image is malformed)"
        with pytest.raises(StoreUnavailable) as refused:  # nothing more is written into a damaged file
            await store.get("job_0000000000000000000000000000")
        assert refused.value.detail == damaged
        assert await store.health() == damaged
    finally:
        await store.close()
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert errors == [damaged]
