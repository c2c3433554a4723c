"""The jobs routes: submit (JSON, batch or NDJSON), follow, read results (JSON pages or an NDJSON stream), cancel."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import TypeAdapter

from schemas.jobs import (
    BATCH_REPAIRS_DESCRIPTION,
    CALLBACK_URL_PATTERN,
    MODE_DESCRIPTION,
    BatchRepairs,
    Job,
    JobCallback,
    JobList,
    JobMode,
    JobResult,
    submission_schema,
)
from service.api.auth import AUTH_RESPONSES, Caller, require
from service.api.dependencies import JobsDep, PipelineDep, RunnerDep
from service.api.extraction_events import sse_content
from service.api.job_events import follow_job
from service.api.representations import ALTERNATIVES, JSON, VARY, claims_as, preferred
from service.errors import InvalidRequest, JobLost, NotFound, ResourceConflict
from service.jobs.batches import batch_alias
from service.jobs.submission import NDJSON, build_job, read_submission
from service.jobs.webhooks import check_callback
from service.observability import metrics
from service.steps.cpu import CHARS_A_CLAIM, off_the_loop
from service.stores.jobs.job_store import RESULTS_PAGE_BYTES, IdempotencyConflict, JobStore, Order

router = APIRouter(tags=["jobs"])
STREAM_POLL_S = 0.25
JOB_ID = re.compile(r"job_[0-9a-f]{20,28}")  # new_job_id(): 28 hex digits; 20 before ids carried their time
PAGE = 100
MAX_OFFSET = 1_000_000_000
LAST_EVENT_ID_DIGITS = 10
RESULT_PAGE = TypeAdapter(list[JobResult])  # a page rendered straight to JSON bytes by pydantic-core
EXAMPLE_BATCH = {
    "requests": [
        {"article": {"id": "a1", "text": "Violent crime is down 15.2%, the FBI said."}},
        {"article": {"id": "a2", "text": "The conversation drew an audience of 1,324,994 people."}},
    ],
    "callback_url": "https://hooks.example.com/claims",
}
JOB_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such job (or it was purged after its retention)."},
    410: {"description": "The job was lost: the Redis holding the jobs restarted empty after it was submitted."},
    503: {"description": "The job store (Redis) cannot be reached; try again shortly."},
    **AUTH_RESPONSES,
}
JobsCaller = Annotated[Caller, Depends(require("jobs"))]
SubmittingCaller = Annotated[Caller, Depends(require("jobs", spends=True))]


async def _owned_job(jobs: JobsDep, caller: JobsCaller, job_id: str) -> Job:
    """Return the job in the path if the caller may see it (a dependency: it answers before any streaming)."""
    return await _owned(jobs, caller, job_id)


OwnedJob = Annotated[Job, Depends(_owned_job)]


def _resume_point(request: Request, job: OwnedJob) -> int:
    """Return how many articles the client had (``Last-Event-ID``, 0 without it); 422 when it is not such a count.

    Read by hand and described in the route's words rather than declared: a declared header parameter
    makes the OpenAPI fuzzers expect unknown headers refused, where HTTP says to ignore them.
    """
    given = request.headers.get("last-event-id", "").strip()
    if not given:
        return 0
    if not (given.isascii() and given.isdigit() and len(given) <= LAST_EVENT_ID_DIGITS):
        raise InvalidRequest(
            f"Last-Event-ID must be an event id this stream sent (a count of articles), not {given[:40]!r}"
        )
    if int(given) > job.counts.total:  # an event id counts finished articles: none is past the job's last
        raise InvalidRequest(
            f"Last-Event-ID {int(given)} names no event this stream sent: the job has {job.counts.total} articles"
        )
    return int(given)


ResumePoint = Annotated[int, Depends(_resume_point)]


@router.post(
    "/v1/jobs",
    status_code=202,
    response_model=Job,
    summary="Submit articles to extract asynchronously",
    responses={
        **AUTH_RESPONSES,
        403: {
            "description": "The key lacks the `jobs` scope; or the callback URL's host is not allowed, or the "
            "service sends no webhooks."
        },
        409: {"description": "The Idempotency-Key was used before with another body."},
        413: {"description": "The body is larger than `job_max_body_mb`."},
        422: {
            "description": "A request is invalid: each is listed with its line (or its place in the batch); or a "
            "batch-mode job asks a model that cannot batch (`model-cannot-batch`), or more than one model."
        },
        503: {
            "description": "The job store (Redis) cannot be reached, so the job may not have been stored: send it "
            "again with the same Idempotency-Key (it is never run twice)."
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": submission_schema(), "examples": {"batch": {"value": EXAMPLE_BATCH}}},
                NDJSON: {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/ExtractionRequest"},
                        "description": "Extraction requests, each written as one line of JSON (not as an array).",
                    }
                },
            },
        }
    },
)
async def submit_job(
    request: Request,
    response: Response,
    pipeline: PipelineDep,
    jobs: JobsDep,
    runner: RunnerDep,
    caller: SubmittingCaller,
    skip_invalid: Annotated[bool, Query(description="Run the valid requests and list the others as rejected.")] = False,
    callback_url: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2048,
            json_schema_extra={"pattern": CALLBACK_URL_PATTERN},  # checked by check_callback, naming the character
            description="The callback URL, for an NDJSON body; with a JSON body, unless the body names its own "
            "(the job's `callback_url` says which was taken).",
        ),
    ] = None,
    callback_per_article: Annotated[
        bool, Query(description="A webhook per article too; with a JSON body, unless the body says otherwise.")
    ] = False,
    mode: Annotated[
        JobMode, Query(description=MODE_DESCRIPTION + " For an NDJSON body; a JSON body says it in its own `mode`.")
    ] = "realtime",
    batch_repairs: Annotated[
        BatchRepairs,
        Query(description=BATCH_REPAIRS_DESCRIPTION + " For an NDJSON body; a JSON body says it in its own field."),
    ] = "batch",
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> Job:
    """Queue one request, a batch (`{"requests": [...]}`) or NDJSON (one request a line); 202 with the job.

    Every request is checked first (schema, model, prompt, size): an invalid one makes the whole job a 422
    listing each by line, unless `skip_invalid=true`. The same `Idempotency-Key` with the same body returns
    the same job; with another body it is a 409. Follow the job at `Location`; its results are at
    `/v1/jobs/{id}/results`; with `callback_url` they are POSTed there, signed per Standard Webhooks.
    """
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    query_callback = JobCallback(
        callback_url=callback_url, callback_per_article=callback_per_article, mode=mode, batch_repairs=batch_repairs
    )
    settings = pipeline.settings
    body = await request.body()
    reading = partial(read_submission, body, content_type, query_callback, settings.job_max_articles)
    submission = await off_the_loop(reading, size=len(body))  # a batch of 256 MB parses for seconds
    check_callback(submission.callback.callback_url, pipeline.settings)
    checking = partial(
        build_job, submission, pipeline.check, max_articles=settings.job_max_articles, skip_invalid=skip_invalid,
        idempotency_key=_scoped(idempotency_key, caller), key_name=caller.name,
        batch_model=partial(batch_alias, pipeline),
    )  # fmt: skip
    new_job = await off_the_loop(checking, size=len(body))
    try:
        job, created = await jobs.create(new_job)
    except IdempotencyConflict as exc:
        raise ResourceConflict(f"Idempotency-Key {idempotency_key} was used with another body; use a new key") from exc
    if created:
        metrics.JOBS_SUBMITTED.inc()
    runner.wake()
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return job


@router.get(
    "/v1/jobs",
    response_model=JobList,
    responses={503: {"description": "The job store (Redis) cannot be reached; try again shortly."}, **AUTH_RESPONSES},
    summary="List recent jobs",
)
async def list_jobs(
    jobs: JobsDep,
    caller: JobsCaller,
    limit: Annotated[int, Query(ge=1, le=PAGE)] = 20,
    before: Annotated[
        str | None, Query(pattern=r"^job_[0-9a-f]{20,28}$", description="A job id: list the jobs created before it.")
    ] = None,
) -> JobList:
    """List jobs, newest first (a key sees its own; an `admin` key, every one); `next` pages on."""
    found = await jobs.recent(limit, before, key_name=None if _sees_all(caller) else caller.name)
    following = f"/v1/jobs?limit={limit}&before={found[-1].id}" if len(found) == limit else None
    return JobList(jobs=found, next=following)


@router.get("/v1/jobs/{job_id}", response_model=Job, responses=JOB_PROBLEMS, summary="Follow a job")
async def get_job(jobs: JobsDep, caller: JobsCaller, job_id: str) -> Job:
    """Show a job: its state, counts, usage, timestamps, errors by article and webhook attempts."""
    return await _owned(jobs, caller, job_id)


@router.delete("/v1/jobs/{job_id}", response_model=Job, responses=JOB_PROBLEMS, summary="Cancel a job")
async def cancel_job(jobs: JobsDep, caller: JobsCaller, job_id: str) -> Job:
    """Cancel the articles not yet finished (running ones are stopped); a finished job is left as it is."""
    await _owned(jobs, caller, job_id)
    return await _found(jobs, await jobs.cancel(job_id), job_id)


@router.get(
    "/v1/jobs/{job_id}/results",
    response_model=list[JobResult],
    responses={
        **JOB_PROBLEMS,
        200: {
            "description": "A page of results (JSON; `Link: rel=next` for the next page; a page holds `limit` "
            f"results, or fewer once they pass {RESULTS_PAGE_BYTES // 2**20} MB), or with "
            "`Accept: application/x-ndjson` every result, one a line, streamed as articles finish; the page's "
            "claims as ClaimReview JSON-LD or CSV with `Accept: application/ld+json` or `text/csv`.",
            "content": {NDJSON: {"schema": {"type": "string"}}, **ALTERNATIVES},
        },
    },
    summary="Read a job's results",
)
async def job_results(
    request: Request,
    jobs: JobsDep,
    caller: JobsCaller,
    job_id: str,
    order: Annotated[Literal["submission", "completion"], Query()] = "submission",
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="In submission order, the index of the page's first article; in completion order, how "
            "many finished articles to pass over. Follow `Link: rel=next` rather than computing it.",
        ),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE,
) -> Response:
    """Return the finished articles' results, in submission or completion order; NDJSON streams them all.

    In submission order a page stops before the first article not finished yet, so paging a running job
    never skips or repeats an article: a short or empty page means the next one has not finished. `Link:
    rel=next` is sent while articles remain beyond the page.
    """
    job = await _owned(jobs, caller, job_id)
    choice = preferred(request, (JSON, NDJSON, *ALTERNATIVES))
    if choice == NDJSON:
        return StreamingResponse(_stream(jobs, job.id, order), media_type=NDJSON, headers=VARY)
    page = await jobs.results(job.id, order, offset, limit, RESULTS_PAGE_BYTES)
    headers = {}
    following = offset + len(page)  # in submission order the next index: a page never skips an article
    if page and following < job.counts.total:
        link = f"/v1/jobs/{job.id}/results?order={order}&offset={following}&limit={limit}"
        headers["Link"] = f'<{link}>; rel="next"'
    results = [result.result for result in page if result.result is not None]
    size = sum(len(result.claims) for result in results) * CHARS_A_CLAIM
    if choice in ALTERNATIVES:  # the page's claims, each article's in turn; failed ones counted in a header
        headers["Articles-Failed"] = str(len(page) - len(results))
        return await off_the_loop(partial(claims_as, choice, results, headers), size=size)
    body = await off_the_loop(partial(RESULT_PAGE.dump_json, page), size=size)
    return Response(body, media_type=JSON, headers=headers | VARY)


async def _stream(jobs: JobStore, job_id: str, order: Order) -> AsyncIterator[bytes]:
    """Yield each result as a JSON line as soon as it is final, until every article of the job is."""
    sent = 0
    while True:
        job = await jobs.get(job_id)
        if job is None:  # purged while streaming
            return
        page = await jobs.results(job_id, order, sent, PAGE * 10, RESULTS_PAGE_BYTES)  # never past a gap
        for result in page:
            yield (result.model_dump_json() + "\n").encode()
        sent += len(page)
        if sent >= job.counts.total:
            return
        if not page:
            await asyncio.sleep(STREAM_POLL_S)


@router.get(
    "/v1/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses={
        **JOB_PROBLEMS,
        200: {
            "description": "Server-sent events: `event: article` as each article finishes (an `ArticleFinished`, "
            "with the job's counts; its `id` is the article's place in completion order), then `event: end` with "
            "the job, and the stream closes. Send `Last-Event-ID` (the `id` of the last event you had) to resume "
            "after it; a value that is not such an id is a 422. "
            "`: ping` comments every 15 s keep the connection through proxies.",
            "content": {"text/event-stream": sse_content({"article": "ArticleFinished", "end": "Job"})},
        },
    },
    summary="Follow a job's progress as events",
)
async def job_events(
    jobs: JobsDep,
    job: OwnedJob,
    resume_after: ResumePoint,
) -> AsyncIterator[ServerSentEvent]:
    """Stream the job's progress: each article finished, with the counts, then the job's end (polling its store).

    The job is looked up (and its owner checked) before the stream begins: a 404 is an ordinary response.
    """
    async for event in follow_job(jobs, job.id, resume_after):
        yield event


def _well_formed(job_id: str) -> str:
    """Return ``job_id`` if it has the shape of a job id; a 404 otherwise (it names no store key but a job's)."""
    if not JOB_ID.fullmatch(job_id):
        raise NotFound(f"no job {job_id!r}")
    return job_id


def _scoped(idempotency_key: str | None, caller: Caller) -> str | None:
    """Return the Idempotency-Key as stored: within the caller's key, so one key never meets another's jobs."""
    if idempotency_key is None or caller.name is None:
        return idempotency_key
    return f"{caller.name}/{idempotency_key}"


def _sees_all(caller: Caller) -> bool:
    """Say whether the caller sees every job: anonymous (no keys configured) or an ``admin`` key."""
    return caller.name is None or "admin" in caller.scopes


async def _owned(jobs: JobStore, caller: Caller, job_id: str) -> Job:
    """Return the job if the caller may see it (its own, or any for admin); 404 otherwise, as if it did not exist."""
    job = await _found(jobs, await jobs.get(_well_formed(job_id)), job_id)
    if not _sees_all(caller) and job.submitted_by != caller.name:
        raise NotFound(f"no job {job_id!r}")
    return job


async def _found(jobs: JobStore, job: Job | None, job_id: str) -> Job:
    """Return the job, or raise a 410 problem (lost with its Redis) or a 404 one."""
    if job is not None:
        return job
    lost = await jobs.lost_reason(job_id)
    if lost is not None:
        raise JobLost(lost)
    raise NotFound(f"no job {job_id!r} (it may have been purged after its retention)")
