"""The HTTP contract of ``/v1/jobs``: submitting articles to extract later, following them, their results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.extraction import ExtractionRequest, ExtractionResult

JobState = Literal["queued", "running", "succeeded", "partial", "failed", "cancelled"]
ArticleState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobMode = Literal["realtime", "batch"]
BatchState = Literal["pending", "uploaded", "submitted", "ready", "failed", "cancelled"]
BatchRepairs = Literal["batch", "realtime"]
MODE_DESCRIPTION = (
    "`realtime` (default) asks the model chunk by chunk as workers take the articles; `batch` sends every chunk "
    "call through the provider's Batch API (about half the price, answered within 24 hours) and runs the "
    "articles once the batch is back."
)
BATCH_REPAIRS_DESCRIPTION = (
    "Batch mode only: how a chunk whose batch answer is not in the reply schema is re-asked (with the "
    "validation error, up to `repair_attempts` times). `batch` (default) sends the re-asks as a follow-up "
    "provider batch, at the batch price, once the batch before is back; `realtime` asks them as chat calls "
    "when the articles run. Ignored in realtime mode."
)
CALLBACK_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"  # printable ASCII: anything else percent-encoded
CallbackUrl = Annotated[
    str,
    # the pattern is checked by the service, which names the first character it refuses (a 422); in the
    # schema it tells clients and fuzzers what is accepted
    Field(min_length=1, max_length=2048, json_schema_extra={"pattern": CALLBACK_URL_PATTERN}),
]


class JobCallback(BaseModel):
    """The job's own settings: where to POST the result (signed per Standard Webhooks), and how to run it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    callback_url: CallbackUrl | None = Field(
        default=None, description="An http(s) URL on a host the operator allowed (`webhook_allowed_hosts`)."
    )
    callback_per_article: bool = Field(default=False, description="Also POST each article's result as it finishes.")
    mode: JobMode = Field(default="realtime", description=MODE_DESCRIPTION)
    batch_repairs: BatchRepairs = Field(default="batch", description=BATCH_REPAIRS_DESCRIPTION)


class BatchSubmission(JobCallback):
    """A batch of extraction requests, run as one job."""

    requests: Annotated[list[ExtractionRequest], Field(min_length=1)]


class SingleSubmission(ExtractionRequest):
    """One extraction request, run as a job of one article."""

    callback_url: CallbackUrl | None = None
    callback_per_article: bool = False
    mode: JobMode = Field(default="realtime", description=MODE_DESCRIPTION)
    batch_repairs: BatchRepairs = Field(default="batch", description=BATCH_REPAIRS_DESCRIPTION)


class JobCounts(BaseModel):
    """How far the job's articles have come."""

    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int
    claims: int = Field(description="Claims in the results of the articles that succeeded.")


class JobUsage(BaseModel):
    """What the job's articles have cost so far."""

    model_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = Field(default=0.0, description="Null when a model's price is unknown.")


class ArticleError(BaseModel):
    """Why one article of a job failed, as the problem a synchronous extraction would have answered."""

    index: int = Field(description="The article's position in the submission, from 0.")
    article_id: str
    type: str
    title: str
    status: int
    detail: str


class RejectedLine(BaseModel):
    """A line (or batch entry) left out because it was not a valid request (``skip_invalid=true``)."""

    line: int = Field(description="1-based line of an NDJSON body, or 1-based position in a batch.")
    detail: str


class WebhookAttempt(BaseModel):
    """One try at delivering a webhook."""

    at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null when it could not be reached.")
    error: str | None = None


class WebhookDelivery(BaseModel):
    """A signed POST to the job's callback URL; every attempt carries the same ``webhook-id``."""

    id: str = Field(description="The `webhook-id` header, the same on every attempt: de-duplicate on it.")
    event: Literal["job.completed", "article.completed"]
    state: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttempt]


class JobBatch(BaseModel):
    """The provider batch a batch-mode job's chunk calls went out in."""

    state: BatchState = Field(
        description="`pending` (not yet sent; with `follow_ups` 1 or more, a follow-up batch of re-asks about to "
        "be built), `uploaded` (its input file is), `submitted` (the provider works on it), `ready` (its answers "
        "are in; the articles run), `failed` or `cancelled` (the articles run, asking "
        "the model in real time for what the batch did not answer)."
    )
    model: str = Field(description="The model alias the batch was sent to.")
    provider_batch_id: str | None = Field(
        default=None, description="The provider's id of the batch: the latest one, a follow-up once one was made."
    )
    requests: int = Field(default=0, description="The chunk calls sent, in the first batch and any follow-up.")
    answered: int = Field(default=0, description="The calls those batches answered.")
    detail: str | None = Field(
        default=None, description="Why the batch failed, when it did; what it left to real time, when it did."
    )
    repairs: BatchRepairs = Field(
        default="batch", description="How re-asks are made: in follow-up batches, or in real time (`batch_repairs`)."
    )
    follow_ups: int = Field(
        default=0, description="The follow-up batches of re-asks made so far (at most `repair_attempts`)."
    )
    earlier_batch_ids: list[str] = Field(
        default_factory=list,
        description="The provider's ids of the job's batches before `provider_batch_id`, oldest first.",
    )


class Job(BaseModel):
    """An asynchronous extraction of one or more articles."""

    id: str
    state: JobState
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When the finished job and its results are purged.")
    counts: JobCounts
    usage: JobUsage
    errors: list[ArticleError] = Field(
        description="The articles that failed, and why: the first 1,000 by position (`counts.failed` counts them "
        "all, and the results hold every one)."
    )
    rejected: list[RejectedLine] = Field(default_factory=list)
    callback_url: str | None = None
    callback_per_article: bool = False
    mode: JobMode = "realtime"
    batch: JobBatch | None = Field(default=None, description="The provider batch of a batch-mode job.")
    submitted_by: str | None = Field(default=None, description="The name of the API key that submitted the job.")
    webhooks: list[WebhookDelivery] = Field(default_factory=list)
    links: dict[str, str] = Field(default_factory=dict, description="`self` and `results`.")


class JobList(BaseModel):
    """Recent jobs, newest first."""

    jobs: list[Job]
    next: str | None = Field(default=None, description="The URL of the next page, when there is one.")


class JobResult(BaseModel):
    """One article's outcome in a job: its extraction result, or its error."""

    index: int
    article_id: str
    state: ArticleState
    result: ExtractionResult | None = None
    error: ArticleError | None = None


def submission_schema() -> dict[str, Any]:
    """Return the JSON Schema of a ``POST /v1/jobs`` JSON body: a batch, or a single request."""
    return {
        "oneOf": [
            {"$ref": "#/components/schemas/BatchSubmission"},
            {"$ref": "#/components/schemas/SingleSubmission"},
        ]
    }
