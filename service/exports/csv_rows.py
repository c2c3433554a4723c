"""Claims as CSV: one row a claim, a header row, UTF-8, quoted so commas, quotes and newlines survive.

The columns: article id, claim id, text, type, claimant, attribution, check-worthiness, quote, start, end,
model, prompt (``name@version``), the article's language (as given, else detected), and the best
fact-check the claim matched in the archive (its URL and rating; empty when matching found none or was
not asked for). Python's ``csv`` module writes the quoting (RFC 4180), and reads it back.
A free-text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-`` or ``@``: a
quote such as "-40% in May", a claimant "@handle", or a hostile page's ``=HYPERLINK(…)``) starts with a
``'``, which spreadsheets hide and which keeps it text (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from schemas import Claim, ExtractionResult

MEDIA_TYPE = "text/csv"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula (OWASP's list)
COLUMNS = (
    "article_id", "claim_id", "text", "type", "claimant", "attribution", "checkworthiness", "quote", "start",
    "end", "model", "prompt", "language", "fact_check_url", "fact_check_rating",
)  # fmt: skip


def inert(cell: str) -> str:
    """Return a free-text cell a spreadsheet will not run: one starting ``= + - @`` (or a tab or CR) gets a ``'``."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def row(result: ExtractionResult, claim: Claim, prompt: str) -> list[str]:
    """Return one claim's CSV row (its free-text cells made inert)."""
    source = claim.source
    best = claim.fact_checks[0] if claim.fact_checks else None
    return [
        inert(result.article_id), claim.id, inert(claim.text), claim.type, inert(claim.claimant or ""),
        claim.attribution, f"{claim.checkworthiness:.2f}", inert(source.quote), str(source.start), str(source.end),
        claim.model, prompt, result.article.language if result.article else "",
        inert(best.url) if best else "", inert(best.rating or "") if best else "",
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
