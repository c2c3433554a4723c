"""Thin routes: parse, call, return. All the work is in the pipeline; all errors become problem+json."""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse

from schemas import ExtractionRequest, ExtractionResult
from schemas.catalog import HealthStatus, ModelSummary, ProblemType, PromptDetail, PromptSummary
from service.api.auth import AUTH_RESPONSES, budget_of, refresh_rate_headers, require
from service.api.dependencies import JobsDep, PipelineDep
from service.api.extraction_events import (
    EVENT_STREAM,
    EVENTS_DESCRIPTION,
    EXTRACTION_EVENTS,
    stream_extraction,
    wants_events,
)
from service.api.problems import request_id_of
from service.api.readiness import readiness
from service.api.representations import ALTERNATIVES, claims_as, wanted
from service.api.state import service_state
from service.errors import (
    NotFound,
    NotReady,
    StoreUnavailable,
    UnknownPromptVersion,
    problem_catalogue,
)
from service.observability import metrics
from service.observability.extraction_log import log_extraction
from service.pipeline.extraction import Pipeline
from service.pipeline.progress import Progress
from service.prompts.spec import PromptVersion

router = APIRouter()
logger = logging.getLogger("claims.api")
DESK = Path(__file__).parent / "desk"  # the page and its assets, shipped in the package (no CDN)

EXAMPLE_REQUEST: dict[str, Any] = {
    "article": {
        "id": "cnn-2024-08-13-musk",
        "title": "Trump and Musk hold live-streamed conversation on X",
        "text": (
            "After a 42-minute delay, Musk began the stream.\n"
            "The conversation at times garnered an audience as large as 1,324,994 people.\n"
            "The FBI’s 2024 Quarterly Crime Report indicates violent crime is down 15.2% when comparing "
            "statistics from January through March of 2023 to the same period in 2024.\n"
            "This is a developing story. Please check back for updates."
        ),
        "url": "https://www.cnn.com/2024/08/12/politics/trump-musk-x-interview/index.html",
        "language": "en",
    },
    "options": {"model": "default", "prompt": "extract_claims@1", "min_checkworthiness": 0.0},
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/problem+json": {}}}
    for status, description in {
        413: "The article is longer than `max_article_chars`, or the body is larger than allowed.",
        422: (
            "The body is not JSON (or not sent as `application/json`), misses `article.text`, has wrong types, "
            "or names an unknown model or prompt."
        ),
        429: "Every chunk was rate limited upstream; `Retry-After` says when to come back.",
        502: "Every chunk failed: the provider erred or never gave a valid reply.",
        503: "Every chunk failed: the provider is unavailable.",
        504: "Every chunk failed: the provider timed out.",
    }.items()
}


@router.post(
    "/v1/extractions",
    response_model=ExtractionResult,
    responses={
        200: {
            "description": "The claims, as JSON; or as ClaimReview JSON-LD or CSV (`Accept`). " + EVENTS_DESCRIPTION,
            "content": {
                **ALTERNATIVES,
                EVENT_STREAM: EXTRACTION_EVENTS,
            },
        },
        **PROBLEM_RESPONSES,
        **AUTH_RESPONSES,
        429: {
            "description": "Every chunk was rate limited upstream (`Retry-After` passed on); or, with API keys, the "
            "key is over its quota (`Retry-After` and the `RateLimit` headers say when it resets).",
            "content": {"application/problem+json": {}},
        },
    },
    dependencies=[Depends(require("extract", spends=True))],
    summary="Extract checkable claims from an article",
    tags=["extraction"],
)
async def create_extraction(
    request: Request,
    response: Response,
    pipeline: PipelineDep,
    body: Annotated[
        ExtractionRequest, Body(openapi_examples={"news": {"summary": "A news article", "value": EXAMPLE_REQUEST}})
    ],
) -> ExtractionResult | Response:
    """Split the article into chunks, ask the model for claims, ground each in a verbatim span, de-duplicate.

    Every claim's `source.quote == article.text[source.start:source.end]`. Claims the model could not ground
    are dropped and listed in `warnings`; chunks that failed after retries, repairs and fallbacks are listed
    in `errors` with `status: partial`. With `Accept: text/event-stream` the same extraction streams: each
    chunk's claims as it is answered, then the final result.
    """
    if wants_events(request):
        streaming = await stream_extraction(request, partial(_extract, request, pipeline, body))
        await refresh_rate_headers(request)  # the estimate is held by now
        return streaming
    result = await _extract(request, pipeline, body)
    alternative = wanted(request)
    response.headers["Vary"] = "Accept"
    return result if alternative is None else claims_as(alternative, [result])


async def _extract(
    request: Request, pipeline: Pipeline, body: ExtractionRequest, progress: Progress | None = None
) -> ExtractionResult:
    """Run the extraction on the caller's budget (reserved before the models, settled after) and log it."""
    started = time.perf_counter()
    try:
        result = await pipeline.extract(body, budget_of(request), progress=progress)
    finally:
        await refresh_rate_headers(request)
    log_extraction(result, time.perf_counter() - started, request_id=request_id_of(request))
    return result


def _summary(version: PromptVersion) -> PromptSummary:
    """Describe a prompt version briefly."""
    spec = version.spec
    return PromptSummary(
        name=spec.name, version=spec.version, status=spec.status, description=spec.description, sha256=version.sha256
    )


@router.get(
    "/v1/prompts",
    response_model=list[PromptSummary],
    responses=AUTH_RESPONSES,
    dependencies=[Depends(require("read"))],
    tags=["prompts"],
    summary="List prompt versions",
)
async def list_prompts(pipeline: PipelineDep) -> list[PromptSummary]:
    """List every loaded prompt version with its status and sha256."""
    return [_summary(version) for version in pipeline.prompts.versions()]


@router.get(
    "/v1/prompts/{name}/{version}",
    response_model=PromptDetail,
    responses={
        404: {"description": "No such prompt version.", "content": {"application/problem+json": {}}},
        **AUTH_RESPONSES,
    },
    dependencies=[Depends(require("read"))],
    tags=["prompts"],
    summary="Show one prompt version",
)
async def show_prompt(pipeline: PipelineDep, name: str, version: int) -> PromptDetail:
    """Show a prompt version whole: templates, params and sha256."""
    try:
        found = pipeline.prompts.get(f"{name}@{version}")
    except UnknownPromptVersion as exc:
        raise NotFound(exc.detail) from exc
    spec = found.spec
    return PromptDetail(
        **_summary(found).model_dump(),
        changelog=spec.changelog,
        params=spec.params,
        reply_schema=spec.reply_schema,
        messages=[message.model_dump() for message in spec.messages],
        repair=spec.repair,
    )


@router.get(
    "/v1/models",
    response_model=list[ModelSummary],
    responses=AUTH_RESPONSES,
    dependencies=[Depends(require("read"))],
    tags=["models"],
    summary="List model aliases",
)
async def list_models(pipeline: PipelineDep) -> list[ModelSummary]:
    """List the configured model aliases clients may pass as `options.model` (never their secrets)."""
    settings = pipeline.settings
    return [
        ModelSummary(
            name=entry.model_name,
            model=entry.model,
            default=entry.model_name == settings.default_model,
            fallbacks=settings.fallbacks.get(entry.model_name, []),
        )
        for entry in settings.models
    ]


@router.get(
    "/problems/{slug}",
    response_model=ProblemType,
    responses={404: {"description": "No such problem type."}},
    tags=["errors"],
    summary="Document a problem type",
)
async def show_problem_type(slug: str) -> ProblemType:
    """Explain a problem ``type`` this service returns (the types are relative URIs to this route)."""
    error_class = problem_catalogue().get(slug)
    if error_class is None:
        raise NotFound(f"no problem type {slug!r}")
    return ProblemType(
        type=f"/problems/{slug}",
        title=error_class.title,
        status=error_class.status,
        description=(error_class.__doc__ or "").strip(),
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus' text format."}, **AUTH_RESPONSES},
    dependencies=[Depends(require("admin"))],
    tags=["health"],
    summary="Prometheus metrics",
)
async def prometheus_metrics(request: Request) -> Response:
    """Serve requests, extractions, chunks, model calls, tokens, cost, cache, jobs and webhooks to Prometheus."""
    try:
        for state, count in (await service_state(request.app).jobs.depth()).items():
            metrics.JOB_ARTICLES_WAITING.labels(state).set(count)
    except StoreUnavailable:
        logger.warning("the job store cannot be reached: claims_job_articles_waiting keeps its last value")
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


@router.get("/", include_in_schema=False)
async def desk_page() -> FileResponse:
    """Serve the desk page: paste an article, see its claims highlighted (it uses the public API only)."""
    return FileResponse(DESK / "index.html", media_type="text/html")


@router.get("/healthz", response_model=HealthStatus, tags=["health"], summary="Liveness")
async def healthz() -> HealthStatus:
    """Say the process is up."""
    return HealthStatus(status="ok")


@router.get(
    "/readyz",
    response_model=HealthStatus,
    responses={
        503: {
            "description": "The reply cache, the job store or the shared Redis cannot be used; the detail says "
            "why, and `checks` gives each part's status.",
            "content": {"application/problem+json": {}},
        }
    },
    tags=["health"],
    summary="Readiness",
)
async def readyz(pipeline: PipelineDep, jobs: JobsDep) -> HealthStatus:
    """Say the service can take work: prompts loaded, the reply cache, the job store and Redis (if used) usable.

    Each check carries its own ``status`` (``ok`` or ``failing``, with a ``detail``).
    """
    problems, checks = await readiness(pipeline, jobs)
    if problems:
        raise NotReady("; ".join(problems), extensions={"checks": checks})
    return HealthStatus(status="ready", checks=checks)
