"""``claims factchecks``: import a file of fact-checks into a running service, with a progress bar; search it.

Like ``claims jobs``, these commands speak the public HTTP API (``/v1/factchecks``) of the service at
``--url`` with the key of ``--api-key``. An import is always sent as a job (``Prefer: respond-async``), so
the bar follows it on stderr whatever its size; the final report (imported, updated, rejected with where and
why) is printed as JSON on stdout. The format is read from the file's extension unless ``--format`` says.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli.jobs import DEFAULT_URL, ApiKeyOption, Service, UrlOption, _call

factchecks_app = typer.Typer(help="Import fact-checks (ClaimReview) into a running service; search them.")
POLL_S = 0.5


class ImportFormat(StrEnum):
    """What an import file holds."""

    jsonld = "jsonld"
    ndjson = "ndjson"
    csv = "csv"


MEDIA_TYPE = {
    ImportFormat.jsonld: "application/ld+json",
    ImportFormat.ndjson: "application/x-ndjson",
    ImportFormat.csv: "text/csv",
}
BY_EXTENSION = {
    ".json": ImportFormat.jsonld, ".jsonld": ImportFormat.jsonld, ".ndjson": ImportFormat.ndjson,
    ".jsonl": ImportFormat.ndjson, ".csv": ImportFormat.csv,
}  # fmt: skip


def format_of(path: Path, given: ImportFormat | None) -> ImportFormat:
    """Return the file's format: the one given, else its extension's; exit 2 when neither says."""
    found = given or BY_EXTENSION.get(path.suffix.lower())
    if found is None:
        typer.echo(
            f"error: {path}: say --format jsonld, ndjson or csv (the extension {path.suffix!r} does not)", err=True
        )
        raise typer.Exit(code=2)
    return found


@factchecks_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="JSON-LD, NDJSON or CSV.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    file_format: Annotated[ImportFormat | None, typer.Option("--format", help="Default: from the extension.")] = None,
) -> None:
    """Import the fact-checks of FILE (upserted by url), showing progress; print the report."""
    service = Service(url, api_key)
    headers = {"content-type": MEDIA_TYPE[format_of(file, file_format)], "prefer": "respond-async"}
    answer = _call(service, "POST", "/v1/factchecks", content=file.read_bytes(), headers=headers)
    report = _follow(service, answer)["report"] if "state" in answer else answer
    typer.echo(json.dumps(report, indent=2))


def _follow(service: Service, job: dict[str, Any]) -> dict[str, Any]:
    """Show the import's progress on stderr until it ends; return it ended (exit 1 when it failed)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as progress:
        task = progress.add_task("importing", total=job["total"])
        while job["state"] == "running":
            time.sleep(POLL_S)
            job = _call(service, "GET", f"/v1/factchecks/imports/{job['id']}")
            progress.update(task, completed=job["processed"], total=job["total"])
    if job["state"] == "failed":
        typer.echo(f"error: the import {job['id']} failed: {job['error']}", err=True)
        typer.echo(json.dumps(job["report"], indent=2))
        raise typer.Exit(code=1)
    return job


@factchecks_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="A claim, as text.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many matches.")] = 5,
    language: Annotated[str | None, typer.Option(help="Only fact-checks in this language.")] = None,
) -> None:
    """Print the fact-checks that best match QUERY, best first, as JSON."""
    params: dict[str, Any] = {"q": query, "limit": limit} | ({"language": language} if language else {})
    typer.echo(json.dumps(_call(Service(url, api_key), "GET", "/v1/factchecks/search", params=params), indent=2))
