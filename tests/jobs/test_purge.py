"""Tests of ``service/jobs/purge.py``: a finished job past its retention is deleted, a running one is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import ExtractionRequest
from service.jobs import purge
from service.jobs.purge import Purge
from service.stores.jobs.job_store import ArticleOutcome, NewArticle, NewJob
from service.stores.jobs.sqlite_jobs import SqliteJobs

DONE = ArticleOutcome(
    succeeded=True, result_json=None, error=None, claims=0, model_calls=0, cache_hits=0, prompt_tokens=0,
    completion_tokens=0, cost_usd=0.0,
)  # fmt: skip


def one_article_job(job_id: str) -> NewJob:
    """Return a job of one trivial request."""
    request = ExtractionRequest.model_validate({"article": {"text": "Prices rose 3%."}}).model_dump_json()
    return NewJob(
        id=job_id, articles=[NewArticle(index=0, article_id="a", request_json=request)], body_sha256=job_id,
        idempotency_key=None, callback_url=None, callback_per_article=False, rejected_json="[]",
    )  # fmt: skip


async def test_a_step_deletes_the_jobs_past_their_retention_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One step purges the finished job whose retention ran out and keeps the one still queued."""
    monkeypatch.setattr(purge, "PURGE_EVERY_S", 0.0)
    store = SqliteJobs(tmp_path / "data", lease_s=30, retention_s=0.0)
    await store.create(one_article_job("job_done"))
    item = await store.claim("w")
    assert item is not None
    assert await store.finish(item, DONE)
    await store.create(one_article_job("job_queued"))
    await Purge(store).step()
    assert await store.get("job_done") is None
    assert await store.get("job_queued") is not None
    await store.close()
