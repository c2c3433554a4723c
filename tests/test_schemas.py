"""Tests of ``schemas/``: the exported JSON Schema files match the models, and requests are validated strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import ExtractionRequest
from schemas.export import EXPORTED, SCHEMA_DIR, render_schema, schema_path


def request_with(article: dict[str, Any] | None = None, **top_level: Any) -> dict[str, Any]:
    """Return a valid request body with article fields and top-level keys overridden."""
    return {"article": {"text": "Violent crime is down 15.2%.", **(article or {})}, **top_level}


def error_locations(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """Return the locations of the validation errors of ``body`` as a request."""
    with pytest.raises(ValidationError) as caught:
        ExtractionRequest.model_validate(body)
    return [error["loc"] for error in caught.value.errors()]


def test_every_exported_model_has_a_schema_file_and_no_file_is_stray() -> None:
    """The JSON Schema directory holds exactly one file per exported model."""
    assert sorted(SCHEMA_DIR.glob("*.schema.json")) == sorted(schema_path(name) for name in EXPORTED)


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_schema_file_matches_its_model(name: str) -> None:
    """Each exported schema file is what its pydantic model renders today."""
    path = schema_path(name)

    assert path.read_text(encoding="utf-8") == render_schema(EXPORTED[name]), (
        f"{path.relative_to(Path(__file__).parents[1])} is out of date with its model; "
        "run `python -m schemas.export` and commit the result"
    )


def test_minimal_request_gets_documented_defaults() -> None:
    """A request with only article text validates, with every default filled in."""
    request = ExtractionRequest.model_validate({"article": {"text": "Violent crime is down 15.2%."}})

    assert request.model_dump(mode="json") == {
        "article": {
            "id": None,
            "title": None,
            "text": "Violent crime is down 15.2%.",
            "url": None,
            "published_at": None,
            "language": None,
            "metadata": {},
            "format": "auto",
        },
        "options": {
            "model": None,
            "prompt": None,
            "min_checkworthiness": 0.0,
            "claim_types": None,
            "cache": True,
            "claim_language": None,
            "match_factchecks": None,
        },
    }


def test_full_request_from_the_design_validates() -> None:
    """The request example in DESIGN §3 is a valid request."""
    body = {
        "article": {
            "id": "cnn-2024-08-13-musk",
            "title": "Trump and Musk talk on X",
            "text": "Violent crime is down 15.2%.",
            "url": "https://edition.cnn.com/2024/08/13/politics/trump-musk-x",
            "published_at": "2024-08-13T02:00:00Z",
            "language": "en-GB",
            "metadata": {"desk": "politics"},
            "format": "prose",
        },
        "options": {
            "model": "default",
            "prompt": "extract_claims@1",
            "min_checkworthiness": 0.5,
            "claim_types": ["quantity", "causal"],
            "cache": False,
            "claim_language": "es",
            "match_factchecks": True,
        },
    }

    request = ExtractionRequest.model_validate(body)

    assert request.model_dump(mode="json") == body


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n"])
def test_request_without_real_text_is_refused(text: str) -> None:
    """Empty or blank article text is refused at ``article.text``."""
    assert error_locations(request_with({"text": text})) == [("article", "text")]


def test_request_missing_text_is_refused() -> None:
    """An article without ``text`` is refused at ``article.text``."""
    assert error_locations({"article": {"title": "No body"}}) == [("article", "text")]


def test_request_missing_article_is_refused() -> None:
    """A body without ``article`` is refused."""
    assert error_locations({"options": {}}) == [("article",)]


@pytest.mark.parametrize(
    ("body", "location"),
    [
        pytest.param(request_with(extra=True), ("extra",), id="top-level"),
        pytest.param(request_with({"body": "text in the wrong field"}), ("article", "body"), id="article"),
        pytest.param(request_with(options={"temperature": 0}), ("options", "temperature"), id="options"),
    ],
)
def test_request_with_unknown_fields_is_refused(body: dict[str, Any], location: tuple[str, ...]) -> None:
    """Unknown fields are refused, wherever they are, rather than silently ignored."""
    assert error_locations(body) == [location]


@pytest.mark.parametrize("value", [-0.01, 1.01, 2])
def test_checkworthiness_threshold_out_of_range_is_refused(value: float) -> None:
    """``min_checkworthiness`` must be within 0 and 1."""
    assert error_locations(request_with(options={"min_checkworthiness": value})) == [("options", "min_checkworthiness")]


@pytest.mark.parametrize("value", [0, 1, 0.5])
def test_checkworthiness_threshold_bounds_are_accepted(value: float) -> None:
    """``min_checkworthiness`` accepts 0, 1 and values between."""
    request = ExtractionRequest.model_validate(request_with(options={"min_checkworthiness": value}))

    assert request.options.min_checkworthiness == value


@pytest.mark.parametrize(
    "prompt", ["Extract_claims@1", "extract_claims@0", "extract_claims@", "extract claims", "@1", "1extract", "x@v1"]
)
def test_bad_prompt_ref_is_refused(prompt: str) -> None:
    """``options.prompt`` must be ``name`` or ``name@N`` with N from 1."""
    assert error_locations(request_with(options={"prompt": prompt})) == [("options", "prompt")]


@pytest.mark.parametrize("prompt", ["extract_claims", "extract_claims@1", "extract_claims@12"])
def test_good_prompt_refs_are_accepted(prompt: str) -> None:
    """A bare name or ``name@N`` is a valid prompt ref."""
    assert ExtractionRequest.model_validate(request_with(options={"prompt": prompt})).options.prompt == prompt


def test_unknown_claim_type_is_refused() -> None:
    """``claim_types`` only takes Full Fact's types."""
    assert error_locations(request_with(options={"claim_types": ["opinion"]})) == [("options", "claim_types", 0)]


@pytest.mark.parametrize("language", ["english", "EN", "e", "en_GB", "en-", "en-abcdefghi", "en" + "-abcdefgh" * 500])
def test_bad_language_tag_is_refused(language: str) -> None:
    """``article.language`` and ``claim_language`` are BCP 47 tags: subtags of at most 8, at most 35 characters."""
    assert error_locations(request_with({"language": language})) == [("article", "language")]
    assert error_locations(request_with(options={"claim_language": language})) == [("options", "claim_language")]


@pytest.mark.parametrize("language", ["en", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "en-GB-oxendict"])
def test_real_language_tags_are_accepted(language: str) -> None:
    """Tags as people write them pass, in the article and as the claims' language."""
    ExtractionRequest.model_validate(request_with({"language": language}, options={"claim_language": language}))


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://example.com/a",
     "//example.com/a", "https://", "https://www.example.com/a b", "https://www.example.com/\n", "example.com"],
)  # fmt: skip
def test_an_article_url_other_than_http_or_https_is_refused(url: str) -> None:
    """``article.url`` is copied into exports as a link: anything but an http(s) URL with a host is refused."""
    assert error_locations(request_with({"url": url})) == [("article", "url")]


@pytest.mark.parametrize(
    "url", ["https://www.example.com/2024/08/13/story", "http://example.com", "HTTPS://Example.com/a?b=1#c"]
)
def test_http_and_https_article_urls_are_kept_as_sent(url: str) -> None:
    """An http(s) URL is accepted and kept as sent, not normalised."""
    assert ExtractionRequest.model_validate(request_with({"url": url})).article.url == url
