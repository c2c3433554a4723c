"""The contract of the fact-check archive's import: what an import reports, and an import run as a job."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.factchecks import FactCheckMatch

REJECTIONS_LISTED = 1000  # an import's rejections listed one by one; past that only counted


class Rejection(BaseModel):
    """A fact-check an import could not take: where it stood in the body, and why."""

    at: str = Field(description="Where in the body: `line 12` (NDJSON, CSV), `item 3` (a JSON list or `@graph`).")
    reason: str = Field(description="What is missing or wrong, in words; the values themselves are never echoed.")


class ImportReport(BaseModel):
    """What an import did: fact-checks new to the archive, ones replaced (same `url`), and ones refused."""

    imported: int = Field(default=0, ge=0, description="Fact-checks whose `url` was not in the archive.")
    updated: int = Field(default=0, ge=0, description="Fact-checks that replaced the archive's one with that `url`.")
    rejected: int = Field(default=0, ge=0, description="Fact-checks refused; each is listed in `rejections`.")
    rejections: list[Rejection] = Field(
        default_factory=list, description=f"The first {REJECTIONS_LISTED:,} rejections, each with where and why."
    )


class ImportJob(BaseModel):
    """A large import, run in the background: follow it at `/v1/factchecks/imports/{id}`."""

    id: str
    state: Literal["running", "succeeded", "failed"]
    total: int = Field(ge=0, description="Fact-checks (lines, items) the body holds.")
    processed: int = Field(ge=0, description="How many of them were read so far (imported, updated or rejected).")
    report: ImportReport
    error: str | None = Field(default=None, description="Why a failed import stopped (what it stored stays).")
    created_at: datetime
    updated_at: datetime


class FactCheckSearch(BaseModel):
    """The reply of ``GET /v1/factchecks/search``: the best matches, best first."""

    matches: list[FactCheckMatch]
