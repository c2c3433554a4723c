"""What ``claims extract`` writes for many articles, by ``--format``: NDJSON, CSV, ClaimReview JSON-LD or tables.

Each writer takes the articles' outcomes in the order given, as they finish, and writes as it goes, so a long
batch never holds every result at once. ``json`` writes one line an article, the shape of a job's results;
``csv`` one header, then a row a claim of every article (the ``article_id`` column says whose);
``claimreview`` one JSON-LD document whose ``@graph`` holds a ``ClaimReview`` of every claim, one a line;
``table`` a table an article. The formats without a place for a failure say it on standard error, one line
an article.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from typing import IO, Any, Protocol

from schemas import ExtractionResult
from service.exports import claim_review, csv_rows


@dataclass(frozen=True, slots=True)
class Outcome:
    """One article of a batch: its result, or its error (a job result's error, or why its source was unusable)."""

    index: int
    source: str
    article_id: str | None
    result: ExtractionResult | None = None
    error: dict[str, Any] | None = None

    def line(self) -> dict[str, Any]:
        """Return the article's NDJSON line: ``{"index", "source", "article_id", "state", "result" | "error"}``."""
        line: dict[str, Any] = {"index": self.index, "source": self.source, "article_id": self.article_id}
        if self.result is None:
            return {**line, "state": "failed", "error": self.error}
        return {**line, "state": "succeeded", "result": self.result.model_dump(mode="json")}


class BatchWriter(Protocol):
    """Writes a batch's outcomes, in order, to one stream."""

    def write(self, outcome: Outcome) -> None:
        """Write one article's outcome."""

    def finish(self) -> None:
        """Write what closes the output, once every outcome is written."""


class NdjsonWriter:
    """One JSON line an article, failed ones included."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write(self, outcome: Outcome) -> None:
        """Write the article's line."""
        self._out.write(json.dumps(outcome.line(), ensure_ascii=False) + "\n")
        self._out.flush()

    def finish(self) -> None:
        """Nothing closes NDJSON."""


def say_failed(outcome: Outcome) -> None:
    """Say on standard error why an article has no result (for the formats with no place for it)."""
    error = outcome.error or {}
    reason = ": ".join(str(part) for part in (error.get("title"), error.get("detail")) if part)
    print(f"error: {outcome.source}: {reason or 'failed'}", file=sys.stderr)


class CsvWriter:
    """One header, then a row a claim of every article that succeeded (its id in the ``article_id`` column)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._csv = csv.writer(out)
        self._csv.writerow(csv_rows.COLUMNS)

    def write(self, outcome: Outcome) -> None:
        """Write the article's rows, or say why it has none."""
        if outcome.result is None:
            say_failed(outcome)
            return
        self._csv.writerows(csv_rows.rows(outcome.result))
        self._out.flush()

    def finish(self) -> None:
        """Nothing closes CSV."""


class ClaimReviewWriter:
    """One JSON-LD document: a ``ClaimReview`` of every claim of every article, one a line of its ``@graph``."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._written = 0
        out.write(f'{{\n  "@context": {json.dumps(claim_review.CONTEXT)},\n  "@graph": [')

    def write(self, outcome: Outcome) -> None:
        """Write the article's reviews, or say why it has none."""
        if outcome.result is None:
            say_failed(outcome)
            return
        for claim in outcome.result.claims:
            review = json.dumps(claim_review.claim_review(claim, outcome.result), ensure_ascii=False)
            self._out.write(("," if self._written else "") + "\n    " + review)
            self._written += 1
        self._out.flush()

    def finish(self) -> None:
        """Close the graph and the document."""
        self._out.write("\n  ]\n}\n" if self._written else "]\n}\n")
        self._out.flush()


class TableWriter:
    """A table an article, as ``--format table`` prints one."""

    def __init__(self, out: IO[str]) -> None:
        from rich.console import Console

        self._console = Console(file=out)

    def write(self, outcome: Outcome) -> None:
        """Print the article's table, or say why it has none."""
        from service.cli.output import print_table

        if outcome.result is None:
            say_failed(outcome)
            return
        print_table(outcome.result, self._console)

    def finish(self) -> None:
        """Nothing closes the tables."""


def writer_for(output: str, out: IO[str]) -> BatchWriter:
    """Return the writer of ``--format output`` (one of ``FORMATS``) on ``out``."""
    writers: dict[str, type[NdjsonWriter | CsvWriter | ClaimReviewWriter | TableWriter]] = {
        "json": NdjsonWriter, "csv": CsvWriter, "claimreview": ClaimReviewWriter, "table": TableWriter,
    }  # fmt: skip
    return writers[output](out)
