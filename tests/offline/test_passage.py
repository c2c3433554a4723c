"""What a sentence takes from its passage: questions around it, an address, a moderating speaker, its turn."""

from __future__ import annotations

from service.offline.passage import is_vocative, moderators, passage_features


def test_neighbouring_questions_are_features() -> None:
    """A line after a question, or before one, says so; the first and last lines have no such neighbour."""
    features = passage_features(
        [(None, "How many jobs were lost?"), (None, "We lost 40,000 jobs."), (None, "Is that right?")]
    )
    assert {"c:after_question", "c:before_question"} <= features[1].keys()
    assert "c:after_question" not in features[0]
    assert "c:before_question" not in features[2]


def test_an_address_by_title_or_name_is_a_vocative() -> None:
    """A line such as "Governor, your response." addresses someone; "Yes, …" and a plain statement do not."""
    assert is_vocative("Governor, your response.")
    assert is_vocative("Senator Sanders, thirty seconds.")
    assert is_vocative("Mr. Trump, you have two minutes.")
    assert not is_vocative("Yes, we cut taxes.")
    assert not is_vocative("Unemployment fell to 3.9% in May.")


def test_moderators_by_label_or_by_their_questions() -> None:
    """A MODERATOR label moderates; so does a speaker whose lines are often questions; a candidate does not."""
    lines = [
        ("HOLT", "What would you do about jobs?"),
        ("TRUMP", "We lost 70,000 factories."),
        ("TRUMP", "Can you believe it?"),
        ("TRUMP", "Jobs are leaving."),
        ("TRUMP", "It is a disaster."),
        ("HOLT", "Secretary Clinton, your response?"),
        ("MODERATOR", "Thank you."),
    ]
    assert moderators(lines) == {"HOLT", "MODERATOR"}
    features = passage_features(lines)
    assert [("s:moderator" in line) for line in features] == [True, False, False, False, False, True, True]
    assert [("s:turn_start" in line, "s:turn_end" in line) for line in features[1:5]] == [
        (True, False),
        (False, False),
        (False, False),
        (False, True),
    ]


def test_an_article_without_speakers_has_no_speaker_features() -> None:
    """Lines without speakers (an article) get no ``s:`` feature, only their own and their neighbours' cues."""
    features = passage_features([(None, "Prices rose 3%."), (None, "Wages rose 2%.")])
    assert not any(name.startswith("s:") for line in features for name in line)
