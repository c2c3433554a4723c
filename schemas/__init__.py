"""The contract: pydantic models of the API and of the model's reply, with their exported JSON Schemas."""

from schemas.claim_types import ATTRIBUTIONS, CLAIM_TYPES, Attribution, ClaimType
from schemas.extraction import (
    SCHEMA_VERSION,
    Article,
    Claim,
    ClaimSource,
    ExtractionOptions,
    ExtractionRequest,
    ExtractionResult,
    ModelProvenance,
    Notice,
    PromptProvenance,
    Provenance,
    Usage,
)
from schemas.model_reply import ModelClaim, ModelReply

__all__ = [
    "ATTRIBUTIONS",
    "CLAIM_TYPES",
    "SCHEMA_VERSION",
    "Article",
    "Attribution",
    "Claim",
    "ClaimSource",
    "ClaimType",
    "ExtractionOptions",
    "ExtractionRequest",
    "ExtractionResult",
    "ModelClaim",
    "ModelProvenance",
    "ModelReply",
    "Notice",
    "PromptProvenance",
    "Provenance",
    "Usage",
]
