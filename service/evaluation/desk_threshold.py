"""The desk page's default threshold, measured on the golden cases: what each step of its slider lists.

For each case (``tests/golden``) the offline model's claims are sorted into three kinds: the best-scoring
claim matching each must_find (what a fact-checker needs), the claims on must_skip sentences (headings,
greetings, opinions, boilerplate), and all of them. ``table`` says, for each step of the page's slider, how
many of each stay listed; ``choose`` picks the highest step that keeps a given share of the must_find
listed. ``training/desk_threshold.py`` runs it and writes the figures; ``service/api/desk/ranking.js``
holds the value chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Claim, ExtractionResult
from service.evaluation.golden import Expectations, GoldenCase, MustFind, score_case
from service.pipeline.extraction import Pipeline

STEPS = [round(step * 0.05, 2) for step in range(21)]  # the page's slider: 0.00 to 1.00


@dataclass(frozen=True)
class CaseScores:
    """One case's claim scores, sorted into the three kinds the threshold is judged on."""

    case_id: str
    must_find: list[float]  # the best score of the claims matching each found must_find
    missed: int  # must_find the model does not find at all (no threshold brings them back)
    on_skip: list[float]  # claims on a must_skip sentence
    every: list[float]  # every claim's score


async def case_scores(pipeline: Pipeline, cases: list[GoldenCase]) -> list[CaseScores]:
    """Extract every case with ``pipeline`` and sort its claims' scores."""
    rows = []
    for case in cases:
        result = await pipeline.extract(case.request())
        found = [best for item in case.expect.must_find if (best := _best_match(case, result, item)) is not None]
        on_skip = [claim.checkworthiness for claim in result.claims if _on_must_skip(case, result, claim)]
        every = [claim.checkworthiness for claim in result.claims]
        rows.append(CaseScores(case.id, found, len(case.expect.must_find) - len(found), on_skip, every))
    return rows


def _best_match(case: GoldenCase, result: ExtractionResult, item: MustFind) -> float | None:
    """Return the best score of the claims the golden scorer matches to ``item``, None when none does."""
    alone = case.model_copy(update={"expect": Expectations(must_find=[item])})
    scores = [
        claim.checkworthiness
        for claim in result.claims
        if score_case(alone, result.model_copy(update={"claims": [claim]})).found
    ]
    return max(scores, default=None)


def _on_must_skip(case: GoldenCase, result: ExtractionResult, claim: Claim) -> bool:
    """Say whether the golden scorer puts ``claim`` on one of the case's must_skip sentences."""
    skips = case.model_copy(update={"expect": Expectations(must_skip=case.expect.must_skip)})
    return bool(score_case(skips, result.model_copy(update={"claims": [claim]})).skip_violations)


def table(rows: list[CaseScores]) -> list[dict[str, float]]:
    """Return, for each slider step, the share of must_find listed, of must_skip claims hidden, claims listed."""
    found = [score for row in rows for score in row.must_find]
    wanted = len(found) + sum(row.missed for row in rows)
    skips = [score for row in rows for score in row.on_skip]
    return [
        {
            "threshold": step,
            "must_find_listed": round(sum(score >= step for score in found) / wanted, 3),
            "must_find_listed_of_found": round(sum(score >= step for score in found) / len(found), 3),
            "must_skip_claims_hidden": round(sum(score < step for score in skips) / max(len(skips), 1), 3),
            "claims_listed_per_case": round(sum(sum(s >= step for s in row.every) for row in rows) / len(rows), 2),
            "claims_listed_share": round(
                sum(sum(s >= step for s in row.every) for row in rows) / sum(len(row.every) for row in rows), 3
            ),
        }
        for step in STEPS
    ]


def choose(steps: list[dict[str, float]], keep: float) -> float:
    """Return the highest threshold that lists at least ``keep`` of the must_find the model finds."""
    return max(row["threshold"] for row in steps if row["must_find_listed_of_found"] >= keep)
