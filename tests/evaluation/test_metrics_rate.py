"""Average precision at another positive rate (calibrated average precision)."""

from __future__ import annotations

import random

import pytest

from service.evaluation.metrics import average_precision, average_precision_at_rate


def test_at_its_own_positive_rate_it_is_average_precision() -> None:
    """At the set's own share of positives, calibrated average precision is plain average precision."""
    generator = random.Random(7)  # noqa: S311 -- test data, not secrets
    labels = [int(generator.random() < 0.3) for _ in range(200)]
    scores = [label + generator.gauss(0, 0.8) for label in labels]
    rate = sum(labels) / len(labels)
    assert average_precision_at_rate(scores, labels, rate) == pytest.approx(average_precision(scores, labels))


def test_it_matches_the_set_with_each_negative_doubled() -> None:
    """Each negative written twice (rate 4/12 → 4/20) gives the ranking's calibrated figure at 0.2."""
    labels = [1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05]
    doubled = [(s, y) for s, y in zip(scores, labels, strict=True) for _ in range(1 if y else 2)]
    expected = average_precision([s for s, _ in doubled], [y for _, y in doubled])
    assert average_precision_at_rate(scores, labels, 0.2) == pytest.approx(expected)
    assert average_precision_at_rate(scores, labels, 0.2) < average_precision(scores, labels)


def test_a_perfect_ranking_stays_perfect_and_degenerate_sets_are_defined() -> None:
    """Positives first score 1 at any rate; no positive scores 0, no negative 1."""
    assert average_precision_at_rate([3, 2, 1], [1, 1, 0], 0.1) == 1.0
    assert average_precision_at_rate([3, 2], [0, 0], 0.5) == 0.0
    assert average_precision_at_rate([3, 2], [1, 1], 0.5) == 1.0


def test_the_doubled_set_at_the_original_rate_gives_the_original_figure() -> None:
    """The other way round: the set with each negative doubled, asked at the original rate 4/12, gives its AP."""
    labels = [1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05]
    doubled = [(s, y) for s, y in zip(scores, labels, strict=True) for _ in range(1 if y else 2)]
    at_rate = average_precision_at_rate([s for s, _ in doubled], [y for _, y in doubled], 4 / 12)
    assert at_rate == pytest.approx(average_precision(scores, labels))


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    """A positive rate of 0, 1 or outside them is a ValueError, never a division by zero or a figure above 1."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        average_precision_at_rate([2, 1], [1, 0], rate)
