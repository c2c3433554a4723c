r"""Choose the desk page's default check-worthiness threshold from the golden cases, on the offline model.

The desk page lists the claims at or above a threshold first and keeps the rest one click away. This runs
the offline model (no network, no cache) over every golden case (``tests/golden/*.yaml``) and reads, for
each threshold on the page's slider (steps of 0.05), how many of the claims the cases say a good extractor
must find are still listed (each must_find counts once, at its best-scoring matching claim), how many of
the claims on sentences the cases say must yield nothing (headings, greetings, opinions, boilerplate) are
put below the line, and how many claims an article lists on average. The default is the highest threshold
that still lists at least ``--keep`` (default: all) of the must_find claims the model finds: the most a desk is
spared while no claim a case says a fact-checker needs goes below the line. Deterministic::

    python training/desk_threshold.py --out training/desk_threshold.json

The chosen value is ``DEFAULT_THRESHOLD`` in ``service/api/desk/ranking.js``; ``tests/api/test_desk.py``
checks that the two agree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from schemas import Claim, ExtractionResult
from service.evaluation.golden import Expectations, GoldenCase, MustFind, load_cases, score_case
from service.pipeline.build import build_pipeline
from service.settings import Settings

GOLDEN_DIR = Path(__file__).parents[1] / "tests" / "golden"
STEPS = [round(step * 0.05, 2) for step in range(20)]  # the page's slider: 0.00 to 0.95


@dataclass(frozen=True)
class CaseScores:
    """One case's claim scores, sorted into the three kinds the threshold is judged on."""

    case_id: str
    must_find: list[float]  # the best score of the claims matching each found must_find
    missed: int  # must_find the model does not find at all (no threshold brings them back)
    on_skip: list[float]  # claims on a must_skip sentence
    every: list[float]  # every claim's score


async def case_scores(cases: list[GoldenCase]) -> list[CaseScores]:
    """Extract every case on the offline model and sort its claims' scores."""
    pipeline = build_pipeline(Settings(cache_enabled=False))
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


def main() -> None:
    """Measure every slider step on the golden cases and write the figures and the chosen default."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", type=Path, default=GOLDEN_DIR)
    parser.add_argument("--keep", type=float, default=1.0, help="share of found must_find to keep listed")
    parser.add_argument("--out", type=Path, help="write the figures here (JSON)")
    options = parser.parse_args()
    rows = asyncio.run(case_scores(load_cases(options.golden)))
    steps = table(rows)
    chosen = choose(steps, options.keep)
    for row in steps:
        print(json.dumps(row))
    found = sum(len(row.must_find) for row in rows)
    print(
        f"{len(rows)} cases, {sum(len(row.every) for row in rows)} claims, {found} must_find found, "
        f"{sum(row.missed for row in rows)} missed, {sum(len(row.on_skip) for row in rows)} on must_skip sentences"
    )
    print(f"default threshold: {chosen:.2f}")
    if options.out:
        figures = {
            "keep": options.keep,
            "default_threshold": chosen,
            "cases": {
                row.case_id: {
                    "must_find": row.must_find,
                    "missed": row.missed,
                    "on_skip": row.on_skip,
                    "claims": len(row.every),
                }
                for row in rows
            },
            "steps": steps,
        }
        options.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
