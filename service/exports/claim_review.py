"""Claims as schema.org JSON-LD: a ``Claim`` each, and an unrated ``ClaimReview`` skeleton for a fact-checker.

The shape follows schema.org and Google's ClaimReview documentation: each ``ClaimReview`` names the claim it
reviews (``claimReviewed``) and the ``Claim`` itself (``itemReviewed``): its text, its ``author`` (the
claimant, as a ``Person`` or an ``Organization``), ``datePublished``, ``appearance`` (the article, with its
URL, the verbatim quote and the article's language), ``inLanguage`` (the claim text's: the article's as given
or detected, or the language the claims were translated into). Google requires a ``reviewRating``, ``url``
and ``author`` of the review too: they are the fact-checker's to add once the claim is rated, so the skeleton
leaves them out rather than invent them. ``firstAppearance`` is given only when the claim is known to appear
there first, which an article alone never tells, so it is left out too. The article's URL becomes a link
only when it is http(s): requests refuse any other, and a result stored before they did (a ``javascript:``
URL) is left out.

A claim that matched fact-checks of the archive ("checked before") has them as the review's ``citation``s,
each an earlier ``ClaimReview`` with its URL, rating, author and date, best match first. ``citation`` ("a
reference to another creative work") says what the link is: the earlier review is something a fact-checker
refers to. ``isBasedOn`` would say the new review is derived from it, which nobody decided yet, and the
Claim's ``subjectOf`` would say the earlier review is about this very appearance, which a similarity score
does not establish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from schemas import Claim, ExtractionResult
from schemas.extraction import HTTP_URL
from schemas.factchecks import FactCheckMatch

CONTEXT = "https://schema.org"
MEDIA_TYPE = "application/ld+json"
ORGANIZATION = re.compile(
    r"\b(agency|association|bank|board|bureau|campaign|center|centre|commission|committee|company|corp|council|"
    r"court|department|FBI|foundation|government|group|inc|institute|ltd|ministry|news|office|organi[sz]ation|"
    r"party|police|report|service|survey|union|university)\b",
    re.IGNORECASE,
)
ACRONYM = re.compile(r"^[A-Z]{2,3}$")  # FBI, ONS, GOP; a transcript's WALZ, TRUMP or HARRIS is a person
LONGER_ACRONYMS = frozenset(  # organisations news names by a longer acronym, which a speaker label could be taken for
    (
        "AARP", "AFL-CIO", "ASEAN", "CERN", "FEMA", "FIFA", "INTERPOL", "NAACP", "NASA", "NATO", "NHTSA", "NOAA",
        "OPEC", "OECD", "OSHA", "UNESCO", "UNHCR", "UNICEF", "USAID", "USDA",
    )
)  # fmt: skip


def claimant(name: str | None) -> dict[str, Any] | None:
    """Return the claim's author: an ``Organization`` when the name reads as one (FBI, a bureau), else a ``Person``."""
    if not name:
        return None
    named = name.split(",", 1)[0].strip()  # "Elon Musk, who runs the company": the name, not the description
    organization = ORGANIZATION.search(named) or ACRONYM.match(named) or named in LONGER_ACRONYMS
    return {"@type": "Organization" if organization else "Person", "name": name}


def link(url: str | None) -> str | None:
    """Return the URL when it is an http(s) one, a link a reader may follow; None for any other (``javascript:``)."""
    return url if url is not None and re.fullmatch(HTTP_URL, url) else None


def claim_node(claim: Claim, result: ExtractionResult) -> dict[str, Any]:
    """Return the schema.org ``Claim`` of one extracted claim, with where it appears."""
    article = result.article
    appearance: dict[str, Any] = {"@type": "NewsArticle", "text": claim.source.quote}
    node: dict[str, Any] = {"@type": "Claim", "@id": f"#{claim.id}", "identifier": claim.id, "text": claim.text}
    if article is not None:
        appearance |= {key: value for key, value in (("url", link(article.url)), ("headline", article.title)) if value}
        if article.published_at is not None:
            appearance["datePublished"] = node["datePublished"] = article.published_at.date().isoformat()
        node["inLanguage"] = article.claim_language or article.language  # the claim's text's language
        appearance["inLanguage"] = article.language  # the article's, as given or detected
    author = claimant(claim.claimant)
    if author is not None:
        node["author"] = author
    node["appearance"] = appearance
    return node


def earlier_review(match: FactCheckMatch) -> dict[str, Any]:
    """Return a fact-check the claim matched as the ``ClaimReview`` it was published as."""
    node: dict[str, Any] = {"@type": "ClaimReview", "claimReviewed": match.claim_reviewed}
    if link(match.url):
        node["url"] = match.url
    optional = (("name", match.title), ("datePublished", match.date_published), ("inLanguage", match.language))
    node |= {key: value for key, value in optional if value}
    if match.rating:
        node["reviewRating"] = {"@type": "Rating", "alternateName": match.rating}
    if match.publisher:
        node["author"] = {"@type": "Organization", "name": match.publisher}
    return node


def claim_review(claim: Claim, result: ExtractionResult) -> dict[str, Any]:
    """Return the unrated ``ClaimReview`` of one claim: what is reviewed, ready for a rating; earlier reviews cited."""
    review: dict[str, Any] = {
        "@type": "ClaimReview",
        "@id": f"#review-{claim.id}",
        "claimReviewed": claim.text,
        "itemReviewed": claim_node(claim, result),
    }
    if claim.fact_checks:
        review["citation"] = [earlier_review(match) for match in claim.fact_checks]
    return review


def claim_reviews(results: Iterable[ExtractionResult]) -> dict[str, Any]:
    """Return one JSON-LD document holding a ``ClaimReview`` for every claim of the results."""
    return {
        "@context": CONTEXT,
        "@graph": [claim_review(claim, result) for result in results for claim in result.claims],
    }
