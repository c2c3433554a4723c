"""Transcripts: speaker turns, stage directions, speakers as claimants."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient

from schemas import ModelClaim
from service.api.app import create_app
from service.steps.grounding import GroundedClaim, Producer
from service.steps.text import Sentence, segment_sentences
from service.steps.transcript import (
    ArticleFormat,
    attribute_to_speakers,
    is_stage_direction,
    is_transcript,
    looks_like_transcript,
    turn_paragraphs,
    without_stage_directions,
)
from tests.conftest import OPENAI_URL, hosted_settings
from tests.languages import claim_every_sentence

DEBATE = (
    "HOLT: Good evening from Hofstra University. Welcome to the debate.\n"
    "TRUMP: Our jobs are fleeing the country. China has cut 40,000 jobs here.\n"
    "(APPLAUSE)\n"
    "CLINTON: Well, I think that trade is an important issue.\n"
    "Wages went up 15.2% last year.\n"
    "SYSTEM: (CROSSTALK)\n"
)


def claim_on(sentence_id: int, claimant: str | None, attribution: str) -> GroundedClaim:
    """A grounded claim on one sentence with the given voice."""
    model_claim = ModelClaim.model_validate(
        {
            "sentence_ids": [1],
            "quote": "q",
            "text": "t",
            "type": "other",
            "claimant": claimant,
            "attribution": attribution,
            "checkworthiness": 0.5,
        }
    )
    producer = Producer(alias="default", model="offline/rules")
    return GroundedClaim(
        model_claim, chunk=1, sentence_ids=(sentence_id,), start=0, end=1, quote="q", producer=producer
    )


def test_upper_case_labels_make_a_transcript() -> None:
    """Lines opening with upper-case speaker labels are detected as a transcript; news prose is not."""
    assert looks_like_transcript(DEBATE)
    assert not looks_like_transcript("Note: the figures are provisional.\nPrices rose 3% in May.\nThey fell later.")
    assert not looks_like_transcript("TRUMP: One labelled line is not a transcript.")


def test_declared_format_wins_over_detection() -> None:
    """``prose`` never reads as a transcript; ``transcript`` accepts mixed-case labels."""
    assert not is_transcript(DEBATE, "prose")
    assert is_transcript("Trump: Jobs are leaving.\nClinton: No.", "transcript")
    assert is_transcript(DEBATE, "auto")


def test_turns_leave_labels_out_and_carry_speakers_on() -> None:
    """Each turn's words are a paragraph of its speaker; an unlabelled line continues the turn before."""
    paragraphs = turn_paragraphs(DEBATE)
    assert [(DEBATE[p.start : p.end], p.speaker) for p in paragraphs] == [
        ("Good evening from Hofstra University. Welcome to the debate.", "HOLT"),
        ("Our jobs are fleeing the country. China has cut 40,000 jobs here.", "TRUMP"),
        ("(APPLAUSE)", "TRUMP"),
        ("Well, I think that trade is an important issue.", "CLINTON"),
        ("Wages went up 15.2% last year.", "CLINTON"),
        ("(CROSSTALK)", "SYSTEM"),
    ]


@pytest.mark.parametrize("text", ["(APPLAUSE)", "[CROSSTALK]", "(LAUGHTER).", " (BEGIN VIDEO CLIP) "])
def test_stage_directions_are_recognised(text: str) -> None:
    """Parenthesised or bracketed directions alone are stage directions."""
    assert is_stage_direction(text)


def test_speech_with_a_parenthesis_is_not_a_stage_direction() -> None:
    """A sentence that merely contains a parenthesis is speech."""
    assert not is_stage_direction("We cut taxes (by a lot) last year.")


def test_stage_directions_are_dropped_and_ids_renumbered() -> None:
    """Sentences of a transcript lose stage directions and keep consecutive ids with speakers."""
    sentences = without_stage_directions(segment_sentences(DEBATE, "en", turn_paragraphs(DEBATE)))
    assert [(s.id, s.speaker, s.text) for s in sentences] == [
        (1, "HOLT", "Good evening from Hofstra University."),
        (2, "HOLT", "Welcome to the debate."),
        (3, "TRUMP", "Our jobs are fleeing the country."),
        (4, "TRUMP", "China has cut 40,000 jobs here."),
        (5, "CLINTON", "Well, I think that trade is an important issue."),
        (6, "CLINTON", "Wages went up 15.2% last year."),
    ]
    assert all(DEBATE[s.start : s.end] == s.text for s in sentences)


def test_speaker_becomes_claimant_of_their_own_words() -> None:
    """Claims in the speaker's own voice get the speaker; claims the model attributed elsewhere keep theirs."""
    sentences = [Sentence(1, 0, 1, "a", 0, "TRUMP"), Sentence(2, 2, 3, "b", 1, "CLINTON")]
    claims = [claim_on(1, None, "author"), claim_on(2, "FBI", "reported"), claim_on(2, "Ms Clinton", "author")]
    attributed = attribute_to_speakers(claims, sentences)
    assert [(c.claim.claimant, c.claim.attribution) for c in attributed] == [
        ("TRUMP", "quoted"),
        ("FBI", "reported"),
        ("CLINTON", "quoted"),
    ]


def test_transcript_article_end_to_end(client: TestClient) -> None:
    """A debate POSTed as an article yields claims whose claimants are the speakers, none from directions."""
    response = client.post("/v1/extractions", json={"article": {"text": DEBATE}})
    claims = response.json()["claims"]
    by_quote = {claim["source"]["quote"]: claim["claimant"] for claim in claims}
    assert by_quote["China has cut 40,000 jobs here."] == "TRUMP"
    assert by_quote["Wages went up 15.2% last year."] == "CLINTON"
    assert not any("APPLAUSE" in quote or "CROSSTALK" in quote for quote in by_quote)
    for claim in claims:
        assert DEBATE[claim["source"]["start"] : claim["source"]["end"]] == claim["source"]["quote"]


def speakers_of(text: str, article_format: ArticleFormat) -> list[tuple[str, str | None]]:
    """Return each turn paragraph's words and speaker."""
    return [(text[p.start : p.end], p.speaker) for p in turn_paragraphs(text, article_format)]


def test_a_detected_transcript_takes_only_upper_case_labels() -> None:
    """When the format was detected, "And here's the thing: …" goes on with the turn; declared, it is a label."""
    text = "TRUMP: Our jobs are fleeing.\nAnd here's the thing: China has cut 40,000 jobs.\nCLINTON: Wages rose 2%."
    assert is_transcript(text, "auto")
    assert speakers_of(text, "auto") == [
        ("Our jobs are fleeing.", "TRUMP"),
        ("And here's the thing: China has cut 40,000 jobs.", "TRUMP"),
        ("Wages rose 2%.", "CLINTON"),
    ]
    assert speakers_of(text, "transcript")[1] == ("China has cut 40,000 jobs.", "And here's the thing")


def test_question_and_answer_labels_are_speakers() -> None:
    """An interview's one-letter labels (``Q:``, ``A:``) make a transcript and name the speakers."""
    text = "Q: How many jobs did you add?\nA: We added 2,000 jobs in 2023.\nQ: And wages?\nA: They rose 4%."
    assert looks_like_transcript(text)
    assert speakers_of(text, "auto")[1] == ("We added 2,000 jobs in 2023.", "A")


def test_a_label_alone_on_its_line_names_the_speaker_of_the_lines_below() -> None:
    """``TRUMP:`` on a line of its own, the words below it: the words are Trump's, not the previous speaker's."""
    text = "CLINTON:\nWages went up 15.2% last year.\nTRUMP:\nChina has cut 40,000 jobs here.\n"
    assert looks_like_transcript(text)
    assert speakers_of(text, "auto") == [
        ("Wages went up 15.2% last year.", "CLINTON"),
        ("China has cut 40,000 jobs here.", "TRUMP"),
    ]


def test_interview_end_to_end_gives_each_answer_to_its_speaker(client: TestClient) -> None:
    """POSTed as an article, a Q/A interview's claims are the answerer's, quoted without the label."""
    text = "Q: How many jobs did you add?\nA: We added 2,000 jobs in 2023.\n"
    claims = client.post("/v1/extractions", json={"article": {"text": text}}).json()["claims"]
    assert [(claim["source"]["quote"], claim["claimant"]) for claim in claims] == [
        ("We added 2,000 jobs in 2023.", "A")
    ]


def test_mixed_case_speakers_shown_in_the_prompt_are_not_quoted(client: TestClient) -> None:
    """With a prompt that shows speakers (v2), ``Trump: …`` lines give claims quoting the words, not the label."""
    text = "Trump: We added 2,000 jobs in 2023.\nClinton: Wages rose 4% in 2015.\n"
    body = {"article": {"text": text, "format": "transcript"}, "options": {"prompt": "extract_claims@2"}}
    result = client.post("/v1/extractions", json=body).json()
    assert [(claim["source"]["quote"], claim["claimant"]) for claim in result["claims"]] == [
        ("We added 2,000 jobs in 2023.", "Trump"),
        ("Wages rose 4% in 2015.", "Clinton"),
    ]
    assert result["warnings"] == []


TRANSCRIPTS = {
    "ru": "ВЕДУЩИЙ: Сколько рабочих мест создано?\nПУТИН: Мы создали 2 миллиона рабочих мест. Зарплаты выросли на 9%.",
    "el": "ΣΥΝΤΟΝΙΣΤΗΣ: Τι έγινε με την ανεργία;\nΤΣΙΠΡΑΣ: Η ανεργία έπεσε στο 10,8%. Οι μισθοί αυξήθηκαν.",
    "zh": "主持人：经济增长了多少？\n发言人：今年经济增长了4.9%。失业率为5.0%。",
    "ja": "司会：失業率はどうですか。\n岸田首相：失業率は2.5%です。賃金は3.6%上がりました。",
    "ar": "المذيع: كم وظيفة أضيفت؟\nالوزير: أضفنا ٢٠٠ ألف وظيفة. انخفضت البطالة إلى ٧٪.",
    "hi": "एंकर: बेरोज़गारी कितनी है?\nमोदी: बेरोज़गारी ३.२ प्रतिशत है। निर्यात १० प्रतिशत बढ़ा।",
    "th": "พิธีกร: เศรษฐกิจเป็นอย่างไร\nทักษิณ: เศรษฐกิจขยายตัวร้อยละ 2.7 ต่อปี อัตราเงินเฟ้อติดลบร้อยละ 0.31",
}


@pytest.mark.parametrize("language", sorted(TRANSCRIPTS))
def test_speaker_labels_in_every_script_make_a_transcript(language: str) -> None:
    """Upper-case Cyrillic or Greek labels and short labels of caseless scripts (CJK, Arabic, Indic, Thai) are turns."""
    text = TRANSCRIPTS[language]
    assert is_transcript(text, "auto")
    sentences = without_stage_directions(segment_sentences(text, language, turn_paragraphs(text, "auto")))
    speakers = [sentence.speaker for sentence in sentences]
    assert speakers[0] is not None
    assert len(sentences) == 3
    assert speakers[1] == speakers[2] != speakers[0]
    assert all(not sentence.text.startswith(str(sentence.speaker)) for sentence in sentences)


@pytest.mark.parametrize("language", ["zh", "ar", "hi"])
def test_a_transcript_in_a_caseless_script_gives_its_speakers_as_claimants(
    language: str, tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Through a model citing every sentence, each claim's claimant is its line's speaker, its quote label-free."""
    http_mock.post(OPENAI_URL).mock(side_effect=claim_every_sentence)
    text = TRANSCRIPTS[language]
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        result = client.post("/v1/extractions", json={"article": {"text": text}}).json()
    claims = result["claims"]
    host, guest = (line.split(":")[0].split("：")[0] for line in text.splitlines())
    assert result["article"]["language"] == language
    assert [claim["claimant"] for claim in claims] == [host, guest, guest]
    assert all(text[c["source"]["start"] : c["source"]["end"]] == c["source"]["quote"] for c in claims)
