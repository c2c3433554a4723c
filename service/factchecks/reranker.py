"""The re-ranker and the match model: logistic models over a candidate's features.

Trained on the CLEF 2020 train tweets by ``training/train_factcheck_reranker.py`` and
``training/train_factcheck_match.py`` (scikit-learn there only); the coefficients ship as ``reranker.json``
beside this file, each model for lexical features alone and with the embedding features, so that the service
needs numpy and nothing else to score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from service.factchecks.features import Floats

COEFFICIENTS = Path(__file__).with_name("reranker.json")


@dataclass(frozen=True, slots=True)
class LogisticModel:
    """Standardise the features, then a logistic regression: P(the fact-check reviews the query's claim)."""

    features: tuple[str, ...]
    mean: Floats
    scale: Floats
    weights: Floats
    bias: float

    def probabilities(self, rows: Floats) -> Floats:
        """Return each row's probability of a match."""
        logits = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Rerankers:
    """The shipped models: re-rankers that order a query's candidates, and match models that score them.

    A re-ranker reads features relative to the archive (BM25 and its idf, the rank among the candidates): it
    orders well but its probability rises as the archive shrinks. A match model reads only what the query and
    one fact-check share (``MATCH_FEATURES``), so its probability, the score a threshold is applied to, means
    the same whatever the archive holds. Each comes for lexical features only and with embeddings (None: not
    trained yet).
    """

    lexical: LogisticModel
    hybrid: LogisticModel | None
    match_lexical: LogisticModel
    match_hybrid: LogisticModel | None


def model_from_json(spec: dict[str, object]) -> LogisticModel:
    """Read one model from its JSON form."""

    def floats(key: str) -> Floats:
        return np.asarray(spec[key], dtype=np.float32)

    names = spec["features"]
    if not isinstance(names, list):
        raise TypeError("reranker.json: features must be a list of names")
    return LogisticModel(
        tuple(str(name) for name in names), floats("mean"), floats("scale"), floats("weights"), float(str(spec["bias"]))
    )


@cache
def shipped_rerankers() -> Rerankers:
    """Return the shipped models (read once)."""
    spec = json.loads(COEFFICIENTS.read_text(encoding="utf-8"))
    return Rerankers(
        lexical=model_from_json(spec["lexical"]),
        hybrid=model_from_json(spec["hybrid"]) if "hybrid" in spec else None,
        match_lexical=model_from_json(spec["match_lexical"]),
        match_hybrid=model_from_json(spec["match_hybrid"]) if "match_hybrid" in spec else None,
    )
