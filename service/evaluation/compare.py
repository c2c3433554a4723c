"""Totals of an eval run per (prompt, model), candidate against baseline, and the regression gate.

Recall is the mean over cases; precision and the stand-alone rate are means over the cases that measure
them (a case whose result kept no claim measures no precision: "–", never 1.00); grounding and
schema-valid rates are pooled over all claims and chunks (with no claim to judge, the grounding rate is
unmeasured: NaN, shown as "–"); repairs, tokens, cost and latency are sums. A candidate
fails the gate when a gated metric falls below the baseline's by more than the tolerance; a metric either
version left unmeasured cannot fail (recall still does).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

from service.evaluation.runner import CaseRun

GATED = ("recall", "precision", "standalone", "grounding_rate", "schema_valid_rate")
LABELS = {  # how tables and the report head the gated metrics
    "recall": "recall",
    "precision": "precision",
    "standalone": "stand-alone",
    "grounding_rate": "grounded",
    "schema_valid_rate": "valid",
}


@dataclass(frozen=True)
class Totals:
    """The figures of one (prompt, model) over all cases."""

    prompt: str
    model: str
    cases: int
    recall: float
    precision: float | None
    standalone: float | None
    grounding_rate: float
    schema_valid_rate: float
    repairs: int
    tokens: int
    cost_usd: float | None
    latency_s: float
    failed: int

    def metric(self, name: str) -> float:
        """Return a numeric figure by name (a gated metric or any other)."""
        value = getattr(self, name)
        return float(value) if value is not None else float("nan")


@dataclass(frozen=True)
class Regression:
    """A gated metric on which the candidate fell behind the baseline beyond the tolerance."""

    model: str
    metric: str
    candidate: float
    baseline: float


def totals(runs: list[CaseRun]) -> Totals:
    """Return the totals of the runs of one (prompt, model)."""
    kept = sum(run.kept for run in runs)
    judged = kept + sum(run.dropped for run in runs)
    chunks = sum(run.chunks for run in runs)
    costs = [run.cost_usd for run in runs]
    return Totals(
        prompt=runs[0].prompt,
        model=runs[0].model,
        cases=len(runs),
        recall=fmean(run.score.recall for run in runs),
        precision=_mean_of_known([run.score.precision for run in runs]),
        standalone=_mean_of_known([run.score.standalone for run in runs]),
        grounding_rate=kept / judged if judged else float("nan"),
        schema_valid_rate=1 - sum(run.invalid_chunks for run in runs) / chunks if chunks else 1.0,
        repairs=sum(run.repairs for run in runs),
        tokens=sum(run.tokens for run in runs),
        cost_usd=None if any(cost is None for cost in costs) else sum(c for c in costs if c is not None),
        latency_s=sum(run.latency_s for run in runs),
        failed=sum(run.error is not None for run in runs),
    )


def _mean_of_known(values: list[float | None]) -> float | None:
    """Return the mean of the values that are known, or None when none is."""
    known = [value for value in values if value is not None]
    return fmean(known) if known else None


def group(runs: list[CaseRun], prompt: str, model: str) -> list[CaseRun]:
    """Return the runs of one (prompt, model), in case order."""
    return [run for run in runs if run.prompt == prompt and run.model == model]


def regressions(candidate: Totals, baseline: Totals, tolerance: float) -> list[Regression]:
    """Return the gated metrics on which the candidate is worse than the baseline by more than ``tolerance``."""
    return [
        Regression(candidate.model, name, candidate.metric(name), baseline.metric(name))
        for name in GATED
        if candidate.metric(name) < baseline.metric(name) - tolerance
    ]
