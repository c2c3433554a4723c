"""Tests of ``service/stores/jobs/redis_jobs.py`` beyond the shared contract: what only a networked store can meet.

A Redis restarted empty, a Redis that cannot be reached, an article whose workers keep dying, a creator that
died before queueing its tickets, and webhooks kept on Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.errors import StoreUnavailable
from service.settings import Settings
from service.stores.jobs.job_store import NewJob, new_job_id, wall_clock
from service.stores.jobs.redis_jobs import MAX_ATTEMPTS, RedisJobs
from tests.stores.jobs.test_job_store import DONE, new_job


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisJobs]:
    """A Redis store with one-second leases and a retention of one hour."""
    jobs = RedisJobs(redis_url, lease_s=1.0, retention_s=3600)
    yield jobs
    await jobs.close()


def with_callback(job: NewJob, per_article: bool = False) -> NewJob:
    """Return ``job`` with a callback URL."""
    return NewJob(
        id=job.id, articles=job.articles, body_sha256=job.body_sha256, idempotency_key=None,
        callback_url="https://hooks.example.com/claims", callback_per_article=per_article, rejected_json="[]",
    )  # fmt: skip


async def test_a_job_lost_with_an_emptied_redis_is_said_to_be_lost(store: RedisJobs, redis_url: str) -> None:
    """Redis restarted empty: a job made before is gone, and the store says why (not just that it is unknown)."""
    job_id = new_job_id()
    await store.create(new_job(job_id, 2))
    await asyncio.sleep(0.01)
    redis.Redis.from_url(redis_url).flushdb()  # what a restart of a Redis that keeps nothing on disk leaves
    assert await store.get(job_id) is None
    reason = await store.lost_reason(job_id)
    assert reason is not None
    assert "restarted empty" in reason
    assert "submit it again" in reason
    later = new_job_id()
    assert await store.lost_reason(later) is None  # made after the restart: simply unknown
    await store.create(new_job(later, 1))  # and new jobs run as usual
    item = await store.claim("w")
    assert item is not None
    assert item.job_id == later


def test_the_api_answers_410_for_a_job_lost_with_its_redis(tmp_path: Path, redis_url: str) -> None:
    """GET, results and DELETE of a job lost with its Redis answer 410 job-lost, never a hang or a 500."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", redis_url=redis_url, job_workers=0)
    with TestClient(create_app(settings)) as client:
        job = client.post("/v1/jobs", json={"article": {"text": "Prices rose 3% in June."}}).json()
        redis.Redis.from_url(redis_url).flushdb()
        answers = [
            client.get(f"/v1/jobs/{job['id']}"),
            client.get(f"/v1/jobs/{job['id']}/results"),
            client.delete(f"/v1/jobs/{job['id']}"),
        ]
    assert [(answer.status_code, answer.json()["type"]) for answer in answers] == [(410, "/problems/job-lost")] * 3


def test_the_jobs_routes_answer_503_when_redis_cannot_be_reached(tmp_path: Path) -> None:
    """A Redis that cannot be reached is a 503 store-unavailable problem naming it without its password."""
    settings = Settings(
        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", redis_url="redis://:hunter2@127.0.0.1:1/0",
        job_workers=0,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        submitted = client.post("/v1/jobs", json={"article": {"text": "Prices rose 3% in June."}})
        listed = client.get("/v1/jobs")
        extracted = client.post("/v1/extractions", json={"article": {"text": "Prices rose 3% in June."}})
    for answer in (submitted, listed):
        assert (answer.status_code, answer.json()["type"]) == (503, "/problems/store-unavailable")
        assert "hunter2" not in answer.text
        assert "***" in answer.json()["detail"]
    assert extracted.status_code == 200  # extractions go on: the cache's outage is a miss


async def test_an_article_whose_workers_keep_dying_fails_instead_of_killing_more(store: RedisJobs) -> None:
    """After MAX_ATTEMPTS hand-outs whose workers died, the article fails with a reason; the job completes."""
    await store.create(new_job("job_a", 1))
    for attempt in range(MAX_ATTEMPTS):
        item = await store.claim(f"dying-{attempt}")
        assert item is not None
        await asyncio.sleep(1.1)  # its heartbeat stops: the worker is dead
        await store.recover()
    assert await store.claim("next") is None
    job = await store.get("job_a")
    assert job is not None
    assert (job.state, job.counts.failed) == ("failed", 1)
    assert "stopped (killed or crashed) each time" in job.errors[0].detail


async def test_tickets_a_dead_creator_did_not_queue_are_queued_by_recovery(store: RedisJobs, redis_url: str) -> None:
    """A job stored but never ticketed (its API process died in between) is found and run after 30 s."""
    job = new_job("job_a", 2)
    await store._store(job)  # the half of create() a crash would leave
    raw = redis.Redis.from_url(redis_url)
    assert await store.claim("w") is None  # no ticket: nothing to hand out
    raw.zadd("claims:unticketed", {"job_a": wall_clock() - 60})  # as if made a minute ago
    await store.recover()
    handed = [await store.claim("w"), await store.claim("w")]
    assert sorted(item.index for item in handed if item is not None) == [0, 1]


async def test_webhooks_are_kept_on_redis_with_one_id_across_attempts(store: RedisJobs) -> None:
    """A job's completion webhook is queued with its finish, carries the results, and keeps its id on retry."""
    await store.create(with_callback(new_job("job_a", 1), per_article=True))
    item = await store.claim("w")
    assert item is not None
    assert await store.finish(item, DONE)
    due = await store.due_deliveries("w", 10, 30.0)
    assert sorted(delivery.event for delivery in due) == ["article.completed", "job.completed"]
    completed = next(delivery for delivery in due if delivery.event == "job.completed")
    body: dict[str, Any] = json.loads(completed.payload)
    assert body["data"]["job"]["state"] == "succeeded"
    assert [result["index"] for result in body["data"]["results"]] == [0]
    assert await store.due_deliveries("w", 10, 30.0) == []  # leased while being sent
    await store.delivered(completed, 503, None, retry_in=0.0)
    for delivery in due:
        if delivery.event == "article.completed":
            await store.delivered(delivery, 200, None, None)
    again = await store.due_deliveries("w", 10, 30.0)
    assert [(delivery.id, delivery.attempts, delivery.payload) for delivery in again] == [
        (completed.id, 1, completed.payload)
    ]
    await store.delivered(again[0], 200, None, None)
    job = await store.get("job_a")
    assert job is not None
    states = {hook.event: (hook.state, len(hook.attempts)) for hook in job.webhooks}
    assert states == {"article.completed": ("delivered", 1), "job.completed": ("delivered", 2)}


async def test_a_store_that_cannot_be_reached_says_so_without_its_password() -> None:
    """Every operation on an unreachable Redis is StoreUnavailable, naming the Redis with its password masked."""
    store = RedisJobs("redis://:hunter2@127.0.0.1:1/0", lease_s=1.0, retention_s=3600)
    try:
        with pytest.raises(StoreUnavailable) as unavailable:
            await store.get("job_a")
    finally:
        await store.close()
    assert "hunter2" not in unavailable.value.detail
    assert "redis://:***@127.0.0.1:1/0" in unavailable.value.detail


async def test_a_key_s_listing_holds_its_own_jobs_only(store: RedisJobs) -> None:
    """Jobs are listed per API key from that key's own listing (no scan of every job), newest first."""
    for job_id, key in (("job_a1", "a"), ("job_b1", "b"), ("job_a2", "a")):
        job = new_job(job_id, 1)
        await store.create(replace(job, key_name=key))
    assert [job.id for job in await store.recent(10, None, key_name="a")] == ["job_a2", "job_a1"]
    assert [job.id for job in await store.recent(10, None, key_name="b")] == ["job_b1"]
    assert [job.id for job in await store.recent(1, "job_a2", key_name="a")] == ["job_a1"]
    assert len(await store.recent(10, None)) == 3
