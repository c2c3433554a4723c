"""The job store's contract, held by both backends: SQLite (``sqlite_jobs.py``) and Redis (``redis_jobs.py``).

Fair turns, leases that run out, results recorded once, cancellation, hand-backs, idempotency, purges.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from schemas import ExtractionRequest
from service.stores.jobs.job_store import ArticleOutcome, IdempotencyConflict, JobBackend, NewArticle, NewJob
from service.stores.jobs.redis_jobs import RedisJobs
from service.stores.jobs.sqlite_jobs import SqliteJobs

BACKENDS = ["sqlite", "redis"]

DONE = ArticleOutcome(
    succeeded=True, result_json=None, error=None, claims=2, model_calls=1, cache_hits=0, prompt_tokens=10,
    completion_tokens=5, cost_usd=0.0,
)  # fmt: skip


def new_job(job_id: str, articles: int, key: str | None = None, body: str = "b") -> NewJob:
    """Return a job of ``articles`` trivial requests."""
    request = ExtractionRequest.model_validate({"article": {"text": "Prices rose 3%."}}).model_dump_json()
    items = [NewArticle(index=n, article_id=f"{job_id}-{n}", request_json=request) for n in range(articles)]
    return NewJob(
        id=job_id, articles=items, body_sha256=body, idempotency_key=key, callback_url=None,
        callback_per_article=False, rejected_json="[]",
    )  # fmt: skip


def open_backend(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, lease_s: float, retention_s: float
) -> JobBackend:
    """Open a backend of ``kind``: SQLite in ``tmp_path``, or the tests' own Redis database."""
    if kind == "sqlite":
        return SqliteJobs(tmp_path / "data", lease_s=lease_s, retention_s=retention_s)
    redis_url: str = request.getfixturevalue("redis_url")
    return RedisJobs(redis_url, lease_s=lease_s, retention_s=retention_s)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobBackend]:
    """A store of each backend with one-second leases and a retention of one hour."""
    jobs = open_backend(request.param, tmp_path, request, lease_s=1.0, retention_s=3600)
    yield jobs
    await jobs.close()


async def test_turns_go_round_the_jobs_so_a_small_one_is_not_starved(store: JobBackend) -> None:
    """With a 1,000-article job queued first, a 1-article job gets the second hand-out, not the 1,001st."""
    await store.create(new_job("job_big", 1000))
    await store.create(new_job("job_small", 1))
    handed = [await store.claim("w") for _ in range(4)]
    assert [(item.job_id, item.index) for item in handed if item] == [
        ("job_big", 0), ("job_small", 0), ("job_big", 1), ("job_big", 2),
    ]  # fmt: skip


async def test_an_article_whose_lease_runs_out_is_handed_out_again_and_recorded_once(store: JobBackend) -> None:
    """A worker that dies loses its article after the lease; the next worker's result is the one kept."""
    await store.create(new_job("job_a", 1))
    first = await store.claim("dead-worker")
    assert first is not None
    assert await store.claim("other") is None  # leased
    await asyncio.sleep(1.1)
    await store.recover()
    second = await store.claim("other")
    assert second is not None
    assert (second.job_id, second.index) == (first.job_id, first.index)
    assert await store.finish(second, DONE)
    assert not await store.finish(first, DONE)  # the dead worker's late result changes nothing
    assert not await store.finish(second, DONE)  # nor does a repeat
    job = await store.get("job_a")
    assert job is not None
    assert (job.state, job.counts.succeeded, job.usage.model_calls) == ("succeeded", 1, 1)


async def test_a_renewed_lease_keeps_the_article(store: JobBackend) -> None:
    """Renewing before the lease runs out keeps others from taking the article."""
    await store.create(new_job("job_a", 1))
    item = await store.claim("w")
    assert item is not None
    for _ in range(3):
        await asyncio.sleep(0.5)
        assert await store.renew(item)
    await store.recover()
    assert await store.claim("other") is None


async def test_cancelling_takes_the_lease_away(store: JobBackend) -> None:
    """A cancelled job's running article can no longer be renewed nor recorded; its queued ones never run."""
    await store.create(new_job("job_a", 3))
    item = await store.claim("w")
    assert item is not None
    cancelled = await store.cancel("job_a")
    assert cancelled is not None
    assert (cancelled.state, cancelled.counts.cancelled) == ("cancelled", 3)
    assert not await store.renew(item)
    assert not await store.finish(item, DONE)
    assert await store.claim("w") is None
    results = await store.results("job_a", "submission", 0, 10)
    assert [(result.index, result.state) for result in results] == [
        (0, "cancelled"),
        (1, "cancelled"),
        (2, "cancelled"),
    ]


async def test_releasing_hands_a_worker_s_articles_back_at_once(store: JobBackend) -> None:
    """A worker shutting down hands its articles back: another takes them without waiting for the lease."""
    await store.create(new_job("job_a", 2))
    await store.claim("stopping")
    await store.claim("stopping")
    assert await store.release("stopping") == 2
    assert await store.claim("other") is not None


async def test_an_idempotency_key_binds_the_body(store: JobBackend) -> None:
    """The same key and body return the stored job; another body under the key is refused."""
    created, fresh = await store.create(new_job("job_a", 1, key="k", body="one"))
    again, replayed = await store.create(new_job("job_b", 1, key="k", body="one"))
    assert (fresh, replayed, again.id) == (True, False, created.id)
    with pytest.raises(IdempotencyConflict):
        await store.create(new_job("job_c", 1, key="k", body="two"))


@pytest.mark.parametrize("kind", BACKENDS)
async def test_finished_jobs_are_purged_after_their_retention(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A finished job outlives its retention by nothing: purge removes it, its articles and deliveries."""
    store = open_backend(kind, tmp_path, request, lease_s=1.0, retention_s=0.2)
    try:
        await store.create(new_job("job_a", 1))
        await store.create(new_job("job_b", 1))
        item = await store.claim("w")
        assert item is not None
        await store.finish(item, DONE)
        assert await store.purge() == 0
        await asyncio.sleep(1.1)  # Redis expires keys in whole seconds
        assert await store.purge() == 1
        assert await store.get(item.job_id) is None
        assert [job.id for job in await store.recent(10, None)] == ["job_b"]  # unfinished jobs stay
    finally:
        await store.close()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_second_process_shares_the_queue(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Two stores on one file, or one Redis (two processes), never hand out the same article."""
    first = open_backend(kind, tmp_path, request, lease_s=30, retention_s=3600)
    second = open_backend(kind, tmp_path, request, lease_s=30, retention_s=3600)
    try:
        await first.create(new_job("job_a", 50))
        handed = await asyncio.gather(*(store.claim(f"w{n}") for n in range(50) for store in (first, second)))
        claimed = [(item.job_id, item.index) for item in handed if item is not None]
        assert sorted(claimed) == [("job_a", n) for n in range(50)]
    finally:
        await first.close()
        await second.close()


async def test_the_job_shows_usage_and_errors(store: JobBackend) -> None:
    """Counts, usage and the errors by article add up from the articles' outcomes."""
    from schemas.jobs import ArticleError

    await store.create(new_job("job_a", 2))
    ok, bad = await store.claim("w"), await store.claim("w")
    assert ok is not None
    assert bad is not None
    error = ArticleError(
        index=1, article_id="job_a-1", type="/problems/upstream-timeout", title="t", status=504, detail="d"
    )
    failure = ArticleOutcome(
        succeeded=False, result_json=None, error=error, claims=0, model_calls=0, cache_hits=0, prompt_tokens=0,
        completion_tokens=0, cost_usd=None,
    )  # fmt: skip
    await store.finish(ok, DONE)
    await store.finish(bad, failure)
    job = await store.get("job_a")
    assert job is not None
    assert job.state == "partial"
    assert (job.counts.succeeded, job.counts.failed, job.counts.claims) == (1, 1, 2)
    assert (job.usage.prompt_tokens, job.usage.cost_usd) == (10, None)
    assert json.loads(job.errors[0].model_dump_json())["status"] == 504


async def test_a_page_of_results_stops_at_its_byte_budget_but_always_holds_one(store: JobBackend) -> None:
    """Results of 10 KB (5,000 characters) each: a 25 KB budget, counted in bytes, gives two a page; less, one."""
    from schemas.jobs import ArticleError

    await store.create(new_job("job_a", 5))
    for _ in range(5):
        item = await store.claim("w")
        assert item is not None
        error = ArticleError(
            index=item.index, article_id=f"job_a-{item.index}", type="/problems/upstream-timeout", title="t",
            status=504, detail="é" * 5_000,
        )  # fmt: skip
        await store.finish(item, ArticleOutcome(False, None, error, 0, 0, 0, 0, 0, None))
    pages = [await store.results("job_a", "submission", offset, 100, budget_bytes=25_000) for offset in (0, 2, 4)]
    assert [[result.index for result in page] for page in pages] == [[0, 1], [2, 3], [4]]
    one = await store.results("job_a", "completion", 0, 100, budget_bytes=10)
    assert len(one) == 1
    assert len(await store.results("job_a", "submission", 0, 100)) == 5


async def test_paging_a_running_job_in_submission_order_never_skips_or_repeats(store: JobBackend) -> None:
    """Articles 1 and 2 done, 0 running: the page at 0 waits for 0; once it finishes, pages go 0, 1, 2."""
    await store.create(new_job("job_a", 3))
    first, second, third = [await store.claim("w") for _ in range(3)]
    assert first is not None
    assert second is not None
    assert third is not None
    await store.finish(second, DONE)
    await store.finish(third, DONE)
    assert await store.results("job_a", "submission", 0, 10) == []
    assert [result.index for result in await store.results("job_a", "submission", 1, 10)] == [1, 2]
    assert [result.index for result in await store.results("job_a", "completion", 0, 10)] == [1, 2]
    await store.finish(first, DONE)
    pages = [await store.results("job_a", "submission", offset, 1) for offset in range(3)]
    assert [[result.index for result in page] for page in pages] == [[0], [1], [2]]
    assert [result.index for result in await store.results("job_a", "completion", 0, 10)] == [1, 2, 0]


async def test_a_result_s_article_id_is_the_one_the_job_lists(store: JobBackend) -> None:
    """An article submitted without an id lists, once done, the id its result carries (an HTML page's: its text's)."""
    from schemas.jobs import ArticleError

    await store.create(new_job("job_a", 2))
    done, failing = await store.claim("w"), await store.claim("w")
    assert done is not None
    assert failing is not None
    await store.finish(done, dataclasses.replace(DONE, article_id="art_from_the_text"))
    error = ArticleError(
        index=1, article_id="job_a-1", type="/problems/upstream-timeout", title="t", status=504, detail="d"
    )
    await store.finish(failing, ArticleOutcome(False, None, error, 0, 0, 0, 0, 0, None))
    listed = await store.results("job_a", "submission", 0, 10)
    assert [result.article_id for result in listed] == ["art_from_the_text", "job_a-1"]


async def test_only_the_claim_holding_a_delivery_records_its_attempt(store: JobBackend) -> None:
    """A delivery whose lease ran out is another claim's: the first claim's late attempt is not recorded."""
    job = dataclasses.replace(new_job("job_a", 1), callback_url="https://hooks.example.com/h")
    await store.create(job)
    item = await store.claim("w")
    assert item is not None
    assert await store.finish(item, DONE)
    [first] = await store.due_deliveries("claim-1", 10, 0.0)  # a lease that has already run out
    assert first.owner == "claim-1"
    await asyncio.sleep(0.01)
    [second] = await store.due_deliveries("claim-2", 10, 30.0)
    assert (second.id, second.owner) == (first.id, "claim-2")
    assert second.lease_until > first.lease_until
    assert await store.delivered(first, 503, "HTTP 503", retry_in=0.0) is False  # handed to claim-2 meanwhile
    assert await store.due_deliveries("claim-3", 10, 30.0) == []  # claim-2 still holds it
    assert await store.delivered(second, 200, None, None) is True
    view = await store.get("job_a")
    assert view is not None
    [hook] = view.webhooks
    assert (hook.state, [attempt.status_code for attempt in hook.attempts]) == ("delivered", [200])


async def test_a_delivery_given_back_unsent_is_due_again_later_with_no_attempt(store: JobBackend) -> None:
    """``postpone``: the claim gives the delivery back, it is due after the wait, and no attempt is counted."""
    job = dataclasses.replace(new_job("job_a", 1), callback_url="https://hooks.example.com/h")
    await store.create(job)
    item = await store.claim("w")
    assert item is not None
    assert await store.finish(item, DONE)
    [claimed] = await store.due_deliveries("claim-1", 10, 30.0)
    assert await store.postpone(claimed, 0.3) is True
    assert await store.postpone(claimed, 0.3) is False  # no longer held by that claim
    assert await store.due_deliveries("claim-2", 10, 30.0) == []  # not due yet, though unleased
    await asyncio.sleep(0.4)
    [again] = await store.due_deliveries("claim-3", 10, 30.0)
    assert (again.id, again.attempts) == (claimed.id, 0)
