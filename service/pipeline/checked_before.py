"""Checked before? Each claim of a result given the archive's fact-checks it repeats, best first.

Every claim's text is searched at once (``search_many``); a match counts when its score reaches the
matcher's calibrated ``MATCH_THRESHOLD``. A claim then carries its matches (``[]`` when none reached it);
without matching asked for, ``fact_checks`` stays null, so a reply says which of the two it is.
"""

from __future__ import annotations

from schemas import ExtractionResult
from service.factchecks.archive import FactCheckArchive

MATCHES_PER_CLAIM = 3


async def with_fact_checks(
    result: ExtractionResult, archive: FactCheckArchive, threshold: float | None = None
) -> ExtractionResult:
    """Return ``result`` with each claim's ``fact_checks``: the matches at or above the threshold, best first.

    ``threshold``: the configured one (``factcheck_match_threshold``), else the calibrated ``MATCH_THRESHOLD``.
    """
    if not result.claims:
        return result
    found = await archive.search_many([claim.text for claim in result.claims], limit=MATCHES_PER_CLAIM)
    if threshold is None:  # the calibrated one comes with the matcher, loaded once anything is held
        threshold = calibrated_threshold() if any(found) else 1.0  # nothing found: no match to hold to it
    least = threshold
    claims = [
        claim.model_copy(
            update={"fact_checks": sorted((m for m in matches if m.score >= least), key=lambda m: -m.score)}
        )
        for claim, matches in zip(result.claims, found, strict=True)
    ]
    return result.model_copy(update={"claims": claims})


def calibrated_threshold() -> float:
    """Return the match model's calibrated threshold (imported with the matcher, once there are matches)."""
    from service.factchecks.matching import MATCH_THRESHOLD  # numpy and bm25s: loaded by then

    return MATCH_THRESHOLD
