"""The offline model's rules: which sentences become claims, and with what type, claimant and attribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.model_reply import ModelClaim, ModelReply
from service.offline.rules import MAX_SENTENCE_CHARS, extract_offline_reply
from service.steps.text import normalize_text, segment_sentences

ARTICLE = Path(__file__).parents[1] / "data" / "article-trump-musk-x-stream.txt"


@pytest.fixture(scope="module")
def article_sentences() -> list[tuple[int, str]]:
    """Return the sample article's sentences, normalised and segmented as the service does it."""
    raw = ARTICLE.read_text(encoding="utf-8")
    return [(sentence.id, sentence.text) for sentence in segment_sentences(normalize_text(raw).text)]


@pytest.fixture(scope="module")
def article_claims(article_sentences: list[tuple[int, str]]) -> list[ModelClaim]:
    """Return the claims the rules extract from the sample article."""
    return extract_offline_reply(article_sentences).claims


def sentence_id_containing(sentences: list[tuple[int, str]], fragment: str) -> int:
    """Return the id of the only sentence that contains ``fragment``."""
    ids = [sentence_id for sentence_id, text in sentences if fragment in text]
    assert len(ids) == 1, f"{fragment!r} is in sentences {ids}"
    return ids[0]


def claim_for(claims: list[ModelClaim], sentence_id: int) -> ModelClaim:
    """Return the only claim citing ``sentence_id``."""
    found = [claim for claim in claims if sentence_id in claim.sentence_ids]
    assert len(found) == 1, f"sentence {sentence_id} has {len(found)} claims"
    return found[0]


def claims_of(text: str) -> list[ModelClaim]:
    """Return the claims the rules extract from a single sentence."""
    return extract_offline_reply([(1, text)]).claims


def test_sample_article_yields_at_least_eight_claims(article_claims: list[ModelClaim]) -> None:
    """The sample article gives at least eight claims."""
    assert len(article_claims) >= 8


def test_audience_count_is_a_quantity_claim(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """The audience figure "1,324,994" becomes a quantity claim."""
    claim = claim_for(article_claims, sentence_id_containing(article_sentences, "1,324,994"))
    assert claim.type == "quantity"


def test_fbi_statistic_is_a_quantity_reported_from_the_fbi(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """The "15.2%" crime statistic is a quantity, claimant FBI, attribution reported, and scores high."""
    claim = claim_for(article_claims, sentence_id_containing(article_sentences, "15.2%"))
    assert (claim.type, claim.claimant, claim.attribution) == ("quantity", "FBI", "reported")
    assert claim.checkworthiness >= 0.8


def test_stream_delay_is_a_quantity_claim(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """The "42-minute delay" sentence becomes a quantity claim."""
    claim = claim_for(article_claims, sentence_id_containing(article_sentences, "42-minute delay"))
    assert claim.type == "quantity"


@pytest.mark.parametrize(
    "fragment",
    [
        "This is a developing story.",
        "Please check back for updates.",
        "Read the full article here",
        "A potential role for Musk in a second Trump administration",
        "The contentious history between Trump and Musk",
    ],
)
def test_boilerplate_and_headings_of_the_article_yield_nothing(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim], fragment: str
) -> None:
    """Boilerplate lines and verbless section headings of the article give no claim."""
    sentence_id = sentence_id_containing(article_sentences, fragment)
    assert all(sentence_id not in claim.sentence_ids for claim in article_claims)


def test_insult_quoted_in_the_article_yields_nothing(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """The quoted insult "she's incompetent" gives no claim."""
    sentence_id = sentence_id_containing(article_sentences, "she’s incompetent")
    assert all(sentence_id not in claim.sentence_ids for claim in article_claims)


def test_every_quote_is_an_exact_substring_of_its_sentence(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """Each claim's quote is found verbatim in the sentence it cites."""
    texts = dict(article_sentences)
    for claim in article_claims:
        assert claim.sentence_ids[0] in texts
        assert claim.quote in texts[claim.sentence_ids[0]]


def test_quote_survives_surrounding_white_space() -> None:
    """A sentence with surrounding blanks is quoted without them, still as an exact substring."""
    sentence = "  The council spent $4 million on roads in 2023.  "
    (claim,) = claims_of(sentence)
    assert claim.quote in sentence
    assert claim.quote == claim.quote.strip()


def test_direct_quote_with_trailing_said_is_quoted_from_the_speaker(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """'“…,” Trump said.' gives claimant Trump with attribution quoted."""
    claim = claim_for(article_claims, sentence_id_containing(article_sentences, "crime all over the world is down"))
    assert (claim.claimant, claim.attribution) == ("Trump", "quoted")


def test_trailing_news_agency_attribution_is_reported(
    article_sentences: list[tuple[int, str]], article_claims: list[ModelClaim]
) -> None:
    """'…, Reuters reported last year.' is reported by Reuters; the dismissed claims make it a rule claim."""
    claim = claim_for(article_claims, sentence_id_containing(article_sentences, "Reuters reported"))
    assert (claim.type, claim.claimant, claim.attribution) == ("rule", "Reuters", "reported")


@pytest.mark.parametrize(
    "sentence",
    [
        "Is violent crime really down?",
        "“Why did the stream fail?” she asked.",
        "Hello everyone, and welcome to the show.",
        "Good morning, Washington.",
        "She's incompetent.",
        "You would love it.",
        "You are the greatest.",
        "Click here to read more.",
        "Subscribe to our newsletter for daily updates.",
        "Sign up for our newsletter.",
        "© 2024 Cable News Network. All rights reserved.",
        "Imagine a world without taxes.",
        "For more information, visit census.gov.",
        "Media contact: NOAA Communications.",
        "Stay connected with NOAA on social media.",
        "Provisional data are subject to change as more information is received.",
    ],
)
def test_non_claims_yield_nothing(sentence: str) -> None:
    """Questions, greetings, pure opinion, imperatives and boilerplate give no claim."""
    assert claims_of(sentence) == []


@pytest.mark.parametrize(
    ("sentence", "expected_type"),
    [
        ("Unemployment fell to 3.9% in March.", "quantity"),
        ("Flights were cancelled because of the storm.", "causal"),
        ("The court ruled that the ban was unconstitutional.", "rule"),
        ("The central bank expects inflation to ease next year.", "prediction"),
        ("I worked at the plant for most of my life.", "personal_experience"),
        ("President Joe Biden in January 2021 rejoined the Paris agreement.", "other"),
    ],
)
def test_claim_types_follow_full_fact(sentence: str, expected_type: str) -> None:
    """Each Full Fact type is recognised from its cue words; a year alone is not a quantity."""
    (claim,) = claims_of(sentence)
    assert claim.type == expected_type


@pytest.mark.parametrize(
    ("sentence", "claimant", "attribution"),
    [
        ("Unemployment fell to 3.9% in March, according to the Bureau of Labor Statistics.",
         "Bureau of Labor Statistics", "reported"),
        ("Officials said the fire destroyed 200 homes.", "Officials", "reported"),
        ('"The economy grew 2% last year," said Senator Jane Smith.', "Jane Smith", "quoted"),
        ("Trump said: “Crime is up 40% in New York.”", "Trump", "quoted"),
        ("The fire destroyed 200 homes in the valley.", None, "author"),
    ],
)  # fmt: skip
def test_claimant_and_attribution_follow_the_sentence(sentence: str, claimant: str | None, attribution: str) -> None:
    """According-to, leading and trailing speech verbs and direct quotes set claimant and attribution."""
    (claim,) = claims_of(sentence)
    assert (claim.claimant, claim.attribution) == (claimant, attribution)


def test_bare_quote_inherits_the_previous_speaker() -> None:
    """A quote continuing the previous sentence's quote keeps that sentence's speaker."""
    reply = extract_offline_reply(
        [(1, "“Crime is down 12% this year,” the mayor’s spokesman Tom Reyes said."), (2, "“Arrests rose 8%.”")]
    )
    assert [(claim.claimant, claim.attribution) for claim in reply.claims] == [
        ("Tom Reyes", "quoted"),
        ("Tom Reyes", "quoted"),
    ]


def test_checkworthiness_is_rounded_in_range_and_favours_statistics() -> None:
    """Scores lie in [0, 1] with two decimals; an official statistic outranks a vague remark."""
    statistic = claims_of("The FBI’s 2024 report shows violent crime fell 15.2% from 2023.")[0].checkworthiness
    vague = claims_of("Tesla continues to have a reputation for its anti-union practices.")[0].checkworthiness
    for score in (statistic, vague):
        assert 0.0 <= score <= 1.0
        assert score == round(score, 2)
    assert statistic > vague


def test_sentence_ids_are_the_given_local_ids() -> None:
    """Claims cite the ids of the [S<n>] lines, not positions in the list."""
    reply = extract_offline_reply([(7, "The bridge cost $40 million."), (3, "Turnout rose to 68% in 2020.")])
    assert [claim.sentence_ids for claim in reply.claims] == [[7], [3]]


def test_same_input_gives_identical_output(article_sentences: list[tuple[int, str]]) -> None:
    """The rules are deterministic: the same sentences give byte-identical reply JSON."""
    first = extract_offline_reply(article_sentences).model_dump_json()
    second = extract_offline_reply(list(article_sentences)).model_dump_json()
    assert first == second


def test_reply_round_trips_through_the_reply_schema(article_sentences: list[tuple[int, str]]) -> None:
    """The reply's JSON validates against ModelReply unchanged."""
    reply = extract_offline_reply(article_sentences)
    assert ModelReply.model_validate_json(reply.model_dump_json()) == reply


def test_no_sentences_give_an_empty_reply() -> None:
    """No sentences give the honest empty reply."""
    assert extract_offline_reply([]).claims == []


@pytest.mark.parametrize(
    ("sentence", "claimant", "attribution"),
    [
        ("More than 4,000 homes lost power after the storm, officials said.", "officials", "reported"),
        ("Crime fell 5% last year, he said.", None, "reported"),
        ("The Bank of England expects inflation to fall to 2% next year.", "Bank of England", "reported"),
        ("The International Monetary Fund predicts growth of 3.1% this year.", "International Monetary Fund",
         "reported"),
    ],
)  # fmt: skip
def test_noun_sources_and_forecasters_are_claimants(sentence: str, claimant: str | None, attribution: str) -> None:
    """A trailing "…, officials said" names its source (a pronoun does not); a forecaster reports its forecast."""
    (claim,) = claims_of(sentence)
    assert (claim.claimant, claim.attribution) == (claimant, attribution)


def test_transcript_lines_rank_figures_above_small_talk() -> None:
    """In a run of debate lines, the one stating a figure outranks the others that yield a claim."""
    reply = extract_offline_reply(
        [
            (1, "We have a trade deficit of almost $800 billion a year with the countries we do business with."),
            (2, "It is great to be here tonight in this wonderful hall."),
            (3, "We are going to talk about many things."),
        ]
    )
    scores = {claim.sentence_ids[0]: claim.checkworthiness for claim in reply.claims}
    assert scores[1] == max(scores.values())


def test_a_line_showing_its_speaker_is_quoted_without_the_label_and_claimed_by_the_speaker() -> None:
    """``[S1] TRUMP: words`` (prompt v2 shows speakers) quotes only the words; the speaker is the claimant."""
    claims = claims_of("TRUMP: We pay approximately 73 percent of the cost of NATO.")

    assert [(claim.quote, claim.claimant, claim.attribution) for claim in claims] == [
        ("We pay approximately 73 percent of the cost of NATO.", "TRUMP", "author")
    ]


def test_a_speaker_label_does_not_override_a_named_source() -> None:
    """A speaker who reports someone else's claim leaves that source as the claimant."""
    claims = claims_of("CLINTON: The FBI said violent crime fell 15.2% last year.")

    assert [(claim.claimant, claim.attribution) for claim in claims] == [("FBI", "reported")]


def test_a_run_on_line_longer_than_any_sentence_yields_nothing_and_spares_the_rest() -> None:
    """A line over MAX_SENTENCE_CHARS gives no claim (the rules stay linear); the lines around it are read as usual."""
    run_on = "The rate fell 5% " + "‘x " * 1_000 + "."
    assert len(run_on) > MAX_SENTENCE_CHARS
    reply = extract_offline_reply(
        [(1, "Unemployment fell to 3.9% in May."), (2, run_on), (3, "Rents rose 7% in 2023.")]
    )
    assert [claim.sentence_ids for claim in reply.claims] == [[1], [3]]


def test_a_source_named_only_by_a_filled_in_pronoun_is_the_claimant() -> None:
    """After a sentence naming Rachel Adams, "She said …" reads "[Rachel Adams] said", and she is its claimant."""
    sentences = [
        "Finance minister Rachel Adams presented the plan on Monday.",
        "She said the deficit would fall to 2% by 2027.",
        "Pfizer reported revenue of $14 billion.",
        "It said sales of its vaccine fell 40%.",
        "Tax receipts rose 4% last year.",
    ]
    claims = {claim.quote: claim for claim in extract_offline_reply(list(enumerate(sentences, 1))).claims}
    she = claims["She said the deficit would fall to 2% by 2027."]
    assert (she.text, she.claimant, she.attribution) == (
        "[Rachel Adams] said the deficit would fall to 2% by 2027.",
        "Rachel Adams",
        "reported",
    )
    assert claims["It said sales of its vaccine fell 40%."].claimant == "Pfizer"
    assert claims["Tax receipts rose 4% last year."].claimant is None  # nothing filled in, no source named
