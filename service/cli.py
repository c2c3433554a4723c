"""The ``claims`` command: ``serve``, ``extract`` and ``prompts`` (list, show, new, release, diff).

Heavy modules (FastAPI, litellm) are imported inside the commands that need them, so ``claims --help``
and ``claims prompts list`` answer at once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli_eval import eval_app
from service.errors import ClaimServiceError

if TYPE_CHECKING:
    from service.prompts import PromptRegistry

app = typer.Typer(help="Turn news articles into grounded, checkable factual claims.", no_args_is_help=True)
prompts_app = typer.Typer(help="List, show, scaffold, release and diff prompt versions.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(eval_app, name="eval")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (default: $CLAIMS_CONFIG or ./claims.yaml).")
]
PromptsDirOption = Annotated[
    Path | None, typer.Option("--prompts-dir", help="Prompts directory (default: the configured one, or shipped).")
]


class OutputFormat(StrEnum):
    """How ``claims extract`` prints its result."""

    json = "json"
    table = "table"


def _fail(error: ClaimServiceError) -> typer.Exit:
    """Print an error as one line on stderr and return the exit to raise."""
    typer.echo(f"error: {error.title}: {error.detail}", err=True)
    return typer.Exit(code=2 if error.status < 500 else 1)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 for all.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (they share the disk cache).")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from service.app import build_pipeline
    from service.settings import get_settings

    if config is not None:
        os.environ["CLAIMS_CONFIG"] = str(config.resolve())
    try:
        settings = get_settings()
        build_pipeline(settings).cache.close()  # fail here, with a clear message, not inside a worker
    except ClaimServiceError as error:
        raise _fail(error) from error
    uvicorn.run(
        "service.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
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
    from service.app import build_pipeline
    from service.cli_output import print_table
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
    except ClaimServiceError as error:
        raise _fail(error) from error
    if output is OutputFormat.table:
        print_table(result)
    else:
        typer.echo(result.model_dump_json(indent=2))


def _prompts_dir(prompts_dir: Path | None, config: Path | None) -> Path:
    """Return ``--prompts-dir``, else the configured prompts directory, else the shipped one."""
    from service.prompts import default_prompts_dir
    from service.settings import get_settings

    return prompts_dir or get_settings(config).prompts_dir or default_prompts_dir()


def _registry(prompts_dir: Path | None, config: Path | None) -> PromptRegistry:
    """Load the prompt registry the configured service would use (or the one under ``--prompts-dir``)."""
    from service.prompts import PromptRegistry

    return PromptRegistry.load(_prompts_dir(prompts_dir, config))


@prompts_app.command("list")
def prompts_list(prompts_dir: PromptsDirOption = None, config: ConfigOption = None) -> None:
    """List prompt versions with status and sha256."""
    try:
        registry = _registry(prompts_dir, config)
    except ClaimServiceError as error:
        raise _fail(error) from error
    for version in registry.versions():
        typer.echo(f"{version.ref:<24} {version.spec.status:<9} {version.sha256[:12]}  {version.spec.description[:60]}")


@prompts_app.command("show")
def prompts_show(
    ref: Annotated[str, typer.Argument(help="name@version")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a prompt version's file."""
    try:
        version = _registry(prompts_dir, config).get(ref)
    except ClaimServiceError as error:
        raise _fail(error) from error
    typer.echo(f"# {version.ref}  sha256:{version.sha256}")
    typer.echo(version.path.read_text(encoding="utf-8"), nl=False)


@prompts_app.command("new")
def prompts_new(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. extract_claims.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Scaffold the next version of a prompt as a draft copy of the latest; print its path."""
    from service.prompt_lifecycle import new_version

    try:
        path = new_version(_prompts_dir(prompts_dir, config), name)
    except ClaimServiceError as error:
        raise _fail(error) from error
    typer.echo(str(path))


@prompts_app.command("release")
def prompts_release(
    ref: Annotated[str, typer.Argument(help="name@version of a draft.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Mark a draft released and pin its sha256 in prompts.lock; released versions are immutable."""
    from service.prompt_lifecycle import release_version

    try:
        digest = release_version(_prompts_dir(prompts_dir, config), ref)
    except ClaimServiceError as error:
        raise _fail(error) from error
    typer.echo(f"released {ref}  sha256:{digest}")


@prompts_app.command("retire")
def prompts_retire(
    ref: Annotated[str, typer.Argument(help="name@version of a released prompt.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Mark a released prompt retired and re-pin it; it still loads by name@version, never as the latest."""
    from service.prompt_lifecycle import retire_version

    try:
        digest = retire_version(_prompts_dir(prompts_dir, config), ref)
    except ClaimServiceError as error:
        raise _fail(error) from error
    typer.echo(f"retired {ref}  sha256:{digest}")


@prompts_app.command("diff")
def prompts_diff(
    old: Annotated[str, typer.Argument(help="name@version to diff from.")],
    new: Annotated[str, typer.Argument(help="name@version to diff to.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a unified diff between two prompt versions' files."""
    from service.prompt_lifecycle import diff_versions

    try:
        diff = diff_versions(_prompts_dir(prompts_dir, config), old, new)
    except ClaimServiceError as error:
        raise _fail(error) from error
    typer.echo(diff, nl=False)


def main() -> None:
    """Run the ``claims`` command."""
    app()
