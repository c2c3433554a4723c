"""What the model must return: a flat list of claims citing chunk-local sentence ids and a verbatim quote.

Kept flat on purpose (tool-calling modes of some providers mangle nested ``$ref``s). The service, not the
model, computes offsets, ids and provenance.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.claim_types import Attribution, ClaimType

MODEL_REPLY_SCHEMA_VERSION = "1"


class ModelClaim(BaseModel):
    """One claim as the model states it, before the service grounds it in the article."""

    model_config = ConfigDict(extra="ignore")

    sentence_ids: Annotated[list[int], Field(min_length=1, description="Ids N of the [SN] lines the claim comes from.")]
    quote: Annotated[str, Field(min_length=1, description="A verbatim span of the cited sentences.")]
    text: Annotated[str, Field(min_length=1, description="The claim, stated so that it stands alone.")]
    type: ClaimType
    claimant: str | None = Field(default=None, description="Who makes the claim; null for the article's own voice.")
    attribution: Attribution = "author"
    checkworthiness: Annotated[float, Field(ge=0.0, le=1.0, description="How worth checking, 0 to 1.")]


class ModelReply(BaseModel):
    """The whole reply; an empty list is the honest answer when nothing is checkable."""

    model_config = ConfigDict(extra="ignore")

    claims: list[ModelClaim]
