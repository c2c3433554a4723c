"""Check-worthiness features and the linear scorer loaded from the shipped coefficients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.offline.checkworthiness import (
    COEFFICIENTS_PATH,
    CheckworthinessModel,
    active_model,
    load_model,
    score_passage,
    score_sentence,
    shipped_model,
    transcript_digest,
    use_model,
)
from service.offline.features import sentence_features


def test_figures_percentages_and_money_are_features() -> None:
    """A sentence with a figure, a percentage and money fires the number cues; a year is only a year."""
    features = sentence_features("The budget grew 15.2% to $4 billion in 2023.")
    assert {"f:number", "f:percent", "f:money", "f:magnitude", "f:year"} <= features.keys()
    assert "f:number" not in sentence_features("The law was passed in 2019.")


def test_words_are_lower_cased_vocabulary_features() -> None:
    """Each word becomes a ``w:`` feature in lower case; figures do not."""
    features = sentence_features("Taxes rose by 3 points.")
    assert {"w:taxes", "w:rose", "w:by", "w:points"} <= features.keys()
    assert not any(name.startswith("w:3") for name in features)


def test_question_pronouns_and_length_are_features() -> None:
    """A question in the second person is marked as such, with its length bin."""
    features = sentence_features("Did you vote for it?")
    assert {"f:question", "f:second_person", "len:4-7"} <= features.keys()


def test_speaker_label_is_not_part_of_the_sentence() -> None:
    """A transcript label such as ``TRUMP:`` is stripped before the features are read."""
    assert sentence_features("TRUMP: We are losing jobs.") == sentence_features("We are losing jobs.")
    assert sentence_features("Update: the road is open.") != sentence_features("the road is open.")


def test_shipped_coefficients_are_small_and_name_their_training_data() -> None:
    """The shipped file is a few tens of KB, has a description and digests of the 66 debates it was trained on."""
    assert COEFFICIENTS_PATH.stat().st_size < 48_000
    model = shipped_model()
    assert model.description
    assert len(model.trained_on) == 66
    assert model.weights["bias"] != 0.0
    assert {"c:vocative", "s:moderator", "c:after_question"} <= model.weights.keys()


DEBATE = (
    ("MODERATOR", "Good evening from Hofstra University in Hempstead, New York.", "filler"),
    ("MODERATOR", "Governor, you have two minutes.", "filler"),
    ("ROMNEY", "Unemployment fell to 3.9% in May.", "checkable"),
    ("ROMNEY", "Thank you, Jim, it is great to be here with 80 million Americans watching.", "filler"),
    ("ROMNEY", "We cut taxes for 82 million families in 2017.", "checkable"),
    ("MODERATOR", "Senator, do you support the bill that passed the House 220 to 210?", "filler"),
    ("OBAMA", "I think he is a terrific guy, and I respect him.", "filler"),
    ("OBAMA", "The deficit doubled to $1.4 trillion under the last administration.", "checkable"),
    ("MODERATOR", "Governor, your response.", "filler"),
    ("ROMNEY", "Well, let me say this.", "filler"),
    ("ROMNEY", "Crime went down 12% in my state.", "checkable"),
    ("MODERATOR", "Mr. President, ninety seconds.", "filler"),
    ("OBAMA", "We created 4.5 million jobs in 30 months.", "checkable"),
    ("MODERATOR", "Thank you both, we will come back to that after the break.", "filler"),
)


@pytest.mark.parametrize("with_speakers", [True, False])
def test_filler_ranks_below_every_checkable_statement_of_a_debate(with_speakers: bool) -> None:
    """Moderator turns, greetings, questions and opinions, even with figures, score below every checkable line.

    Read as a transcript (with speakers) and as an article (without), so both ways the service meets text.
    """
    lines = [(speaker if with_speakers else None, text) for speaker, text, _ in DEBATE]
    scores = shipped_model().score_lines(lines)
    filler = [score for score, (_, _, kind) in zip(scores, DEBATE, strict=True) if kind == "filler"]
    checkable = [score for score, (_, _, kind) in zip(scores, DEBATE, strict=True) if kind == "checkable"]
    assert max(filler) < min(checkable)
    assert scores[8] < scores[2]  # "Governor, your response." below "Unemployment fell to 3.9% in May."


def test_a_statistic_outranks_small_talk() -> None:
    """An official statistic scores higher than a greeting or an opinion; scores lie in (0, 1)."""
    statistic = score_sentence("The FBI’s 2024 report shows violent crime fell 15.2% from 2023.")
    small_talk = score_sentence("Thank you very much, it is great to be here.")
    opinion = score_sentence("I think she is a wonderful person.")
    assert 0.0 < small_talk < statistic < 1.0
    assert opinion < statistic


def test_scores_in_a_passage_lean_on_the_neighbours() -> None:
    """With a context weight, a sentence between two statistics scores higher than the same sentence alone."""
    model = CheckworthinessModel(weights={"bias": 0.0, "f:number": 2.0}, context=0.5)
    alone = model.score_passage(["Nothing here."])
    between = model.score_passage(["It was 5 times.", "Nothing here.", "It was 6 times."])
    assert between[1] > alone[0]
    assert CheckworthinessModel(weights={"f:number": 2.0}).in_context([1.0, 2.0]) == [1.0, 2.0]


def test_use_model_overrides_the_shipped_model_inside_the_block() -> None:
    """``use_model`` makes the scorer use another model and restores the shipped one after."""
    flat = CheckworthinessModel(weights={"bias": 0.0})
    with use_model(flat):
        assert active_model() is flat
        assert score_sentence("Crime fell 15.2%.") == 0.5
        assert score_passage(["One.", "Two."]) == [0.5, 0.5]
    assert active_model() is shipped_model()


def test_coefficients_round_trip_through_json(tmp_path: Path) -> None:
    """A model written with ``to_json`` loads back identical, extra keys included."""
    model = CheckworthinessModel(
        weights={"bias": -1.0, "w:tax": 0.5},
        slope=0.8,
        offset=0.1,
        context=0.2,
        trained_on=("abc",),
        description="test",
        extra={"trained_on_names": ["x"]},
    )
    path = tmp_path / "coefficients.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    assert load_model(path) == model


def test_unknown_coefficients_format_is_refused() -> None:
    """A coefficients document of another format is refused with a clear error."""
    with pytest.raises(ValueError, match="unknown check-worthiness coefficients format"):
        CheckworthinessModel.from_json({"format": 99, "weights": {}})


def test_transcript_digest_ignores_spacing_but_not_words() -> None:
    """The digest of a transcript is the same whatever its spacing, and differs when a word changes."""
    assert transcript_digest(["We won.", "They  lost. "]) == transcript_digest(["We won.", "They lost."])
    assert transcript_digest(["We won."]) != transcript_digest(["We lost."])


def test_scoring_does_not_import_numpy() -> None:
    """The default model scores with the standard library only: numpy is for training and the multilingual extra."""
    code = (
        "import sys; from service.offline.rules import extract_offline_reply\n"
        "from service.offline.checkworthiness import default_model_only\n"
        "with default_model_only(): extract_offline_reply([(1, 'Taxes rose 5%.')])\n"
        "print('numpy' in sys.modules)"
    )
    result = subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False"]
