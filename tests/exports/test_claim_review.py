"""Tests of ``service/exports/claim_review.py``: the sample's claims as schema.org ClaimReview JSON-LD."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas import ExtractionResult
from service.api.app import create_app
from service.exports.claim_review import claim_reviews, claimant
from service.settings import Settings

ROOT = Path(__file__).parents[2]
SAMPLE = json.loads((ROOT / "examples" / "sample-request.json").read_text(encoding="utf-8"))
# schema.org's properties of each type used, and Google's ClaimReview documentation's required (R) and
# recommended (r) ones: ClaimReview claimReviewed (r), itemReviewed (r); Claim author (r), datePublished (r),
# appearance (r), firstAppearance (r); reviewRating, url and author of the review (R) are the rater's to add
VOCABULARY = {
    "ClaimReview": {"@type", "@id", "claimReviewed", "itemReviewed", "reviewRating", "url", "author", "datePublished"},
    "Claim": {"@type", "@id", "identifier", "text", "author", "datePublished", "appearance", "firstAppearance",
              "inLanguage"},
    "NewsArticle": {"@type", "url", "headline", "datePublished", "text", "inLanguage"},
    "Person": {"@type", "name"},
    "Organization": {"@type", "name"},
}  # fmt: skip


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    """The JSON-LD reply to the README's sample request."""
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d"))) as client:
        reply = client.post("/v1/extractions", json=SAMPLE, headers={"Accept": "application/ld+json"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/ld+json")
    found: dict[str, Any] = reply.json()
    return found


def test_every_claim_is_an_unrated_claim_review_of_a_claim_where_it_appears(document: dict[str, Any]) -> None:
    """27 ClaimReviews; each reviews its Claim: text, language, date, and the article's URL with the quote."""
    article = SAMPLE["article"]
    reviews = document["@graph"]
    assert document["@context"] == "https://schema.org"
    assert len(reviews) == 27
    for review in reviews:
        claim = review["itemReviewed"]
        assert (review["@type"], claim["@type"]) == ("ClaimReview", "Claim")
        assert review["claimReviewed"] == claim["text"]
        assert "reviewRating" not in review  # unrated: a fact-checker rates it
        assert (claim["datePublished"], claim["inLanguage"]) == ("2024-08-13", "en")
        appearance = claim["appearance"]
        assert (appearance["url"], appearance["headline"]) == (article["url"], article["title"])
        assert appearance["text"] in article["text"]  # the verbatim quote


def test_the_shape_uses_schema_org_s_properties_only(document: dict[str, Any]) -> None:
    """Every property of every node is one schema.org gives its type (a typo would be dropped by consumers)."""

    def check(node: dict[str, Any]) -> None:
        assert set(node) <= VOCABULARY[node["@type"]], node["@type"]
        for value in node.values():
            if isinstance(value, dict):
                check(value)

    for review in document["@graph"]:
        check(review)


def test_claimants_are_people_or_organizations(document: dict[str, Any]) -> None:
    """The FBI's report is an Organization's claim; Trump's, a Person's."""
    authors = {review["itemReviewed"].get("author", {}).get("name"): review["itemReviewed"].get("author", {})
               for review in document["@graph"]}  # fmt: skip
    assert claimant("FBI") == {"@type": "Organization", "name": "FBI"}
    assert claimant("Trump") == {"@type": "Person", "name": "Trump"}
    assert claimant(None) is None
    assert {author["@type"] for author in authors.values() if author} <= {"Person", "Organization"}


def test_a_job_s_results_come_as_claim_reviews_too(tmp_path: Path) -> None:
    """`Accept: application/ld+json` on a job's results: every finished article's claims, one graph."""
    settings = Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d")
    with TestClient(create_app(settings)) as client:
        job = client.post("/v1/jobs", json={"requests": [SAMPLE, SAMPLE]}).json()
        for _ in range(200):
            if client.get(f"/v1/jobs/{job['id']}").json()["state"] == "succeeded":
                break
        reply = client.get(f"/v1/jobs/{job['id']}/results", headers={"Accept": "application/ld+json"})
    assert reply.headers["content-type"].startswith("application/ld+json")
    assert len(reply.json()["@graph"]) == 54


def test_a_transcript_s_speakers_are_people_and_a_description_is_not_an_organization() -> None:
    """TRUMP, HARRIS, WALZ (transcript labels) are Persons; "Elon Musk, who runs the company" too; NATO, FBI are not."""
    assert claimant("TRUMP") == {"@type": "Person", "name": "TRUMP"}
    assert [claimant(name)["@type"] for name in ("HARRIS", "WALZ", "BUSH", "CRUZ")] == ["Person"] * 4  # type: ignore[index]
    assert [claimant(name)["@type"] for name in ("FBI", "ONS", "NASA")] == ["Organization"] * 3  # type: ignore[index]
    assert claimant("Elon Musk, who runs the company")["@type"] == "Person"  # type: ignore[index]
    assert claimant("NATO")["@type"] == "Organization"  # type: ignore[index]
    assert claimant("the Census Bureau")["@type"] == "Organization"  # type: ignore[index]


def test_an_article_url_that_is_no_web_link_is_a_422_and_never_exported(tmp_path: Path) -> None:
    """A ``javascript:`` article URL is a 422 naming it; a result stored before that rule exports no such link."""
    hostile = {"article": {**SAMPLE["article"], "url": "javascript:alert(1)"}}
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d"))) as client:
        refused = client.post("/v1/extractions", json=hostile, headers={"Accept": "application/ld+json"})
        reply = client.post("/v1/extractions", json=SAMPLE)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "article.url" in refused.json()["detail"]
    assert "javascript: is refused" in refused.json()["detail"]
    stored = ExtractionResult.model_validate(reply.json())  # as a job store reads a result written before the rule
    stored.article = stored.article.model_copy(update={"url": "javascript:alert(1)"})  # type: ignore[union-attr]
    graph = claim_reviews([stored])["@graph"]
    assert len(graph) == 27
    assert all("url" not in review["itemReviewed"]["appearance"] for review in graph)
    assert all(review["itemReviewed"]["appearance"]["headline"] == SAMPLE["article"]["title"] for review in graph)


REVIEW = {
    "@type": "ClaimReview", "url": "https://fc.example/crime", "name": "Is violent crime down 15.2%?",
    "claimReviewed": "The FBI's quarterly report says violent crime is down 15.2% in early 2024",
    "reviewRating": {"@type": "Rating", "alternateName": "Mostly True"},
    "author": {"@type": "Organization", "name": "PolitiFact"}, "datePublished": "2024-08-14", "inLanguage": "en",
}  # fmt: skip
CITED = {
    "@type": "ClaimReview", "claimReviewed": REVIEW["claimReviewed"], "url": "https://fc.example/crime",
    "name": "Is violent crime down 15.2%?", "datePublished": "2024-08-14", "inLanguage": "en",
    "reviewRating": {"@type": "Rating", "alternateName": "Mostly True"},
    "author": {"@type": "Organization", "name": "PolitiFact"},
}  # fmt: skip


@pytest.fixture
def matched(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The sample's claims matched against an archive of one fact-check: as ClaimReview JSON-LD, and as CSV rows."""
    asked = {**SAMPLE, "options": {**SAMPLE.get("options", {}), "match_factchecks": True}}
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d"))) as client:
        assert client.post("/v1/factchecks", json=REVIEW).json()["imported"] == 1
        document = client.post("/v1/extractions", json=asked, headers={"Accept": "application/ld+json"}).json()
        table = client.post("/v1/extractions", json=asked, headers={"Accept": "text/csv"}).text
    return document, list(csv.DictReader(io.StringIO(table)))


def test_a_claim_checked_before_cites_the_earlier_review_and_csv_carries_the_best(
    matched: tuple[dict[str, Any], list[dict[str, str]]],
) -> None:
    """The 15.2% claim's review cites the archive's ClaimReview; matched claims' CSV rows carry its URL, rating."""
    document, rows = matched
    crime = next(node for node in document["@graph"] if "15.2%" in node["claimReviewed"])
    assert crime["citation"] == [CITED]
    cited = {node["claimReviewed"] for node in document["@graph"] if "citation" in node}
    marked = {row["text"]: (row["fact_check_url"], row["fact_check_rating"]) for row in rows if row["fact_check_url"]}
    assert set(marked) == cited
    assert set(marked.values()) == {("https://fc.example/crime", "Mostly True")}


def test_claims_that_repeat_no_fact_check_cite_none(matched: tuple[dict[str, Any], list[dict[str, str]]]) -> None:
    """Only the 15.2% claim repeats the archive's one fact-check: no other claim's review cites it."""
    document, _rows = matched
    cited = [node["claimReviewed"] for node in document["@graph"] if "citation" in node]
    assert len(cited) == 1
    assert "15.2%" in cited[0]
