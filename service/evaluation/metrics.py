"""Ranking metrics of CLEF CheckThat!: average precision, R-precision and precision at k.

A ranking is a list of ``(score, label)`` in document order; it is sorted by descending score, ties kept
in document order, so the figures are deterministic. Labels are 1 for check-worthy, else 0.
"""

from __future__ import annotations

from collections.abc import Sequence


def ranked_labels(scores: Sequence[float], labels: Sequence[int]) -> list[int]:
    """Return the labels in ranking order: highest score first, ties in their original order."""
    order = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    return [labels[index] for index in order]


def average_precision(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Return the average precision of the ranking (0 when there is no positive)."""
    hits = 0
    total = 0.0
    for rank, label in enumerate(ranked_labels(scores, labels), start=1):
        if label:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def average_precision_at_rate(scores: Sequence[float], labels: Sequence[int], positive_rate: float) -> float:
    """Return the average precision the ranking would have were ``positive_rate`` of its items positive.

    Calibrated average precision (Siblini et al., "Master your metrics with calibration", IDA 2020): each
    negative counts as ``w`` negatives, ``w`` chosen so that the positives' share of the whole is
    ``positive_rate``; precision at a positive's rank is then ``hits / (hits + w * misses)``. Average precision
    grows with the share of positives, so this compares rankings measured on sets of different positive rates.
    """
    if not 0.0 < positive_rate < 1.0:
        raise ValueError(f"a positive rate is between 0 and 1, not {positive_rate}")
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if not positives:
        return 0.0
    if not negatives:
        return 1.0
    weight = (positives / negatives) * (1 - positive_rate) / positive_rate
    hits = misses = 0
    total = 0.0
    for label in ranked_labels(scores, labels):
        if label:
            hits += 1
            total += hits / (hits + weight * misses)
        else:
            misses += 1
    return total / hits


def precision_at(scores: Sequence[float], labels: Sequence[int], k: int) -> float:
    """Return the share of positives among the top ``k`` of the ranking."""
    top = ranked_labels(scores, labels)[:k]
    return sum(top) / k if k > 0 else 0.0


def r_precision(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Return the precision at R, R being the number of positives (0 when there is none)."""
    positives = sum(1 for label in labels if label)
    return precision_at(scores, labels, positives) if positives else 0.0


def average_precision_at(ranked: Sequence[bool], relevant: int, k: int) -> float:
    """Return AP@k of one ranked list (True where relevant), over ``relevant`` relevant items (trec_eval's map_cut)."""
    hits = 0
    total = 0.0
    for rank, is_relevant in enumerate(ranked[:k], start=1):
        if is_relevant:
            hits += 1
            total += hits / rank
    return total / relevant if relevant else 0.0
