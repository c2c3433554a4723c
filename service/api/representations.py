"""Content negotiation for claims: JSON by default, ClaimReview JSON-LD or CSV when the client asks.

``Accept: application/ld+json`` gets schema.org ``ClaimReview`` skeletons (``service.exports.claim_review``),
``Accept: text/csv`` one row a claim (``service.exports.csv_rows``); anything else, the JSON reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from schemas import ExtractionResult
from service.exports import claim_review, csv_rows

ALTERNATIVES: dict[str, Any] = {
    claim_review.MEDIA_TYPE: {
        "schema": {"type": "object", "description": "schema.org JSON-LD: an unrated ClaimReview per claim."}
    },
    csv_rows.MEDIA_TYPE: {
        "schema": {"type": "string", "description": "One row a claim: " + ", ".join(csv_rows.COLUMNS) + "."}
    },
}


def wanted(request: Request) -> str | None:
    """Return the alternative media type the client asked for (JSON-LD or CSV), or None for JSON."""
    accept = request.headers.get("accept", "").lower()
    for media_type in (claim_review.MEDIA_TYPE, csv_rows.MEDIA_TYPE):
        if media_type in accept:
            return media_type
    return None


def claims_as(media_type: str, results: Sequence[ExtractionResult], headers: dict[str, str] | None = None) -> Response:
    """Return the results' claims as ClaimReview JSON-LD or as CSV."""
    if media_type == claim_review.MEDIA_TYPE:
        return JSONResponse(claim_review.claim_reviews(results), media_type=media_type, headers=headers)
    return Response(csv_rows.claims_csv(results), media_type="text/csv; charset=utf-8", headers=headers)
