"""The ``claims`` command: ``serve`` and ``extract`` here, ``prompts`` and ``eval`` in their own modules.

Heavy modules (FastAPI, litellm) are imported inside the commands that need them, so ``claims --help``
and ``claims prompts list`` answer at once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from service.cli.eval import eval_app
from service.cli.options import ConfigOption, fail
from service.cli.prompts import prompts_app
from service.errors import ClaimServiceError, ExtractionFailed

app = typer.Typer(help="Turn news articles into grounded, checkable factual claims.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(eval_app, name="eval")


class OutputFormat(StrEnum):
    """How ``claims extract`` prints its result."""

    json = "json"
    table = "table"


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
    from service.settings import get_settings

    if config is not None:
        os.environ["CLAIMS_CONFIG"] = str(config.resolve())
    try:
        settings = get_settings()
        build_pipeline(settings).cache.close()  # fail here, with a clear message, not inside a worker
    except ClaimServiceError as error:
        raise fail(error) from error
    uvicorn.run(
        "service.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


def _read_article(source: str) -> str:
    """Read the article from a file, or from standard input for ``-``."""
    return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="Article text file, or - for standard input.")],
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option(help="Model alias (default: the configured default).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Prompt as name@version.")] = None,
    title: Annotated[str | None, typer.Option(help="The article's headline.")] = None,
    language: Annotated[str, typer.Option(help="BCP 47 language tag.")] = "en",
    output: Annotated[OutputFormat, typer.Option("--format", help="json or table.")] = OutputFormat.json,
) -> None:
    """Extract claims from an article without a server."""
    from pydantic import ValidationError

    from schemas import Article, ExtractionOptions, ExtractionRequest
    from service.cli.output import print_table
    from service.pipeline.build import build_pipeline
    from service.settings import get_settings

    try:
        request = ExtractionRequest(
            article=Article(text=_read_article(source), title=title, language=language),
            options=ExtractionOptions(model=model, prompt=prompt),
        )
    except (OSError, ValidationError) as exc:
        typer.echo(f"error: cannot use {source}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    try:
        pipeline = build_pipeline(get_settings(config))
        result = asyncio.run(pipeline.extract(request))
    except ExtractionFailed as failed:
        raise fail(failed.cause) from failed
    except ClaimServiceError as error:
        raise fail(error) from error
    if output is OutputFormat.table:
        print_table(result)
    else:
        typer.echo(result.model_dump_json(indent=2))


def main() -> None:
    """Run the ``claims`` command."""
    app()
