"""De-duplicate grounded claims across chunks and give each a stable id.

Two claims are the same when they stand on the same span, or when their texts are near-identical once
case, punctuation and white space are set aside; the more check-worthy one is kept. An id hashes the
article's key with the claim's normalised text and quote, so the same claim in the same article always
gets the same id, whatever chunk or position it came from.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from service.grounding import GroundedClaim

NEAR_IDENTICAL = 0.92
_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


def normalized_claim_text(text: str) -> str:
    """Return ``text`` lower-cased with punctuation and white space runs folded to single spaces."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def _same_claim(a: GroundedClaim, b: GroundedClaim) -> bool:
    """Say whether two grounded claims state the same thing.

    Near-identical wording counts only when the figures and the claimant agree: "rose 3.1% in 2023" and
    "rose 3.1% in 2024" are two facts to check, and so are the same words said by two people.
    """
    if (a.start, a.end) == (b.start, b.end):
        return True
    text_a, text_b = normalized_claim_text(a.claim.text), normalized_claim_text(b.claim.text)
    if text_a == text_b:
        return True
    same_figures = _DIGITS.findall(text_a) == _DIGITS.findall(text_b)
    same_claimant = (a.claim.claimant or "").casefold() == (b.claim.claimant or "").casefold()
    return same_figures and same_claimant and SequenceMatcher(None, text_a, text_b).ratio() >= NEAR_IDENTICAL


def dedupe_claims(claims: Sequence[GroundedClaim]) -> list[GroundedClaim]:
    """Drop repeats, keeping the most check-worthy of each group; the result is in article order."""
    kept: list[GroundedClaim] = []
    for candidate in sorted(claims, key=lambda c: (-c.claim.checkworthiness, c.start, c.end)):
        if not any(_same_claim(candidate, other) for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda c: (c.start, c.end, c.claim.text))


def claim_id(article_key: str, claim: GroundedClaim) -> str:
    """Return the stable id of a claim in an article."""
    material = "\x1f".join([article_key, normalized_claim_text(claim.claim.text), claim.quote])
    return "clm_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]
