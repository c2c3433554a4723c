"""What the jobs API and its workers need from a backend: a job store and a work queue, two small interfaces.

The embedded backend (``service.stores.sqlite_jobs``) keeps both in one SQLite file in ``data_dir``; a
networked backend slots in beside it without touching the routes, the runner or the pipeline.

Delivery is at least once: a worker holds an article under a lease it renews while it works; an article
whose lease runs out (its worker died) is handed to another. Results are exactly once: a result is
recorded only by the worker that holds the article's lease, so a late or repeated one changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from schemas.jobs import ArticleError, Job, JobResult

Order = Literal["submission", "completion"]


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


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An article a worker holds under a lease: which job, which one, and the request to run."""

    job_id: str
    index: int
    request_json: str
    owner: str


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


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook to send: its id (the same on every attempt), event, payload and how many tries so far."""

    id: str
    job_id: str
    event: str
    payload: str
    callback_url: str
    attempts: int


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another body."""


class JobStore(Protocol):
    """Jobs, their articles' results and their webhook deliveries."""

    async def create(self, job: NewJob) -> tuple[Job, bool]:
        """Store a new job, or return the one created before under the same Idempotency-Key (False)."""

    async def get(self, job_id: str) -> Job | None:
        """Return a job as the API shows it, or None."""

    async def recent(self, limit: int, before: str | None) -> list[Job]:
        """Return jobs newest first, those created before job ``before`` when given."""

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job's articles not yet finished; return the job (None when there is none)."""

    async def results(self, job_id: str, order: Order, offset: int, limit: int) -> list[JobResult]:
        """Return the finished articles' results, in submission or completion order, a page at a time."""

    async def purge(self) -> int:
        """Delete the jobs whose retention has run out; return how many."""


class WorkQueue(Protocol):
    """The articles waiting to run, handed out fairly across jobs under renewable leases."""

    async def claim(self, owner: str) -> WorkItem | None:
        """Hand the next article to ``owner`` (the job served least recently first), or None."""

    async def renew(self, item: WorkItem) -> bool:
        """Extend the lease on ``item``; False when it was lost (the job was cancelled, or another has it)."""

    async def finish(self, item: WorkItem, outcome: ArticleOutcome) -> bool:
        """Record the article's outcome once, if ``item`` still holds it; True when it did."""

    async def release(self, owner: str) -> int:
        """Hand back every article ``owner`` holds (a worker shutting down); return how many."""

    async def due_deliveries(self, owner: str, limit: int) -> list[Delivery]:
        """Claim the webhook deliveries due now."""

    async def delivered(
        self, delivery: Delivery, status: int | None, error: str | None, retry_in: float | None
    ) -> None:
        """Record one attempt: delivered, to be retried in ``retry_in`` seconds, or failed for good (None)."""
