"""Check-worthiness in any language: a linear head over the multilingual encoder's sentence embeddings.

The head (``checkworthiness_head.json``: 384 weights, a bias, a fusion weight and the languages fused) is a
logistic regression that ``training/train_multilingual_checkworthiness.py`` fits on CheckThat! 2024 sentences
(English, Arabic, Dutch, Spanish) embedded by multilingual-e5-small; it is scored here with numpy alone. In
the languages it names (those whose cross-validated AP gained by fusion) it is fused with the default model:
the head's logit plus ``fusion`` times the default model's (which reads each sentence in its passage),
divided by ``1 + fusion``, mapped to 0-1. Other languages get the head alone: fused, they lose in
cross-validation (``checkworthiness_head_figures.json``).

Nothing here loads the encoder: the first sentence scored does (``service.multilingual.encoder``), on the
thread the offline model runs on, never the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.multilingual.encoder import DIMENSIONS, Encoder

HEAD_PATH = Path(__file__).with_name("checkworthiness_head.json")
HEAD_FORMAT = 1
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CheckworthinessHead:
    """A logistic regression over E5 passage embeddings, with how it reads neighbours and which languages it fuses."""

    weights: Floats
    bias: float
    fusion: float = 0.0
    fused_languages: frozenset[str] = frozenset({"en"})  # primary subtags whose scores are fused
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def fuses(self, language: str | None) -> bool:
        """Say whether sentences in ``language`` are fused with the default model (unknown: None, as English)."""
        return language is None or language.lower().split("-")[0] in self.fused_languages

    def logits(self, vectors: npt.NDArray[np.float32]) -> Floats:
        """Return each embedded sentence's logit (the sentence alone)."""
        return vectors.astype(np.float64) @ self.weights + self.bias

    def scores(self, vectors: npt.NDArray[np.float32], default_logits: Sequence[float] | None = None) -> list[float]:
        """Return each sentence's check-worthiness, 0-1; fused with the default model's logits when given."""
        logit = self.logits(vectors)
        if default_logits is not None and self.fusion:
            logit = (logit + self.fusion * np.asarray(default_logits, dtype=np.float64)) / (1.0 + self.fusion)
        return [float(p) for p in 1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0)))]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> CheckworthinessHead:
        """Build the head from its JSON document; raise ValueError when its format or size is wrong."""
        if document.get("format") != HEAD_FORMAT:
            raise ValueError(f"unknown check-worthiness head format {document.get('format')!r}")
        weights = np.asarray(document["weights"], dtype=np.float64)
        if weights.shape != (DIMENSIONS,):
            raise ValueError(f"the head has {weights.size} weights; the encoder gives {DIMENSIONS} dimensions")
        known = {"format", "weights", "bias", "fusion", "fused_languages", "description"}
        return cls(
            weights=weights,
            bias=float(document["bias"]),
            fusion=float(document.get("fusion", 0.0)),
            fused_languages=frozenset(str(tag).lower() for tag in document.get("fused_languages", ["en"])),
            description=str(document.get("description", "")),
            extra={key: value for key, value in document.items() if key not in known},
        )


@lru_cache(maxsize=1)
def shipped_head() -> CheckworthinessHead:
    """Return the head shipped with the service (read once)."""
    return CheckworthinessHead.from_json(json.loads(HEAD_PATH.read_text(encoding="utf-8")))


def head_scores(model: Encoder, texts: Sequence[str], default_logits: Sequence[float] | None = None) -> list[float]:
    """Embed consecutive sentences and return their check-worthiness under the shipped head, 0-1."""
    if not texts:
        return []
    return shipped_head().scores(model.passages(list(texts)), default_logits)
