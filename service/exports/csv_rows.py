"""Claims as CSV: one row a claim, a header row, UTF-8, quoted so commas, quotes and newlines survive.

The columns: article id, claim id, text, type, claimant, attribution, check-worthiness, quote, start, end,
model and prompt (``name@version``). Python's ``csv`` module writes the quoting (RFC 4180), and reads it back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from schemas import Claim, ExtractionResult

MEDIA_TYPE = "text/csv"
COLUMNS = (
    "article_id", "claim_id", "text", "type", "claimant", "attribution", "checkworthiness", "quote", "start",
    "end", "model", "prompt",
)  # fmt: skip


def row(result: ExtractionResult, claim: Claim, prompt: str) -> list[str]:
    """Return one claim's CSV row."""
    source = claim.source
    return [
        result.article_id, claim.id, claim.text, claim.type, claim.claimant or "", claim.attribution,
        f"{claim.checkworthiness:.2f}", source.quote, str(source.start), str(source.end), claim.model, prompt,
    ]  # fmt: skip


def rows(result: ExtractionResult) -> list[list[str]]:
    """Return the CSV rows of one result's claims (no header)."""
    prompt = f"{result.provenance.prompt.name}@{result.provenance.prompt.version}"
    return [row(result, claim, prompt) for claim in result.claims]


def claims_csv(results: Iterable[ExtractionResult]) -> str:
    """Return the results' claims as CSV text, header first (every line ending CRLF, as RFC 4180 has it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for result in results:
        writer.writerows(rows(result))
    return buffer.getvalue()
