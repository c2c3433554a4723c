"""Tests of ``service/steps/standalone.py``: whether a claim's text can be understood without its article."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.steps import standalone
from service.steps.standalone import is_standalone, unbracketed, unresolved_references
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_chat_completion, sentence_lines


@pytest.mark.parametrize(
    ("text", "claimant", "left"),
    [
        ("He noted that import prices had fallen by 1.9%.", None, ["He"]),
        ("That's a record.", None, ["That"]),
        ("In its spring forecast, it projected growth of 0.8%.", None, ["its", "it"]),
        ("The company said profits rose last month.", None, ["The company", "last month"]),
        ("The former won 52% of the vote.", None, ["The former"]),
        ("Sales rose 4% that year.", None, ["that year"]),
        ("The strike began on Monday.", None, ["on Monday"]),
        ("At the time, Musk declared that climate change is real.", None, ["At the time"]),
        ("Waiting times there have fallen by a third.", None, ["there"]),
        ("We cut taxes by 5%.", None, ["We"]),
    ],
    ids=["pronoun", "demonstrative", "it-its", "the-company-and-time", "the-former", "that-year", "weekday",
         "at-the-time", "locative-there", "first-person-without-claimant"],
)  # fmt: skip
def test_what_leans_on_the_article_is_named(text: str, claimant: str | None, left: list[str]) -> None:
    """Pronouns, demonstratives, anaphoric descriptions and unnamed times are unresolved, and named."""
    assert unresolved_references(text, claimant) == left
    assert not is_standalone(text, claimant)


@pytest.mark.parametrize(
    ("text", "claimant"),
    [
        ("[Christine Lagarde] noted that import prices had fallen by 1.9%.", None),
        ("He [Joe Biden] said 5 million jobs were created in 2021.", None),
        ("[Elon Musk] later announced he would support the GOP.", None),
        ("Musk said he would be happy to help.", None),
        ("It is estimated that 5 million people live in Lombardy.", None),
        ("It was not until 1920 that women in the United States won the right to vote.", None),
        ("Eurostat said inflation in the euro area eased to 2.4% in November 2023.", "Eurostat"),
        ("We cut taxes by 5%.", "Donald Trump"),
        ("The strike began on Monday, March 4, 2024.", None),
        ("More than 10,000 people attended the rally in Madrid, organisers said.", "organisers"),
        ("You know, unemployment fell to 3.9% in May 2024.", None),
    ],
    ids=["bracket-replaces", "bracket-follows", "named-by-bracket-before", "named-before", "placeholder-it",
         "not-until", "plain", "first-person-with-claimant", "dated-weekday", "defined-description", "you-know"],
)  # fmt: skip
def test_what_stands_alone_is_standalone(text: str, claimant: str | None) -> None:
    """A bracket resolves what it replaces or follows; a name before a pronoun resolves it; a claimant, "I"."""
    assert unresolved_references(text, claimant) == []
    assert is_standalone(text, claimant)


WORDS = str.split(
    "this these those that that's that’s in on at by for with of after since last next the same following year week"
    " days yesterday tonight ago Monday January 5 , “ ‘ and but so however is was why company bill time then back The"
    " THIS He said she they it It is estimated you know thank mind I we our there were Musk [Musk] [the company] ſo"
    " thiſ İt ıt K Named state city ours",
    " ",
)


def test_skipping_a_pattern_whose_words_are_missing_finds_what_running_every_pattern_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pattern left unrun (the text holds none of its words) would have found nothing: seeded random texts."""
    rng = random.Random(25)  # noqa: S311 -- seeded text for a test, not cryptography
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(3_000)]
    skipping = [unresolved_references(text, claimant) for text in texts for claimant in (None, "Musk")]
    monkeypatch.setattr(standalone, "_LIKE_ASCII", re.compile(""))  # matches every text: every pattern runs
    assert [unresolved_references(text, claimant) for text in texts for claimant in (None, "Musk")] == skipping
    assert unresolved_references("Prices rose thiſ year.") == ["thiſ"]  # ſ is an s to IGNORECASE: "this"


def test_stopping_at_the_first_reference_says_what_finding_them_all_says() -> None:
    """``is_standalone`` stops at the first thing that leans on the article: the same answer as finding every one."""
    rng = random.Random(26)  # noqa: S311 -- seeded text for a test, not cryptography
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(3_000)]
    standalone._remembered_standalone.cache_clear()
    pairs = [(text, claimant) for text in texts for claimant in (None, "Musk")]
    answers = [is_standalone(text, claimant) for text, claimant in pairs]
    assert answers == [not unresolved_references(text, claimant) for text, claimant in pairs]
    assert 0.1 < sum(answers) / len(answers) < 0.9  # both answers are common among these texts


def test_the_bracketed_context_and_the_word_it_explains_are_set_aside() -> None:
    """``unbracketed`` leaves the claim's own words: no bracket, no pronoun a bracket explains."""
    assert unbracketed("He [Joe Biden] said [in 2021] that jobs grew.").split() == ["said", "that", "jobs", "grew."]
    assert unbracketed("The company [Tesla] grew 5% last year [in 2023].").split() == ["grew", "5%", "."]


def test_every_claim_of_a_hosted_model_says_whether_it_stands_alone(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str, provider_keys: None
) -> None:
    """The standalone flag is computed for a hosted model's claims too: a bracket resolves, a bare "he" does not."""
    replies = [
        ("Trump also said that he will “need Elon Musk”", "He also said he will need Elon Musk.", False),
        ("Musk said he’d be “happy to help out”", "[Elon Musk] said he would be happy to help out.", True),
        ("President Joe Biden in January 2021 rejoined the Paris agreement.",
         "Joe Biden rejoined the Paris agreement in January 2021.", True),
    ]  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        numbered = sentence_lines(request)
        claims = [
            {
                "sentence_ids": [next(n for n, sentence in numbered if quote in sentence)],
                "quote": quote, "text": text, "type": "other", "claimant": None, "attribution": "author",
                "checkworthiness": 0.7,
            }
            for quote, text, _ in replies
        ]  # fmt: skip
        return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": claims})))

    http_mock.post(OPENAI_URL).mock(side_effect=answer)
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        result = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()
    flags = {claim["text"]: claim["standalone"] for claim in result["claims"]}
    assert flags == {text: standalone for _, text, standalone in replies}
