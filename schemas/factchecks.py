"""Fact-checks as a desk's archive keeps them (one schema.org ClaimReview each) and as a search finds them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FactCheck(BaseModel):
    """One ClaimReview: the claim it reviewed, its verdict, who published it and when; its URL is its identity."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="The review's URL: its identity (imports upsert by it).")
    claim_reviewed: str = Field(min_length=1, description="The claim as the fact-checker stated it.")
    title: str | None = Field(default=None, description="The review's headline.")
    rating: str | None = Field(default=None, description="reviewRating.alternateName, e.g. 'False'.")
    publisher: str | None = Field(default=None, description="Who published the review (author.name).")
    date_published: str | None = Field(default=None, description="When the review was published (ISO date).")
    language: str | None = Field(default=None, description="The review's language (BCP 47, e.g. 'en').")


class FactCheckMatch(FactCheck):
    """A fact-check found for a claim, with how likely it is to review that very claim."""

    score: float = Field(
        ge=0.0,
        le=1.0,
        description="Calibrated on labelled pairs: the estimated probability that the review checks this claim.",
    )
