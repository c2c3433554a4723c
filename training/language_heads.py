"""A language's own check-worthiness head, where its train part ranks better alone than in the joint head.

Each CheckThat! 2024 set was labelled by its own annotators (ClaimBuster's debates, Arabic, Dutch and Spanish
tweets), so a head fitted on all four learns a compromise. For each language of ``OWN_HEAD_LANGUAGES``, a head
fitted on its train part alone is scored by the same stratified folds as the joint head
(``train_multilingual_checkworthiness.cross_validated``), over ``C_GRID`` and, fused with the default model,
``FUSIONS``; it is kept when its best cross-validated average precision beats the joint head's as the service
would use it (fused or not). The own head's figure is the best of 45 settings on those folds, the joint head's
one setting chosen over four languages, so the comparison leans towards the own head: the dev parts say how
far that holds. English is not among them: its head is the joint one, fused by a weight chosen on the
debates. Nothing here reads a dev part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import train_multilingual_checkworthiness as head_trainer

OWN_HEAD_LANGUAGES = ("arabic", "dutch", "spanish")
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass(frozen=True)
class OwnHead:
    """A language's own head, how it was chosen, and whether it beat the joint head."""

    language: str
    c: float
    fusion: float
    cv_average_precision: float
    joint_cv_average_precision: float
    weights: np.ndarray
    bias: float

    @property
    def chosen(self) -> bool:
        """Say whether the service scores this language with its own head (it beat the joint one)."""
        return self.cv_average_precision > self.joint_cv_average_precision

    def figures(self) -> dict[str, object]:
        """Return how the head was chosen, for the figures file."""
        return {
            "c": self.c,
            "fusion": self.fusion,
            "cv_average_precision": self.cv_average_precision,
            "joint_cv_average_precision": self.joint_cv_average_precision,
            "chosen": self.chosen,
        }

    def document(self) -> dict[str, object]:
        """Return the head as the service reads it (one entry of ``checkworthiness_head.json``'s ``languages``)."""
        return {
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "fusion": self.fusion,
            "c": self.c,
        }


def own_heads(
    train: Sequence[head_trainer.Part],
    cv_fused: Mapping[str, Mapping[str, float]],
    fused: Sequence[str],
    fusion: float,
    seed: int,
) -> list[OwnHead]:
    """Return each ``OWN_HEAD_LANGUAGES`` language's own head, chosen and compared on its train part's folds.

    ``cv_fused`` is the joint head's cross-validated AP by fusion weight (``"0.0"`` unfused), ``fused`` the tags
    of the languages the joint head is fused in, at weight ``fusion``.
    """
    heads = []
    for part in train:
        if part.language not in OWN_HEAD_LANGUAGES:
            continue
        joint = _joint_as_used(part.language, cv_fused, fused, fusion)
        c, own_fusion, best = _search(part, seed)
        weights, bias = head_trainer.fit([part], head_trainer.Config(c=c, language_balance=1.0), seed)
        heads.append(OwnHead(part.language, c, own_fusion, best, joint, weights, bias))
        print(f"own head, {part.language}: C {c}, fusion {own_fusion}, CV AP {best} (joint {joint})", flush=True)
    return heads


def _joint_as_used(
    language: str, cv_fused: Mapping[str, Mapping[str, float]], fused: Sequence[str], fusion: float
) -> float:
    """Return the joint head's cross-validated AP for a language as the service scores it (fused or not)."""
    return cv_fused[str(fusion) if head_trainer.TAGS[language] in fused else "0.0"][language]


def _search(part: head_trainer.Part, seed: int) -> tuple[float, float, float]:
    """Return the C and fusion weight with the best cross-validated AP of a head fitted on ``part`` alone."""
    best = (-1.0, 0.0, 0.0)
    for c in C_GRID:
        by_fusion = head_trainer.cross_validated([part], head_trainer.Config(c=c), seed, head_trainer.FUSIONS)
        for fusion, row in by_fusion.items():
            best = max(best, (row[part.language], -fusion, c))  # ties: the lesser fusion
    value, negative_fusion, c = best
    return c, -negative_fusion, value
