"""Tests of ``service/steps/speakers.py``: the speaker label every reader of a transcript line shares."""

from __future__ import annotations

import pytest

from service.steps.speakers import ANY_LABEL, UPPER_LABEL, split_speaker_label, strip_speaker_label


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("TRUMP: We are losing jobs.", ("TRUMP", "We are losing jobs.")),
        ("LESTER HOLT: Good evening.", ("LESTER HOLT", "Good evening.")),
        ("Q: Did the plant close?", ("Q", "Did the plant close?")),
        ("Update: the road is open.", (None, "Update: the road is open.")),
        ("TRUMP:", (None, "TRUMP:")),
        ("Prices rose 3%: a record.", (None, "Prices rose 3%: a record.")),
    ],
    ids=["upper", "two-words", "one-letter", "mixed-case-is-words", "label-alone", "colon-in-prose"],
)
def test_an_upper_case_label_followed_by_words_is_split_off(line: str, expected: tuple[str | None, str]) -> None:
    """Only an upper-case label with words after it is a speaker; anything else is the line itself."""
    assert split_speaker_label(line) == expected


def test_speaker_label_is_not_part_of_the_sentence() -> None:
    """A transcript label such as ``TRUMP:`` is stripped; a mixed-case "Update:" is words."""
    assert strip_speaker_label("TRUMP: We are losing jobs.") == "We are losing jobs."
    assert strip_speaker_label("Update: the road is open.") == "Update: the road is open."


def test_a_declared_transcript_also_takes_mixed_case_labels() -> None:
    """``Trump:`` is a label for a declared transcript, not for detection."""
    assert UPPER_LABEL.match("Trump: words") is None
    label = ANY_LABEL.match("Trump: words")
    assert label is not None
    assert label.group("label") == "Trump"
