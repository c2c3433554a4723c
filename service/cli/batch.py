"""``claims extract`` over many articles: files, folders and NDJSON in, one output by ``--format``, a progress bar.

Each source is a text or HTML file (one article), a folder (its ``*.txt``, ``*.md`` and ``*.html`` files,
sorted), an NDJSON file (``*.ndjson`` or ``*.jsonl``: one extraction request a line, as ``POST /v1/jobs``
takes), or ``-`` for standard input. The articles run through the same pipeline as the service, several
at once, and are written in the order given by the writer of the chosen format (``batch_output``): NDJSON
by default, one line an article, ``{"index", "source", "article_id", "state", "result" | "error"}``, the
shape of a job's results; or CSV, ClaimReview JSON-LD or tables of them all. A bad line or a failed article
never stops the others; the exit code is 1 when any article failed, 2 when nothing could be read.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas import Article, ExtractionOptions, ExtractionRequest
from schemas.jobs import ArticleError
from service.cli.batch_output import BatchWriter, Outcome
from service.errors import ClaimServiceError, ExtractionFailed, validation_summary
from service.pipeline.extraction import Pipeline, article_fingerprint

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
TEXT_SUFFIXES = (".txt", ".md", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One article to extract, or why its source could not become one."""

    source: str
    request: ExtractionRequest | None
    problem: str | None = None


def read_items(sources: list[str], options: ExtractionOptions, language: str | None) -> Iterator[BatchItem]:
    """Yield an item per article in the sources, in order: files, folders' text files, NDJSON lines."""
    for source in sources:
        path = Path(source)
        if source == "-":
            yield _text_item("-", sys.stdin.read(), options, language)
        elif path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.suffix in TEXT_SUFFIXES):
                yield _file_item(child, options, language)
        elif path.suffix in NDJSON_SUFFIXES:
            yield from _ndjson_items(path)
        else:
            yield _file_item(path, options, language)


def _file_item(path: Path, options: ExtractionOptions, language: str | None) -> BatchItem:
    """Read one text file as an article whose id is the file's name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return BatchItem(str(path), None, f"cannot read {path}: {exc}")
    article_format = "html" if path.suffix.lower() in HTML_SUFFIXES else "auto"
    return _text_item(str(path), text, options, language, article_id=path.stem, article_format=article_format)


def _text_item(
    source: str,
    text: str,
    options: ExtractionOptions,
    language: str | None,
    article_id: str | None = None,
    article_format: str = "auto",
) -> BatchItem:
    """Make an extraction request of a text (an HTML page's, for ``article_format: html``)."""
    try:
        article = Article.model_validate(
            {"id": article_id, "text": text, "language": language, "format": article_format}
        )
        request = ExtractionRequest(article=article, options=options)
    except ValidationError as exc:
        return BatchItem(source, None, validation_summary(exc.errors(), root="article"))
    return BatchItem(source, request)


def _ndjson_items(path: Path) -> Iterator[BatchItem]:
    """Yield one item per non-blank line of an NDJSON file of extraction requests."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        yield BatchItem(str(path), None, f"cannot read {path}: {exc}")
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        source = f"{path}:{number}"
        try:
            yield BatchItem(source, ExtractionRequest.model_validate_json(line))
        except ValidationError as exc:
            yield BatchItem(source, None, validation_summary(exc.errors(), root="line", limit=5))


def _error(index: int, article_id: str, error: ClaimServiceError) -> dict[str, Any]:
    """Describe a failed article as a job result's error."""
    problem = ArticleError(
        index=index, article_id=article_id, type=error.problem_type, title=error.title, status=error.status,
        detail=error.detail,
    )  # fmt: skip
    return problem.model_dump()


async def _extract(pipeline: Pipeline, index: int, item: BatchItem) -> Outcome:
    """Extract one item; return its outcome (its result, or its error)."""
    if item.request is None:
        return Outcome(index, item.source, None, error={"detail": item.problem})
    article_id = item.request.article.id or article_fingerprint(item.request.article.text)
    try:
        result = await pipeline.extract(item.request)
    except ExtractionFailed as failure:
        return Outcome(index, item.source, article_id, error=_error(index, article_id, failure.cause))
    except ClaimServiceError as error:
        return Outcome(index, item.source, article_id, error=_error(index, article_id, error))
    return Outcome(index, item.source, result.article_id, result=result)


async def run_batch(pipeline: Pipeline, items: list[BatchItem], writer: BatchWriter, concurrency: int) -> int:
    """Extract every item, ``concurrency`` at a time, writing each in order as it becomes ready; return failures."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    totals = {"claims": 0, "tokens": 0, "cost": 0.0, "failed": 0}
    gate = asyncio.Semaphore(concurrency)

    async def bounded(index: int, item: BatchItem) -> Outcome:
        async with gate:
            return await _extract(pipeline, index, item)

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(
        *columns, TextColumn("{task.fields[figures]}"), TimeRemainingColumn(), console=Console(stderr=True)
    ) as progress:
        task = progress.add_task("articles", total=len(items), figures="")
        pending = [asyncio.create_task(bounded(index, item)) for index, item in enumerate(items)]
        for running in pending:  # in the order given: an article is written once all before it are
            outcome = await running
            _count(totals, outcome)
            writer.write(outcome)
            progress.update(task, advance=1, figures=_figures(totals))
    writer.finish()
    return int(totals["failed"])


def _count(totals: dict[str, Any], outcome: Outcome) -> None:
    """Add an article's outcome to the running totals shown beside the progress bar."""
    if outcome.result is None:
        totals["failed"] += 1
        return
    usage = outcome.result.usage
    totals["claims"] += len(outcome.result.claims)
    totals["tokens"] += usage.prompt_tokens + usage.completion_tokens
    totals["cost"] = None if totals["cost"] is None or usage.cost_usd is None else totals["cost"] + usage.cost_usd


def _figures(totals: dict[str, Any]) -> str:
    """Say what the batch has produced and spent so far."""
    cost = "unknown" if totals["cost"] is None else f"${totals['cost']:.4f}"
    return f"claims {totals['claims']} · tokens {totals['tokens']:,} · cost {cost} · failed {totals['failed']}"
