"""De-duplicate grounded claims across chunks and give each a stable id.

Two claims are the same when they stand on the same span, when their texts are equal once case,
punctuation and white space are set aside, or when those texts are near-identical and state the same
figures, the same negations and the same claimant: "rose 3.1% in 2023" and "rose 3.1% in 2024" are two
facts to check, so are "will raise" and "will not raise", and so are the same words said by two people.
The more check-worthy claim of each group is kept. An id hashes the article's key with the claim's
normalised text and quote, so the same claim in the same article always gets the same id, whatever chunk
or position it came from.

Each claim is normalised once; exact repeats are found with sets, and the similarity (rapidfuzz's
normalised Indel ratio, in C++, stopping early below the threshold) is computed only between claims that
share figures, negations and claimant. A long article yields hundreds of claims, most of them by one
claimant and without figures, so this comparison is quadratic in practice: in pure Python (difflib) it
took 40 ms of CPU for a ten-chunk article, after every reply was in, which is time added to every
request's latency.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from service.steps.grounding import GroundedClaim

TEXTS_REMEMBERED = 1_024  # claim texts whose normal form (and figures) is memoised, ~0.5 MB at most
REMEMBERED_CHARS = 1_000
NEAR_IDENTICAL = 92.0  # rapidfuzz's ratio, 0-100: 2 × common characters ÷ both lengths
_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot|\w+n t)\b")


def normalized_claim_text(text: str) -> str:
    """Return ``text`` lower-cased with punctuation and white space runs folded to single spaces.

    Memoised (bounded): a cached article's claims come back on every re-POST, and each is read twice
    (to de-duplicate, and for its id).
    """
    return _remembered_normalized(text) if len(text) <= REMEMBERED_CHARS else _normalized(text)


def _normalized(text: str) -> str:
    """Fold case, punctuation and white space."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def _figures_and_negations(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the figures and the negations of a normalised claim text."""
    return tuple(_DIGITS.findall(text)), tuple(_NEGATION.findall(text))


_remembered_normalized = lru_cache(maxsize=TEXTS_REMEMBERED)(_normalized)
_remembered_facts = lru_cache(maxsize=TEXTS_REMEMBERED)(_figures_and_negations)


def _near_any(text: str, group: list[str]) -> bool:
    """Say whether ``text`` is near-identical to any text of ``group``."""
    return bool(group) and process.extractOne(text, group, scorer=fuzz.ratio, score_cutoff=NEAR_IDENTICAL) is not None


def _facts_key(claim: GroundedClaim, text: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Return what two claims must share to be near-duplicates: their figures, their negations, their claimant."""
    short = len(text) <= REMEMBERED_CHARS
    figures, negations = _remembered_facts(text) if short else _figures_and_negations(text)
    return figures, negations, (claim.claim.claimant or "").casefold()


def dedupe_claims(claims: Sequence[GroundedClaim]) -> list[GroundedClaim]:
    """Drop repeats, keeping the most check-worthy of each group; the result is in article order."""
    kept: list[GroundedClaim] = []
    spans: set[tuple[int, int]] = set()
    texts: set[str] = set()
    similar: defaultdict[tuple[tuple[str, ...], tuple[str, ...], str], list[str]] = defaultdict(list)
    for candidate in sorted(claims, key=lambda c: (-c.claim.checkworthiness, c.start, c.end)):
        text = normalized_claim_text(candidate.claim.text)
        group = similar[_facts_key(candidate, text)]
        if (candidate.start, candidate.end) in spans or text in texts or _near_any(text, group):
            continue
        kept.append(candidate)
        spans.add((candidate.start, candidate.end))
        texts.add(text)
        group.append(text)
    return sorted(kept, key=lambda c: (c.start, c.end, c.claim.text))


def claim_id(article_key: str, claim: GroundedClaim) -> str:
    """Return the stable id of a claim in an article."""
    material = "\x1f".join([article_key, normalized_claim_text(claim.claim.text), claim.quote])
    return "clm_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]
