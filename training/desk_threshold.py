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

The measuring is ``service/evaluation/desk_threshold.py``. The chosen value is ``DEFAULT_THRESHOLD`` in
``service/api/desk/ranking.js``: ``tests/api/test_desk.py`` checks that the two agree, and
``tests/evaluation/test_desk_threshold.py`` that the figures written are still what the offline model gives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from service.evaluation.desk_threshold import case_scores, choose, table
from service.evaluation.golden import load_cases
from service.pipeline.build import build_pipeline
from service.settings import Settings

GOLDEN_DIR = Path(__file__).parents[1] / "tests" / "golden"


def main() -> None:
    """Measure every slider step on the golden cases and write the figures and the chosen default."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", type=Path, default=GOLDEN_DIR)
    parser.add_argument("--keep", type=float, default=1.0, help="share of found must_find to keep listed")
    parser.add_argument("--out", type=Path, help="write the figures here (JSON)")
    options = parser.parse_args()
    pipeline = build_pipeline(Settings(cache_enabled=False))  # the offline model, nothing cached
    rows = asyncio.run(case_scores(pipeline, load_cases(options.golden)))
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
