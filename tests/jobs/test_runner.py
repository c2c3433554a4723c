"""Tests of ``service/jobs/runner.py``: the loops it composes, how idle ones poll, how it stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.jobs import runner as runner_module
from service.jobs.runner import JobRunner, idle_poll_s
from service.pipeline.build import build_pipeline
from service.settings import Settings
from service.stores.jobs.sqlite_jobs import SqliteJobs


def test_idle_loops_poll_less_the_longer_nothing_is_queued() -> None:
    """Half a second right after work was queued, slowing to every 4 s after 16 s of quiet."""
    assert [idle_poll_s(quiet) for quiet in (0.0, 1.0, 4.0, 8.0, 16.0, 3600.0)] == [0.5, 0.5, 1.0, 2.0, 4.0, 4.0]


async def test_a_loop_that_fails_goes_on_and_the_runner_stops_every_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one loop's step pauses that loop a moment, never ends it; stop() ends the workers and helpers."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", job_workers=1)
    store = SqliteJobs(settings.data_dir, lease_s=30, retention_s=3600)
    pipeline = build_pipeline(settings)
    monkeypatch.setattr(runner_module, "STORE_RETRY_S", 0.01)
    runner = JobRunner(pipeline, store, store, settings)
    steps: list[int] = []

    async def failing_purge() -> None:
        steps.append(1)
        raise RuntimeError("a bug in the purge")

    monkeypatch.setattr(runner._purge, "step", failing_purge)
    runner.start()
    await asyncio.sleep(0.2)
    tasks = [*runner._workers, *runner._helpers]
    assert len(tasks) == 5  # one worker; deliveries, recovery, purge, batches
    assert not any(task.done() for task in tasks)
    await runner.stop()
    assert len(steps) >= 3  # failed, went on, failed again
    assert all(task.done() for task in tasks)
    await store.close()
    await pipeline.close()
