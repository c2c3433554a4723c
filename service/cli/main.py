"""The ``claims`` command: ``serve`` and ``extract`` here, ``prompts`` and ``eval`` in their own modules.

Heavy modules (FastAPI, litellm) are imported inside the commands that need them, so ``claims --help``
and ``claims prompts list`` answer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as json_module
import os
import sys
from collections.abc import Awaitable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from service.cli.eval import eval_app
from service.cli.factchecks import factchecks_app
from service.cli.jobs import jobs_app
from service.cli.keys import keys_app
from service.cli.options import ConfigOption, fail, startable_settings
from service.cli.prompts import prompts_app
from service.cli.webhooks import webhooks_app
from service.errors import ClaimServiceError, ExtractionFailed

if TYPE_CHECKING:
    from schemas import ExtractionOptions
    from service.pipeline.extraction import Pipeline
    from service.settings import Settings

app = typer.Typer(help="Turn news articles into grounded, checkable factual claims.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(eval_app, name="eval")
app.add_typer(jobs_app, name="jobs")
app.add_typer(keys_app, name="keys")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(factchecks_app, name="factchecks")


class OutputFormat(StrEnum):
    """How ``claims extract`` prints its result."""

    json = "json"
    table = "table"
    csv = "csv"
    claimreview = "claimreview"


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 for all.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (they share the disk cache).")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from service.api.server import uvicorn_options
    from service.pipeline.build import build_pipeline
    from service.stores.jobs.factory import open_job_store

    if config is not None:
        os.environ["CLAIMS_CONFIG"] = str(config.resolve())
    settings = startable_settings(None)
    try:
        asyncio.run(build_pipeline(settings).close())  # fail here, with a clear message, not inside a worker
        asyncio.run(open_job_store(settings).close())  # a damaged jobs.db too: one line, no traceback
    except ClaimServiceError as error:
        raise fail(error) from error
    _refuse_an_open_door(host, settings)
    if (
        workers > 1
        and settings.redis_url is None
        and any(k.rpm or k.tokens_per_day or k.cost_usd_per_day for k in settings.api_keys)
    ):
        typer.echo(
            f"warning: without redis_url each of the {workers} processes keeps its own key quotas (each key gets "
            f"{workers} times its limits); set redis_url to share them",
            err=True,
        )
    uvicorn.run(
        "service.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


def _refuse_an_open_door(host: str, settings: Settings) -> None:
    """Refuse to serve a network without keys unless ``allow_anonymous`` says so (then warn)."""
    if _is_loopback(host) or settings.api_keys:
        return
    if not settings.allow_anonymous:
        typer.echo(
            f"error: binding {host} would let anyone who reaches it spend your model provider account: configure "
            "api_keys (claims keys new NAME prints one), or set allow_anonymous: true (CLAIMS_ALLOW_ANONYMOUS=true) "
            "on a private network",
            err=True,
        )
        raise typer.Exit(code=2)
    typer.echo(
        f"warning: serving {host} with no API keys (allow_anonymous): anyone who reaches it may use it", err=True
    )


def _is_loopback(host: str) -> bool:
    """Say whether ``host`` is a loopback address or name."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def worker(
    config: ConfigOption = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=256, help="Articles run at once (default: the job_workers setting).")
    ] = None,
) -> None:
    """Run job workers only, no API: they take articles from the queue shared on Redis (redis_url)."""
    from service.jobs.worker import run_worker
    from service.observability.logs import configure_logging
    from service.observability.tracing import configure_tracing

    settings = startable_settings(config)
    if settings.redis_url is None:
        typer.echo(
            "error: claims worker takes work from a queue shared on Redis; set redis_url (or CLAIMS_REDIS_URL). "
            "Without it, `claims serve` runs the workers itself.",
            err=True,
        )
        raise typer.Exit(code=2)
    if concurrency is not None:
        settings = settings.model_copy(update={"job_workers": concurrency})
    if settings.job_workers == 0:
        typer.echo("error: job_workers is 0, so this worker would run nothing; pass --concurrency N", err=True)
        raise typer.Exit(code=2)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing("claim-extractor-worker")
    try:
        asyncio.run(run_worker(settings))
    except ClaimServiceError as error:
        raise fail(error) from error


T = TypeVar("T")


async def closing_after(pipeline: Pipeline, work: Awaitable[T]) -> T:
    """Await ``work``, then close the pipeline's cache and connections on the same event loop."""
    try:
        return await work
    finally:
        await pipeline.close()


def _read_article(source: str) -> str:
    """Read the article from a file, or from standard input for ``-``."""
    return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")


def _one_article(sources: list[str]) -> bool:
    """Say whether the sources are one article (one text file, or standard input), not a batch."""
    from service.cli.batch import NDJSON_SUFFIXES

    return len(sources) == 1 and not Path(sources[0]).is_dir() and Path(sources[0]).suffix not in NDJSON_SUFFIXES


@app.command()
def extract(
    sources: Annotated[
        list[str],
        typer.Argument(help="Article text files, folders of them, NDJSON files of requests, or - for standard input."),
    ],
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option(help="Model alias (default: the configured default).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Prompt as name@version.")] = None,
    title: Annotated[str | None, typer.Option(help="The article's headline (one article).")] = None,
    language: Annotated[
        str | None, typer.Option(help="BCP 47 language tag (default: detected from each article's text).")
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="json (for many articles NDJSON, a line each), table, csv (one header, a row a claim of every "
            "article) or claimreview (one JSON-LD document of every claim).",
        ),
    ] = OutputFormat.json,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write many articles' output here (default: stdout).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="A batch's articles extracted at once.")] = 4,
) -> None:
    """Extract claims without a server: one article, or many (NDJSON by default) with a progress bar."""
    from schemas import ExtractionOptions
    from service.pipeline.build import build_pipeline
    from service.settings import get_settings

    try:
        pipeline = build_pipeline(get_settings(config))
    except ClaimServiceError as error:
        raise fail(error) from error
    options = ExtractionOptions(model=model, prompt=prompt)
    if _one_article(sources):
        _extract_one(pipeline, sources[0], options, title, language, output)
    else:
        _extract_many(pipeline, sources, options, language, out, concurrency, output)


def _extract_one(
    pipeline: Pipeline,
    source: str,
    options: ExtractionOptions,
    title: str | None,
    language: str | None,
    output: OutputFormat,
) -> None:
    """Extract one article and print it as JSON or a table."""
    from pydantic import ValidationError

    from schemas import Article, ExtractionRequest
    from service.cli.output import print_table

    try:
        request = ExtractionRequest(
            article=Article(
                text=_read_article(source),
                title=title,
                language=language,
                format="html" if source.lower().endswith((".html", ".htm")) else "auto",
            ),
            options=options,
        )
    except (OSError, UnicodeDecodeError, ValidationError) as exc:
        typer.echo(f"error: cannot use {source}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    try:
        result = asyncio.run(closing_after(pipeline, pipeline.extract(request)))
    except ExtractionFailed as failed:
        raise fail(failed.cause) from failed
    except ClaimServiceError as error:
        raise fail(error) from error
    if output is OutputFormat.table:
        print_table(result)
    elif output is OutputFormat.csv:
        from service.exports.csv_rows import claims_csv

        typer.echo(claims_csv([result]), nl=False)
    elif output is OutputFormat.claimreview:
        from service.exports.claim_review import claim_reviews

        typer.echo(json_module.dumps(claim_reviews([result]), indent=2, ensure_ascii=False))
    else:
        typer.echo(result.model_dump_json(indent=2))


def _extract_many(
    pipeline: Pipeline,
    sources: list[str],
    options: ExtractionOptions,
    language: str | None,
    out: Path | None,
    concurrency: int,
    output: OutputFormat,
) -> None:
    """Extract every article of the sources in the ``--format`` asked (stdout or ``--out``); exit 1 when any failed."""
    from service.cli.batch import read_items, run_batch
    from service.cli.batch_output import writer_for

    items = list(read_items(sources, options, language))
    if not items:
        typer.echo("error: no article found in " + ", ".join(sources), err=True)
        raise typer.Exit(code=2)
    newline = "" if output is OutputFormat.csv else None  # the csv module writes CRLF itself (RFC 4180)
    with out.open("w", encoding="utf-8", newline=newline) if out else contextlib.nullcontext(sys.stdout) as stream:
        writer = writer_for(output.value, stream)
        failed = asyncio.run(closing_after(pipeline, run_batch(pipeline, items, writer, concurrency)))
    if failed:
        why = "their lines say why" if output is OutputFormat.json else "said above"
        typer.echo(f"{failed} of {len(items)} articles failed; {why}", err=True)
        raise typer.Exit(code=1)


def main() -> None:
    """Run the ``claims`` command."""
    app()
