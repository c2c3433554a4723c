"""What server-sent events carry: an extraction's chunks as they are answered, a job's articles as they finish."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.extraction import Claim, Notice
from schemas.jobs import ArticleState, JobCounts


class ChunkClaims(BaseModel):
    """One chunk's claims as soon as it is answered (``event: chunk``): provisional.

    Grounded, checked and filtered like the final ones, but claims are de-duplicated across chunks only in
    the final result.
    """

    chunk: int = Field(ge=1, description="The chunk (1-based); chunks arrive in the order they are answered.")
    chunks: int = Field(description="How many chunks the article was cut into.")
    claims: list[Claim]
    warnings: list[Notice] = Field(default_factory=list)
    errors: list[Notice] = Field(default_factory=list, description="The parts of the chunk no model answered.")
    cached: bool = Field(description="Whether the reply cache answered the whole chunk, with no model call.")


class ArticleFinished(BaseModel):
    """One of a job's articles has finished (``event: article``); the event's id is its place in completion order."""

    sequence: int = Field(description="1 for the first article to finish, 2 for the next...: the event's id.")
    index: int = Field(description="The article's position in the submission, from 0.")
    article_id: str
    state: ArticleState
    claims: int = Field(description="How many claims its result holds (0 when it failed).")
    counts: JobCounts = Field(description="The job's counts when the event was sent.")
