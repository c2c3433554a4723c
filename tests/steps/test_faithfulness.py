"""Tests of ``service/steps/faithfulness.py``: a claim names no number, date or name its chunk does not support."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
import respx
import yaml
from fastapi.testclient import TestClient

from schemas import ModelClaim
from service.api.app import create_app
from service.evaluation.hostile_claims import count_files
from service.steps import faithfulness, words
from service.steps.chunking import Chunk
from service.steps.faithfulness import Support, check_faithfulness, unsupported_terms
from service.steps.grounding import GroundedClaim, Producer
from service.steps.text import Sentence
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_chat_completion, sentence_lines

SHOWN_TEXTS = [
    "Former President Donald Trump and Tesla CEO Elon Musk on Monday held a conversation on X.",
    "The conversation garnered an audience as large as 1,324,994 people after a 42-minute delay.",
    "The FBI’s 2024 report indicates violent crime is down 15.2 percent, Musk’s guest said.",
    "Prices rose in Jan. in the U.S. and in Venezuela.",
]
SHOWN = Support.of(SHOWN_TEXTS)


@pytest.mark.parametrize(
    ("text", "claimant"),
    [
        ("Elon Musk's stream with Donald Trump drew 1324994 people.", "Elon Musk"),
        ("The FBI says violent crime fell 15.2% in 2024.", "FBI"),
        ("Musk began the stream after a forty-two-minute delay on Monday.", None),
        ("Prices rose in January in the US, Venezuelans say.", "venezuelan officials"),
        ("FBI Report: Violent Crime Down 15.2 Percent", "the fbi"),
        ("One of the largest audiences watched the conversation, according to X.", None),
    ],
    ids=["possessive-and-separators", "percent", "spelled-out", "abbreviation-acronym-demonym", "case", "openers"],
)
def test_what_rewording_changes_is_still_supported(text: str, claimant: str | None) -> None:
    """Case, possessives, endings, abbreviations, acronym dots, separators, % and spelled-out numbers all match."""
    assert unsupported_terms(text, claimant, SHOWN) == []


@pytest.mark.parametrize(
    ("text", "claimant", "missing"),
    [
        ("Vaccines cause autism.", "Anthony Fauci", ["Vaccines", "Anthony", "Fauci"]),
        ("Violent crime is down 52%, the FBI says.", "FBI", ["52"]),
        ("Violent crime fell 15.2% in 2023.", None, ["2023"]),
        ("Trump and Musk spoke on Tuesday.", None, ["Tuesday"]),
        ("The stream drew two million people.", None, ["2000000"]),
    ],
    ids=["invented-claimant", "changed-figure", "changed-year", "changed-day", "spelled-out-figure"],
)
def test_what_the_text_never_said_is_named(text: str, claimant: str | None, missing: list[str]) -> None:
    """An invented name, figure or date is unsupported, and named."""
    assert unsupported_terms(text, claimant, SHOWN) == missing


def grounded(text: str, claimant: str | None, quote: str | None = None) -> GroundedClaim:
    """Return a grounded claim with this text, claimant and quote (by default, its quote says what its text says)."""
    quote = text if quote is None else quote
    claim = ModelClaim(sentence_ids=[1], quote=quote, text=text, type="other", claimant=claimant, checkworthiness=0.5)
    return GroundedClaim(claim, chunk=1, sentence_ids=(1,), start=0, end=1, quote=quote, producer=Producer("m", "m"))


def test_the_mode_drops_warns_or_keeps() -> None:
    """``drop`` removes an unfaithful claim with a warning; ``warn`` keeps it with one; ``off`` checks nothing."""
    claims = [grounded("Violent crime fell 15.2%.", "FBI"), grounded("Vaccines cause autism.", "Anthony Fauci")]
    kept, notices = check_faithfulness(claims, SHOWN, "drop", chunk=3)
    assert kept == claims[:1]
    assert [(n.chunk, n.code) for n in notices] == [(3, "unfaithful_claim_dropped")]
    assert notices[0].detail == (
        "claim 'Vaccines cause autism.' names what the text it was shown does not support: "
        "'Vaccines', 'Anthony', 'Fauci'"
    )
    kept, notices = check_faithfulness(claims, SHOWN, "warn", chunk=3)
    assert (kept, [n.code for n in notices]) == (claims, ["unfaithful_claim_kept"])
    assert check_faithfulness(claims, SHOWN, "off", chunk=3) == (claims, [])


def reply_with(claims: list[tuple[str, str, str | None]]) -> object:
    """Script a model answering ``(quote, text, claimant)`` claims, each citing the sentence holding its quote."""

    def answer(request: httpx.Request) -> httpx.Response:
        numbered = sentence_lines(request)
        body = [
            {
                "sentence_ids": [next(n for n, sentence in numbered if quote in sentence)],
                "quote": quote,
                "text": text,
                "type": "other",
                "claimant": claimant,
                "attribution": "reported" if claimant else "author",
                "checkworthiness": 0.8,
            }
            for quote, text, claimant in claims
        ]
        return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": body})))

    return answer


def extract(tmp_path: Path, article: str, **settings: object) -> dict[str, object]:
    """POST the article to the app on the scripted OpenAI model."""
    with TestClient(create_app(hosted_settings(tmp_path, **settings))) as client:
        body = {"article": {"text": article, "title": "Trump and Musk hold live-streamed conversation on X"}}
        result: dict[str, object] = client.post("/v1/extractions", json=body).json()
    return result


DECONTEXTUALISED = [
    (
        "The conversation at times garnered an audience as large as 1,324,994 people.",
        "The live-streamed conversation between Donald Trump and Elon Musk on X on Monday at times drew an "
        "audience of as many as 1,324,994 people.",
        None,
    ),
    (
        "The FBI’s 2024 Quarterly Crime Report indicates violent crime is down 15.2%",
        "The FBI's 2024 Quarterly Crime Report indicates violent crime fell 15.2 percent from January through "
        "March 2023 to January through March 2024.",
        "FBI",
    ),
    (
        "After a 42-minute delay, Musk began the stream",
        "Elon Musk began his live-streamed conversation with Donald Trump on X after a forty-two-minute delay.",
        "CNN",
    ),
    (
        "Musk departed after Trump withdrew from the Paris climate accord",
        "Elon Musk left Donald Trump's business advisory groups in 2017 after Trump withdrew from the Paris "
        "climate accord.",
        None,
    ),
    (
        "President Joe Biden in January 2021 rejoined the Paris agreement.",
        "President Joe Biden rejoined the Paris climate agreement in January 2021.",
        None,
    ),
    (
        "The National Labor Relations Board ultimately dismissed claims that Musk’s electric vehicle company, "
        "Tesla, illegally fired employees",
        "The National Labor Relations Board dismissed claims that Elon Musk's company Tesla illegally fired "
        "employees who were unionizing at one of its factories.",
        "Reuters",
    ),
    (
        "“Here’s what’s happening: crime all over the world is down,” Trump said.",
        "Crime all over the world is down, former President Donald Trump said.",
        "Donald Trump",
    ),
    (
        "it wasn’t until the July 13 assassination attempt against Trump that Musk came out in support",
        "Elon Musk endorsed Donald Trump only after the July 13 assassination attempt against him.",
        None,
    ),
]


@pytest.mark.usefixtures("provider_keys")
def test_well_decontextualised_claims_of_the_sample_article_are_all_kept(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """Names and dates carried over from other sentences of the chunk, and from its title, are supported."""
    faithful = [claim for claim in DECONTEXTUALISED if claim[2] != "CNN"]
    http_mock.post(OPENAI_URL).mock(side_effect=reply_with(faithful))
    result = extract(tmp_path, sample_article)
    assert sorted(claim["text"] for claim in result["claims"]) == sorted(text for _, text, _ in faithful)  # type: ignore[index]
    assert result["warnings"] == []


@pytest.mark.usefixtures("provider_keys")
def test_hostile_replies_on_real_quotes_are_dropped_and_named(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """Invented texts and claimants attached to real quotes are dropped with a warning naming what is unsupported."""
    hostile = [
        (
            "Tesla continues to have a reputation for its anti-union practices",
            "Vaccines cause autism.",
            "Anthony Fauci",
        ),
        ("violent crime is down 15.2%", "Violent crime is down 52%, the FBI says.", "FBI"),
        ("President Joe Biden in January 2021 rejoined the Paris agreement.", "Biden rejoined it in 2019.", None),
        DECONTEXTUALISED[0],
    ]
    http_mock.post(OPENAI_URL).mock(side_effect=reply_with(hostile))
    result = extract(tmp_path, sample_article)
    assert [claim["text"] for claim in result["claims"]] == [DECONTEXTUALISED[0][1]]  # type: ignore[index]
    warnings = result["warnings"]
    assert [w["code"] for w in warnings] == ["unfaithful_claim_dropped"] * 3  # type: ignore[index]
    assert [w["detail"].rsplit(": ", 1)[1] for w in warnings] == [  # type: ignore[index]
        "'Vaccines', 'Anthony', 'Fauci'",
        "'52'",
        "'2019'",
    ]
    relaxed = extract(tmp_path / "relaxed", sample_article, faithfulness="warn")
    assert len(relaxed["claims"]) == 4  # type: ignore[arg-type]
    assert {w["code"] for w in relaxed["warnings"]} == {"unfaithful_claim_kept"}  # type: ignore[union-attr]


@pytest.mark.usefixtures("provider_keys")
def test_a_claimant_the_article_never_names_is_unfaithful(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """A claimant such as the publisher, which the text the model saw never names, is not supported."""
    http_mock.post(OPENAI_URL).mock(side_effect=reply_with([DECONTEXTUALISED[2]]))
    result = extract(tmp_path, sample_article)
    assert result["claims"] == []
    assert result["warnings"][0]["detail"].endswith("'CNN'")  # type: ignore[index]


def test_a_text_read_again_is_read_once_and_a_long_one_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A claim's text (or a quote's) is read once per text (memoised); a text past the memo's size limit is not kept."""
    read: list[str] = []
    tokens = words._tokens

    def counting(text: str, **options: bool | None) -> list[str]:
        read.append(text)
        return tokens(text, **options)

    monkeypatch.setattr(words, "_tokens", counting)
    faithfulness.forget()
    sentence = f"Prices rose {uuid.uuid4().int % 1000} percent in Riverton, Mayor Delgado said."
    long = "Prices rose sharply. " * (faithfulness.REMEMBERED_CHARS // 10)
    for _ in range(3):
        assert "Delgado" in unsupported_terms(sentence, None, Support.of([]))
        assert "Delgado" in unsupported_terms(f"{long} Delgado", None, Support.of([]))
    assert read.count(sentence) == 1
    assert read.count(f"{long} Delgado") == 3
    faithfulness.forget()


def test_a_chunks_texts_are_read_together_and_its_support_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk's texts are tokenised in one pass, and the same chunk read again is not tokenised again."""
    read: list[str] = []
    tokens = words._tokens

    def counting(text: str, **options: bool | None) -> list[str]:
        read.append(text)
        return tokens(text, **options)

    monkeypatch.setattr(words, "_tokens", counting)
    faithfulness.forget()
    chunk = chunk_of(SHOWN_TEXTS)
    first = faithfulness.chunk_support(chunk, "A title")
    assert faithfulness.chunk_support(chunk, "A title") is first
    assert len(read) == 1
    assert first == Support(*texts_read_alone([*SHOWN_TEXTS, "A title"]))
    faithfulness.forget()


def texts_read_alone(texts: list[str]) -> tuple[frozenset[str], frozenset[float]]:
    """Return the words and numbers of the texts, each read alone."""
    readings = [words._reading(text) for text in texts]
    comparable = frozenset().union(*(reading.words for reading in readings))
    return comparable, frozenset().union(*(reading.numbers for reading in readings))


def chunk_of(texts: list[str]) -> Chunk:
    """Return a chunk whose sentences are the texts."""
    sentences = tuple(Sentence(number, 0, len(text), text, 0) for number, text in enumerate(texts, start=1))
    return Chunk(index=0, sentences=sentences, context=())


def test_memoised_reading_gives_what_reading_afresh_gives(sample_article: str) -> None:
    """The support and the unsupported terms read from memory equal those read afresh."""
    texts = sample_article.splitlines()
    faithfulness.forget()
    afresh = Support.of(texts)
    remembered = Support.of(texts)
    assert remembered == afresh
    assert unsupported_terms("Anthony Fauci met Musk in 1911.", "Elon Musk", remembered) == ["Anthony", "Fauci", "1911"]


GOLDEN = Path(__file__).parents[1] / "golden"
DEBATE = GOLDEN / "debate1-clinton-economy.yaml"


def transcript_extract(tmp_path: Path, text: str) -> dict[str, object]:
    """POST a transcript to the app on the scripted OpenAI model."""
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        body = {"article": {"text": text, "format": "transcript"}}
        result: dict[str, object] = client.post("/v1/extractions", json=body).json()
    return result


@pytest.mark.usefixtures("provider_keys")
def test_another_sentences_text_pasted_onto_a_quote_is_dropped(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """A claim whose text is another sentence's, on a real quote, is dropped, saying what its quote does not say."""
    debate = yaml.safe_load(DEBATE.read_text(encoding="utf-8"))["text"]
    hostile = [
        ("That's called business, by the way.", "Nine million people lost their jobs.", "Clinton"),
        ("Five million people lost their homes.", "Nine million people lost their jobs.", "Clinton"),
        ("Take clean energy.", "Donald Trump thinks that climate change is a hoax perpetrated by the Chinese.", None),
        ("Nine million people -- nine million people lost their jobs.", "Nine million people lost their jobs.", None),
    ]
    http_mock.post(OPENAI_URL).mock(side_effect=reply_with(hostile))
    result = transcript_extract(tmp_path, debate)
    assert [claim["text"] for claim in result["claims"]] == ["Nine million people lost their jobs."]  # type: ignore[index]
    warnings = result["warnings"]
    assert [w["code"] for w in warnings] == ["unfaithful_claim_dropped"] * 3  # type: ignore[index]
    assert [w["detail"].split("' ", 1)[1] for w in warnings] == [  # type: ignore[index]
        "states a figure another sentence says, not its quote: '9000000'",
        "states a figure another sentence says, not its quote: '9000000'",
        # 'Chinese' is a name of the chunk: carried over, not counted
        "says what its quote does not: 'thinks', 'climate', 'change', 'hoax', 'perpetrated'",
    ]


@pytest.mark.usefixtures("provider_keys")
def test_a_negated_quote_is_dropped(tmp_path: Path, http_mock: respx.MockRouter, sample_article: str) -> None:
    """A claim that negates its quote ("was not", "It is false that"), or drops its quote's "not", is dropped."""
    hostile = [
        ("President Joe Biden in January 2021 rejoined the Paris agreement.",
         "President Joe Biden did not rejoin the Paris agreement in January 2021.", None),
        ("The conversation at times garnered an audience as large as 1,324,994 people.",
         "It is false that the conversation garnered an audience as large as 1,324,994 people.", None),
        ("their relationship was not always so amiable",
         "The relationship between Donald Trump and Elon Musk was always amiable.", None),
        ("Tesla continues to have a reputation for its anti-union practices and brutal layoffs.",
         "Tesla continues to have a reputation for anti-union practices and brutal layoffs.", None),
    ]  # fmt: skip
    http_mock.post(OPENAI_URL).mock(side_effect=reply_with(hostile))
    result = extract(tmp_path, sample_article)
    assert [claim["text"] for claim in result["claims"]] == [hostile[3][1]]  # type: ignore[index]
    details = [w["detail"] for w in result["warnings"]]  # type: ignore[index]
    assert len(details) == 3
    assert all(d.endswith("negates what its quote says, or states what its quote negates") for d in details)


def test_the_prompts_own_examples_of_standing_alone_are_faithful() -> None:
    """extract_claims@2's worked example (context carried over, a shorter span quoted) passes the gate."""
    sentence = "The company employs 4,000 people there, a spokesman said, and output fell 12% last year."
    support = Support.of(["Acme Corp. said on Monday it would close two plants.", sentence], {1: sentence})
    examples = [
        ("The company employs 4,000 people there",
         "An Acme Corp. spokesman said that Acme employs 4,000 people at the two plants it plans to close."),
        ("output fell 12% last year",
         "Output at Acme Corp.'s two plants fell 12% in the year before the closures were announced."),
    ]  # fmt: skip
    for quote, text in examples:
        claim = ModelClaim(sentence_ids=[1], quote=quote, text=text, type="other", checkworthiness=0.8)
        grounded = GroundedClaim(claim, 1, (1,), 0, len(quote), quote, Producer("m", "m"))
        assert faithfulness.unfaithfulness(grounded, support) is None


def test_the_hostile_sets_claims_are_dropped_and_the_offline_models_kept() -> None:
    """Of the golden articles' pasted and negated claims the gate keeps few; of the offline model's, all it kept."""
    count = count_files(sorted(GOLDEN.glob("*.yaml")))
    assert count.pasted >= 200 and count.negated >= 200  # noqa: PT018 - both kinds made
    assert count.pasted_kept <= count.pasted * 0.1  # 17 of 226 when written (226 of 226 before)
    assert count.negated_kept <= count.negated * 0.02  # 1 of 227 when written (227 of 227 before)


def test_a_bracketed_name_is_accepted_when_the_chunk_names_it() -> None:
    """Context in brackets must be supported like any name; the rest must come from the quote."""
    quote = "The conversation garnered an audience as large as 1,324,994 people after a 42-minute delay."
    shown = Support.of([*SHOWN_TEXTS, quote], {1: quote})
    carried = "The conversation [between Donald Trump and Elon Musk] garnered an audience as large as 1,324,994 people."
    invented = (
        "The conversation [between Anthony Fauci and Elon Musk] garnered an audience as large as 1,324,994 people."
    )
    kept, notices = check_faithfulness(
        [grounded(carried, None, quote), grounded(invented, None, quote)], shown, "drop", 1
    )
    assert [claim.claim.text for claim in kept] == [carried]
    assert notices[0].detail.endswith("does not support: 'Anthony', 'Fauci'")
