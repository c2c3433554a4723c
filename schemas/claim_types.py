"""The closed vocabularies shared by the API contract and the model-reply schema."""

from typing import Literal, get_args

ClaimType = Literal["quantity", "causal", "rule", "prediction", "personal_experience", "other"]
"""Full Fact's claim taxonomy."""

Attribution = Literal["author", "quoted", "reported"]
"""Whose voice: the article's own (`author`), a direct quote (`quoted`), or indirect speech (`reported`)."""

CLAIM_TYPES: tuple[str, ...] = get_args(ClaimType)
ATTRIBUTIONS: tuple[str, ...] = get_args(Attribution)
