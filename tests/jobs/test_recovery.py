"""Tests of ``service/jobs/recovery.py``: on Redis, what a dead worker held is handed out again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service.jobs.recovery import Recovery
from service.settings import Settings
from service.stores.jobs.job_store import NewArticle, NewJob
from service.stores.jobs.redis_jobs import RedisJobs


async def test_a_step_hands_out_again_what_a_dead_worker_held(tmp_path: Path, redis_url: str) -> None:
    """An article whose worker died is claimable again after its lease once recovery has stepped, not before."""
    store = RedisJobs(redis_url, lease_s=0.2, retention_s=3600)
    request = '{"article": {"text": "Prices rose 3%."}}'
    article = NewArticle(index=0, article_id="a", request_json=request)
    job = NewJob(
        id="job_a", articles=[article], body_sha256="b", idempotency_key=None, callback_url=None,
        callback_per_article=False, rejected_json="[]",
    )  # fmt: skip
    await store.create(job)
    assert await store.claim("dead-worker") is not None
    await asyncio.sleep(0.3)  # its lease ran out
    assert await store.claim("other") is None  # nothing hands it out on Redis but recovery
    await Recovery(store, Settings(cache_dir=tmp_path, job_lease_s=0.3)).step()
    again = await store.claim("other")
    assert again is not None
    assert (again.job_id, again.index) == ("job_a", 0)
    await store.close()
