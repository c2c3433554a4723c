"""Tests of ``service/evaluation/factcheck_matching.py`` and its data reader, on a small CLEF-shaped folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.evaluation.factcheck_data import URL_PREFIX, read_claim_matching
from service.evaluation.factcheck_matching import (
    PREVIOUS_THRESHOLD,
    evaluate,
    evaluate_cross_language,
    main,
    score_tweets,
    sentences_of,
    set_aside,
)
from service.evaluation.metrics import average_precision_at
from service.factchecks.features import LEXICAL_FEATURES
from service.factchecks.matching import MATCH_THRESHOLD, FactCheckMatcher

DOCS = """\tvclaim\ttitle
0\tThe Eiffel Tower was sold to a Chinese company.\tWas the Eiffel Tower Sold?
1\t"Drinking bleach cures the flu, a doctor
said on television."\tDoes Bleach Cure the Flu?
2\tA shark swam on a flooded highway after the hurricane.\tShark on a Highway
3\tThe Moon landing in 1969 was filmed in a studio.\tWas the Moon Landing Faked?
"""
PAIRS = Path(__file__).parents[1] / "data" / "factchecks" / "cross_language_pairs.json"


@pytest.fixture
def clef_folder(tmp_path: Path) -> Path:
    """A folder shaped like the CLEF 2020 claim-retrieval data: four fact-checks, two tweets a split."""
    (tmp_path / "verified_claims.docs.tsv").write_text(DOCS, encoding="utf-8")
    tweets = {
        "train": ["a\tThey SOLD the Eiffel Tower to a Chinese company!! https://t.co/x", "b\tbleach cures flu?"],
        "dev": [
            "c\tshark swimming on the highway after the hurricane pic.twitter.com/abc",
            "d\tmoon landing 1969 studio",
        ],
    }
    qrels = {"train": ["a 0 0 1", "b 0 1 1"], "dev": ["c 0 2 1", "d 0 3 1"]}
    for split in ("train", "dev"):
        (tmp_path / split).mkdir()
        (tmp_path / split / "tweets.queries.tsv").write_text("\ttweet_content\n" + "\n".join(tweets[split]) + "\n")
        (tmp_path / split / "tweet-vclaim-pairs.qrels").write_text("\n".join(qrels[split]) + "\n")
    return tmp_path


def test_the_reader_keeps_quoted_claims_that_span_lines(clef_folder: Path) -> None:
    """A quoted fact-check spanning two lines is one fact-check; qrels become fact-check urls."""
    data = read_claim_matching(clef_folder)
    assert len(data.fact_checks) == 4
    assert data.fact_checks[1].claim_reviewed == "Drinking bleach cures the flu, a doctor\nsaid on television."
    assert data.tweets["dev"][0].relevant == frozenset({URL_PREFIX + "2"})


async def test_evaluation_reports_each_lexical_ranking(clef_folder: Path) -> None:
    """On tweets that repeat their fact-check, lexical MAP@5 is 1 and the candidates hold every gold."""
    report = await evaluate(read_claim_matching(clef_folder), "dev", cache=None, lexical_only=True)
    assert report["map_at_5"] == {"lexical (BM25)": 1.0, "lexical + re-rank (default install)": 1.0}
    assert report["candidate_recall"] == {"lexical": 1.0}


def add_a_tweet_with_an_impostor(clef_folder: Path) -> None:
    """Add a dev tweet that repeats the Eiffel Tower review and shares a word ("shark") with another one."""
    with (clef_folder / "dev" / "tweets.queries.tsv").open("a") as tweets:
        tweets.write("e\tThe Eiffel Tower was sold to a Chinese company, like a shark would\n")
    with (clef_folder / "dev" / "tweet-vclaim-pairs.qrels").open("a") as qrels:
        qrels.write("e 0 0 1\n")


async def test_checked_before_is_measured_on_golds_and_impostors(clef_folder: Path) -> None:
    """A tweet's gold is a positive, its impostor (first once the gold is set aside) a negative; both ways scored.

    By the match model at ``MATCH_THRESHOLD``, and as before, by the re-ranker at 0.6.
    """
    add_a_tweet_with_an_impostor(clef_folder)
    report = await evaluate(read_claim_matching(clef_folder), "dev", cache=None, lexical_only=True, sweep=True)
    checked = report["checked_before_lexical"]
    assert isinstance(checked, dict)
    now, before = checked["match_model"], checked["reranker_before"]
    assert now["threshold"] == MATCH_THRESHOLD
    assert before["threshold"] == PREVIOUS_THRESHOLD
    assert now["positives"] == before["positives"] == 3
    assert now["negatives"] == before["negatives"] == 1  # only tweet e has another candidate: the shark review
    assert now["recall"] == 1.0
    assert now["negatives_marked"] == 0.0
    assert [row["threshold"] for row in checked["match_model_sweep"]][:2] == [0.1, 0.15]


def test_an_impostor_is_chosen_as_if_the_gold_were_never_archived(clef_folder: Path) -> None:
    """Setting the gold aside makes the best other candidate first: its relative BM25 is 1, its rank first."""
    add_a_tweet_with_an_impostor(clef_folder)
    data = read_claim_matching(clef_folder)
    matcher = FactCheckMatcher()
    matcher.upsert(data.fact_checks)
    item = score_tweets(matcher, data.tweets["dev"][-1:], None)[0]
    assert item.candidates is not None
    assert item.relevant.count(True) == 1
    gold = item.relevant.index(True)
    others = set_aside(item.candidates, [gold])
    assert len(others.slots) == len(item.candidates.slots) - 1 == 1
    assert matcher.url_at(int(others.slots[0])) == URL_PREFIX + "2"
    assert item.candidates.features[1 - gold, LEXICAL_FEATURES.index("bm25_reciprocal_rank")] == 0.5
    assert others.features[0, LEXICAL_FEATURES.index("bm25_relative")] == pytest.approx(1.0)
    assert others.features[0, LEXICAL_FEATURES.index("bm25_reciprocal_rank")] == 1.0


async def test_news_sentences_that_repeat_no_fact_check_are_counted(clef_folder: Path, tmp_path: Path) -> None:
    """Sentences of a text (and of a golden case's ``text``) are searched; none of these is marked checked before."""
    article = tmp_path / "article.txt"
    article.write_text("The city council approved a new budget for public libraries on Tuesday. Too short.\n")
    case = tmp_path / "case.yaml"
    case.write_text("id: x\ntext: |\n  The harbour ferry will run every twenty minutes from next spring.\n")
    sentences = sentences_of([article, case])
    assert sentences == [
        "The city council approved a new budget for public libraries on Tuesday.",
        "The harbour ferry will run every twenty minutes from next spring.",
    ]
    report = await evaluate(read_claim_matching(clef_folder), "dev", cache=None, lexical_only=True, sentences=sentences)
    assert report["news_sentences"] == {"sentences": 2, "marked": 0, "examples": []}


async def test_evaluation_with_embeddings_reports_every_ranking(clef_folder: Path, tmp_path: Path) -> None:
    """With the offline encoder, all five rankings are scored, and the vectors are cached for a second run."""
    data = read_claim_matching(clef_folder)
    report = await evaluate(data, "dev", cache=tmp_path / "cache", lexical_only=False)
    assert set(report["map_at_5"]) == {  # type: ignore[arg-type]
        "lexical (BM25)",
        "embeddings (cosine)",
        "hybrid (RRF, no re-rank)",
        "lexical + re-rank (default install)",
        "hybrid + re-rank (multilingual extra)",
    }
    assert len(list((tmp_path / "cache").glob("vectors-*.npy"))) == 2
    assert await evaluate(data, "dev", cache=tmp_path / "cache", lexical_only=False) == report


async def test_cross_language_pairs_are_found(clef_folder: Path) -> None:
    """Each language's claims are scored against the English reviews among the distractors."""
    spec = json.loads(PAIRS.read_text(encoding="utf-8"))
    report = await evaluate_cross_language(read_claim_matching(clef_folder), spec, cache=None)
    for language in ("es", "fr", "de", "ar"):
        figures = report[language]
        assert isinstance(figures, dict)
        assert figures["claims"] == 10
        assert figures["top1"] >= 0.8, (language, figures)


def test_the_command_prints_json(clef_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m service.evaluation.factcheck_matching`` prints the report as JSON."""
    main(["--data", str(clef_folder), "--lexical-only", "--split", "train"])
    assert json.loads(capsys.readouterr().out)["tweets"] == 2


def test_average_precision_at_five_divides_by_the_relevant_count() -> None:
    """AP@k counts hits within k, over all relevant items (trec_eval's map_cut)."""
    assert average_precision_at([False, True], 1, 5) == 0.5
    assert average_precision_at([True, False, True], 2, 5) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision_at([False] * 5 + [True], 1, 5) == 0.0
    assert average_precision_at([], 0, 5) == 0.0
