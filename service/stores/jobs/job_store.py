"""What the jobs API and its workers need from a backend: a job store and a work queue, two small interfaces.

The embedded backend (``service.stores.jobs.sqlite_jobs``) keeps both in one SQLite file in ``data_dir``; a
networked backend slots in beside it without touching the routes, the runner or the pipeline.

Delivery is at least once: a worker holds an article under a lease it renews while it works; an article
whose lease runs out (its worker died) is handed to another. Results are exactly once: a result is
recorded only by the worker that holds the article's lease, so a late or repeated one changes nothing.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from schemas.jobs import ArticleError, Job, JobResult
from service.stores.jobs.batch_store import BatchQueue

Order = Literal["submission", "completion"]

ERRORS_SHOWN = 1000  # a job lists at most this many failed articles (as its schema says); the results hold them all
RESULTS_PAGE_BYTES = 8 * 1024 * 1024
"""A page of results stops once its stored JSON passes this many bytes (one article's result is always sent)."""


T = TypeVar("T")


def within_budget(sized: Iterable[tuple[T, int]], budget_bytes: int) -> list[T]:
    """Return the leading items of ``(item, size)`` pairs that fit in ``budget_bytes``: always the first one.

    The pairs are read lazily and no further than the first that does not fit.
    """
    kept: list[T] = []
    total = 0
    for item, size in sized:
        total += size
        if kept and total > budget_bytes:
            break
        kept.append(item)
    return kept


@dataclass(frozen=True, slots=True)
class NewArticle:
    """One article of a new job: its position, id and the request to run, as JSON."""

    index: int
    article_id: str
    request_json: str


@dataclass(frozen=True, slots=True)
class NewJob:
    """A validated submission, ready to store."""

    id: str
    articles: list[NewArticle]
    body_sha256: str
    idempotency_key: str | None
    callback_url: str | None
    callback_per_article: bool
    rejected_json: str  # the RejectedLine list, as JSON
    key_name: str | None = None  # the API key that submitted it: its articles count against that key's quotas
    batch_model: str | None = None  # batch mode: the alias its chunk calls go to in one provider batch; else None
    batch_repairs: str = "batch"  # batch mode: re-asks in follow-up batches ("batch") or in real time ("realtime")


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An article a worker holds under a lease: which job, which one, the request to run, and the queue's ticket."""

    job_id: str
    index: int
    request_json: str
    owner: str
    ticket: str | None = None  # the Redis queue's job that handed the article out; None embedded
    key_name: str | None = None  # the API key that submitted the job


@dataclass(frozen=True, slots=True)
class ArticleOutcome:
    """What running one article gave: its result or its error, and what it cost."""

    succeeded: bool
    result_json: str | None
    error: ArticleError | None
    claims: int
    model_calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    article_id: str | None = None  # the result's article id, which the job then lists (a page's: its text's)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook to send: its id (the same on every attempt), event, payload and how many tries so far.

    A claimed delivery also says who claimed it (``owner``, this claim's token) and until when (``lease_until``,
    wall clock): only that owner records its attempt.
    """

    id: str
    job_id: str
    event: str
    payload: str
    callback_url: str
    attempts: int
    owner: str = ""
    lease_until: float = 0.0


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another body."""


class JobStore(Protocol):
    """Jobs, their articles' results and their webhook deliveries."""

    async def create(self, job: NewJob) -> tuple[Job, bool]:
        """Store a new job, or return the one created before under the same Idempotency-Key (False)."""

    async def get(self, job_id: str) -> Job | None:
        """Return a job as the API shows it, or None."""

    async def recent(self, limit: int, before: str | None, key_name: str | None = None) -> list[Job]:
        """Return jobs newest first (only ``key_name``'s when given), those created before job ``before``."""

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job's articles not yet finished; return the job (None when there is none)."""

    async def results(
        self, job_id: str, order: Order, offset: int, limit: int, budget_bytes: int = RESULTS_PAGE_BYTES
    ) -> list[JobResult]:
        """Return a page of finished articles' results, in submission or completion order.

        ``limit`` results at most, and no more than ``budget_bytes`` of stored JSON once the first is in
        (a page of huge results stays small).
        """

    async def purge(self) -> int:
        """Delete the jobs whose retention has run out; return how many."""

    async def lost_reason(self, job_id: str) -> str | None:
        """Say why a job that cannot be found was lost (its store restarted empty after it was made), or None."""


class WorkQueue(Protocol):
    """The articles waiting to run, handed out fairly across jobs under renewable leases."""

    claim_waits: bool  # True when ``claim`` itself waits a moment for work (the caller need not poll)

    async def depth(self) -> dict[str, int]:
        """Return how many articles are queued and running now (for the metrics)."""

    async def recover(self) -> None:
        """Hand out again what dead workers held, once their leases ran out (the embedded claim does it inline)."""

    async def claim(self, owner: str) -> WorkItem | None:
        """Hand the next article to ``owner`` (the job served least recently first), or None."""

    async def renew(self, item: WorkItem) -> bool:
        """Extend the lease on ``item``; False when it was lost (the job was cancelled, or another has it)."""

    async def finish(self, item: WorkItem, outcome: ArticleOutcome) -> bool:
        """Record the article's outcome once, if ``item`` still holds it; True when it did."""

    async def release(self, owner: str) -> int:
        """Hand back every article ``owner`` holds (a worker shutting down); return how many."""

    async def due_deliveries(self, owner: str, limit: int, lease_s: float) -> list[Delivery]:
        """Claim up to ``limit`` webhook deliveries due now for ``owner``, each for ``lease_s`` (one attempt's time)."""

    async def postpone(self, delivery: Delivery, wait_s: float) -> bool:
        """Give a claimed delivery back unsent, due again in ``wait_s`` (no attempt counted); False if not held."""

    async def delivered(
        self, delivery: Delivery, status: int | None, error: str | None, retry_in: float | None
    ) -> bool:
        """Record one attempt: delivered, to be retried in ``retry_in`` seconds, or failed for good (None).

        Only while the claim that sent it still holds the delivery: False (nothing recorded) when its lease ran
        out and another claim took it, or the delivery is gone.
        """


class WorkAndBatches(WorkQueue, BatchQueue, Protocol):
    """The work queue and the provider batches that hold batch-mode jobs' articles back from it."""


class JobBackend(JobStore, WorkAndBatches, Protocol):
    """A job store and its work queue kept together (SQLite embedded, Redis at scale), closed together."""

    async def health(self) -> str | None:
        """Return why the store cannot be used now (damaged, or its Redis out of reach), or None when it can."""

    async def close(self) -> None:
        """Release the backend's connections and threads."""


def wall_clock() -> float:
    """Return the wall clock in seconds (leases and timestamps are shared between processes and machines)."""
    return time.time()


def moment(seconds: float | None) -> datetime | None:
    """Return a stored timestamp as an aware datetime."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def webhook_payload(event: str, data: dict[str, Any], at: float) -> str:
    """Return a webhook's body: its event type, when it happened, and its data (Standard Webhooks' shape)."""
    return json.dumps({"type": event, "timestamp": datetime.fromtimestamp(at, UTC).isoformat(), "data": data})


def new_job_id() -> str:
    """Return a new job id: ``job_``, the creation time in milliseconds (12 hex digits), 16 random hex digits."""
    return f"job_{int(wall_clock() * 1000):012x}{secrets.token_hex(8)}"


def job_id_time(job_id: str) -> float | None:
    """Return when a job id says its job was made, in seconds, or None for an id not made by ``new_job_id``."""
    stamp = job_id.removeprefix("job_")[:12]
    if len(job_id) != 32 or not job_id.startswith("job_") or not all(c in "0123456789abcdef" for c in stamp):
        return None
    return int(stamp, 16) / 1000
