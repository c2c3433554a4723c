"""Check-worthiness in any language: a linear head over the multilingual encoder's sentence embeddings.

The heads (``checkworthiness_head.json``: a joint head of 384 weights, a bias, a fusion weight and the languages
fused, and ``languages``, heads of their own for some languages) are logistic regressions; the joint one is a
logistic regression that ``training/train_multilingual_checkworthiness.py`` fits on CheckThat! 2024 sentences
(English, Arabic, Dutch, Spanish) embedded by multilingual-e5-small; it is scored here with numpy alone. In
the languages it names (those whose cross-validated AP gained by fusion) it is fused with the default model:
the head's logit plus ``fusion`` times the default model's (which reads each sentence in its passage),
divided by ``1 + fusion``, mapped to 0-1. A language whose own train part ranked better alone has a head of
its own (``languages``: its weights, bias and fusion weight, 0 for none), chosen the same way
(``training/language_heads.py``). Other languages get the joint head alone: fused, they lose in
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
from service.prompts.languages import primary

HEAD_PATH = Path(__file__).with_name("checkworthiness_head.json")
HEAD_FORMAT = 1
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CheckworthinessHead:
    """A logistic regression over E5 passage embeddings, the languages it fuses, and languages' own heads."""

    weights: Floats
    bias: float
    fusion: float = 0.0
    fused_languages: frozenset[str] = frozenset({"en"})  # primary subtags whose scores are fused
    description: str = ""
    languages: Mapping[str, CheckworthinessHead] = field(default_factory=dict)  # own heads, by primary subtag
    extra: Mapping[str, Any] = field(default_factory=dict)

    def for_language(self, language: str | None) -> CheckworthinessHead:
        """Return the head that scores ``language``: its own where it has one, else this one."""
        return self.languages.get(_primary(language), self)

    def fuses(self, language: str | None) -> bool:
        """Say whether sentences in ``language`` are fused with the default model (unknown: None, as English)."""
        head = self.for_language(language)
        return bool(head.fusion) and _primary(language) in head.fused_languages

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
        known = {"format", "weights", "bias", "fusion", "fused_languages", "description", "languages"}
        return cls(
            weights=_weights(document),
            bias=float(document["bias"]),
            fusion=float(document.get("fusion", 0.0)),
            fused_languages=frozenset(str(tag).lower() for tag in document.get("fused_languages", ["en"])),
            description=str(document.get("description", "")),
            languages={
                _primary(str(tag)): _own_head(str(tag), own) for tag, own in document.get("languages", {}).items()
            },
            extra={key: value for key, value in document.items() if key not in known},
        )


def _own_head(tag: str, document: Mapping[str, Any]) -> CheckworthinessHead:
    """Build a language's own head: it fuses that language alone, when its fusion weight is not 0."""
    fusion = float(document.get("fusion", 0.0))
    fused = frozenset({_primary(tag)}) if fusion else frozenset()
    return CheckworthinessHead(
        weights=_weights(document), bias=float(document["bias"]), fusion=fusion, fused_languages=fused
    )


def _weights(document: Mapping[str, Any]) -> Floats:
    """Return a head's weights; raise ValueError when they are not one per embedding dimension."""
    weights = np.asarray(document["weights"], dtype=np.float64)
    if weights.shape != (DIMENSIONS,):
        raise ValueError(f"the head has {weights.size} weights; the encoder gives {DIMENSIONS} dimensions")
    return weights


def _primary(language: str | None) -> str:
    """Return a BCP 47 tag's primary subtag; an unknown language (None) is English, the default model's."""
    return "en" if language is None else primary(language)


@lru_cache(maxsize=1)
def shipped_head() -> CheckworthinessHead:
    """Return the head shipped with the service (read once)."""
    return CheckworthinessHead.from_json(json.loads(HEAD_PATH.read_text(encoding="utf-8")))


def head_scores(
    model: Encoder, texts: Sequence[str], default_logits: Sequence[float] | None = None, language: str | None = None
) -> list[float]:
    """Embed consecutive sentences and return their check-worthiness under the shipped head for ``language``, 0-1."""
    if not texts:
        return []
    return shipped_head().for_language(language).scores(model.passages(list(texts)), default_logits)
