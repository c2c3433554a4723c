"""Content negotiation for claims: JSON by default, ClaimReview JSON-LD or CSV when the client prefers them.

``Accept`` is read with its quality values (``text/csv;q=0`` refuses CSV; the highest ``q`` wins, then the
order offered): ``application/ld+json`` gets schema.org ``ClaimReview`` skeletons
(``service.exports.claim_review``), ``text/csv`` one row a claim (``service.exports.csv_rows``), anything
else the JSON reply. Every answer says ``Vary: Accept``. The alternatives carry the claims only, so they
say in headers what the JSON would: ``Extraction-Status`` (``complete`` or ``partial``: some chunk failed)
and, for a job's results, ``Articles-Failed`` (articles left out because they failed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from schemas import ExtractionResult
from service.exports import claim_review, csv_rows

JSON = "application/json"
ALTERNATIVES: dict[str, Any] = {
    claim_review.MEDIA_TYPE: {
        "schema": {"type": "object", "description": "schema.org JSON-LD: an unrated ClaimReview per claim."}
    },
    csv_rows.MEDIA_TYPE: {
        "schema": {"type": "string", "description": "One row a claim: " + ", ".join(csv_rows.COLUMNS) + "."}
    },
}
VARY = {"Vary": "Accept"}


def _ranges(accept: str) -> list[tuple[str, float]]:
    """Return the media ranges of an ``Accept`` header with their quality values."""
    ranges = []
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(offered: str, ranges: list[tuple[str, float]]) -> float:
    """Return the quality the client gives ``offered``: its most specific matching range's."""
    kind = offered.split("/")[0]
    for pattern in (offered, f"{kind}/*", "*/*"):
        matching = [quality for media, quality in ranges if media == pattern]
        if matching:
            return max(matching)
    return 0.0


def preferred(request: Request, offered: Sequence[str]) -> str:
    """Return the offered media type the client prefers (``offered[0]``, JSON, when it says nothing)."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return offered[0]
    ranges = _ranges(accept)
    best = max(offered, key=lambda media: (_quality(media, ranges), -offered.index(media)))
    return best if _quality(best, ranges) > 0 else offered[0]


def wanted(request: Request) -> str | None:
    """Return the alternative (JSON-LD or CSV) the client prefers to JSON, or None for JSON."""
    choice = preferred(request, (JSON, claim_review.MEDIA_TYPE, csv_rows.MEDIA_TYPE))
    return None if choice == JSON else choice


def claims_as(media_type: str, results: Sequence[ExtractionResult], headers: dict[str, str] | None = None) -> Response:
    """Return the results' claims as ClaimReview JSON-LD or as CSV, saying whether any was partial."""
    status = "partial" if any(result.status == "partial" for result in results) else "complete"
    headers = {**(headers or {}), **VARY, "Extraction-Status": status}
    if media_type == claim_review.MEDIA_TYPE:
        return JSONResponse(claim_review.claim_reviews(results), media_type=media_type, headers=headers)
    return Response(csv_rows.claims_csv(results), media_type="text/csv; charset=utf-8", headers=headers)
