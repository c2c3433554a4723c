"""The app factory: settings in, a ready FastAPI app out (prompts verified, cache open, handlers set)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from service import __version__
from service.api.auth import AuthenticateBeforeBodyMiddleware, Keyring
from service.api.docs_pages import router as docs_router
from service.api.factchecks_routes import router as factchecks_router
from service.api.jobs_routes import router as jobs_router
from service.api.middleware import (
    BodySizeLimitMiddleware,
    BodyTimeoutMiddleware,
    InFlight,
    MetricsMiddleware,
    RateLimitHeadersMiddleware,
    RequestIdMiddleware,
    ShutdownMiddleware,
)
from service.api.openapi import Choices, problem_openapi
from service.api.problems import install_problem_handlers
from service.api.routes import DESK, router
from service.api.state import ServiceState, attach
from service.errors import ConfigError, problem_catalogue
from service.factchecks.archive import preload
from service.factchecks.import_jobs import Importer
from service.jobs.runner import JobRunner
from service.llm.batch_api import batch_provider
from service.llm.client import warm_up
from service.observability.logs import configure_logging
from service.observability.tracing import configure_tracing
from service.pipeline.build import build_pipeline
from service.pipeline.extraction import Pipeline
from service.pipeline.spending import settlements_finished
from service.settings import Settings, get_settings
from service.stores.jobs.factory import open_job_store
from service.stores.limits.factory import open_quotas

BODY_OVERHEAD_BYTES = 64 * 1024
ANSWERS_AFTER_GRACE_S = 2.0  # how long shutdown waits, after the grace period, for cut-off requests' 503s
BYTES_PER_CHAR = 12  # JSON-escaped at worst (an emoji as two \uXXXX escapes): an article within the limit always fits

DESCRIPTION = """
Turns news articles into **checkable factual claims**, each grounded in a verbatim span of the article
(`article.text[start:end] == source.quote`), typed by Full Fact's taxonomy, with claimant, attribution,
check-worthiness and provenance (model, prompt version and sha256, tokens, cost).

Errors are RFC 9457 `application/problem+json` documents with `type`, `title`, `status`, `detail`,
`instance` and `request_id`.
"""


def create_app(settings: Settings, *, freeze_startup_objects: bool = False) -> FastAPI:
    """Build the service for ``settings``; raise ``ConfigError`` when prompts or config are unusable.

    ``freeze_startup_objects`` (what a served process wants, not a test) exempts everything alive once the
    app is warm from garbage collection.
    """
    pipeline = build_pipeline(settings)
    jobs = open_job_store(settings)
    quotas = open_quotas(settings)
    runner = JobRunner(pipeline, jobs, jobs, settings, quotas)
    if pipeline.archive is None:  # pragma: no cover - build_pipeline always opens one
        raise ConfigError("the pipeline has no fact-check archive")
    importer = Importer(pipeline.archive)
    in_flight = InFlight()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await warm_up()  # /readyz answers only once litellm is loaded and has served a call
        if freeze_startup_objects:
            # litellm and its dependencies leave ~1M long-lived objects: move them out of the collector's
            # reach, so no request pays for a full collection scanning them (it fell on the first: +190 ms)
            gc.collect()
            gc.freeze()
        await preload(importer.archive)  # the archive's rows and vectors read once, before the first search
        runner.start()
        yield
        await in_flight.drained(limit_s=ANSWERS_AFTER_GRACE_S)  # the 503s of requests cut off at shutdown
        await importer.stop()
        await runner.stop(settings.shutdown_grace_s)
        await settlements_finished()  # the stopped articles' reservations settled before the quotas close
        await jobs.close()
        await quotas.close()
        await pipeline.close()

    # fastapi-offline mounts the Swagger UI and ReDoc assets it installs; docs_pages serves the pages, which load
    # nothing from elsewhere (no CDN, no logo from one)
    app = FastAPIOffline(
        docs_url=None, redoc_url=None, title="claim-extractor", version=__version__, description=DESCRIPTION,
        lifespan=lifespan,
    )  # fmt: skip
    attach(app, ServiceState(pipeline, jobs, runner, Keyring(settings.api_keys), quotas, importer))
    app.openapi = problem_openapi(app, _choices(pipeline))  # type: ignore[method-assign]
    app.include_router(router)
    app.include_router(jobs_router)
    app.include_router(factchecks_router)
    app.include_router(docs_router)
    app.mount("/desk", StaticFiles(directory=DESK, html=True), name="desk")
    install_problem_handlers(app)
    extraction_limit = max(settings.max_article_chars, settings.max_html_chars) * BYTES_PER_CHAR + BODY_OVERHEAD_BYTES
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=extraction_limit,
        max_bytes_under={
            "/v1/jobs": settings.job_max_body_mb * 1024 * 1024,
            "/v1/factchecks": settings.factcheck_max_body_mb * 1024 * 1024,
        },
    )
    app.add_middleware(AuthenticateBeforeBodyMiddleware)  # outside the body cap: a keyless POST is read no further
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(BodyTimeoutMiddleware, timeout=settings.request_body_timeout_s)
    app.add_middleware(ShutdownMiddleware, in_flight=in_flight)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(MetricsMiddleware)
    if settings.cors_origins:  # off by default: browsers elsewhere may call only from these origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location", "Link", "Retry-After", "RateLimit", "RateLimit-Policy"],
        )
    return app


def _choices(pipeline: Pipeline) -> Choices:
    """Return what requests may name in this deployment: its aliases, prompt versions and names, and job modes."""
    versions = pipeline.prompts.versions()
    released = sorted({version.spec.name for version in versions if version.spec.status == "released"})
    return Choices(
        keys_required=bool(pipeline.settings.api_keys),
        models=[entry.model_name for entry in pipeline.settings.models],
        prompts=[*released, *(version.ref for version in versions)],
        problems=sorted(problem_catalogue()),
        modes=["realtime", "batch"] if any(batch_provider(e) for e in pipeline.settings.models) else ["realtime"],
    )


def create_app_from_env() -> FastAPI:
    """Build the app from ``CLAIMS_CONFIG`` and ``CLAIMS_*`` (the factory uvicorn workers import)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing()
    return create_app(settings, freeze_startup_objects=True)
