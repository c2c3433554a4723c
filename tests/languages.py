"""Articles in many languages and scripts through the real pipeline, with a model that cites every sentence.

What issue 22 asks to be shown: for each article of ``tests/data/languages/articles.yaml``, sent with no
``language``, the language detected, the sentences read and the claims grounded, when a model (OpenAI-shaped,
served by respx on the real litellm → httpx path) makes one claim of every sentence it is shown, quoting it
whole. ``tests/pipeline/test_languages.py`` holds these figures to the articles' own; print the table with

    .venv/bin/python -m tests.languages
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import respx
import yaml

from schemas import Article, ExtractionRequest
from service.pipeline.build import build_pipeline
from service.steps.reading import read_sentences
from service.steps.text import normalize_text
from tests.conftest import OPENAI_TEST_KEY, OPENAI_URL, hosted_settings
from tests.providers import openai_chat_completion, sentence_lines

ARTICLES = Path(__file__).parent / "data" / "languages" / "articles.yaml"


@dataclass(frozen=True)
class LanguageRow:
    """One article's figures: the language written and detected, sentences expected and read, claims grounded."""

    language: str
    script: str
    detected: str
    expected_sentences: int
    sentences: int
    grounded: int
    warnings: tuple[str, ...]


def load_articles() -> list[dict[str, Any]]:
    """Return the multilingual test articles, each with its ``text`` joined from its sentences."""
    articles = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))
    for article in articles:
        article["text"] = article.get("joiner", " ").join(article["sentences"])
    return list(articles)


def claim_every_sentence(request: httpx.Request) -> httpx.Response:
    """Answer as a model that makes a claim of every sentence it is shown, quoting the sentence whole."""
    claims = [
        {
            "sentence_ids": [number],
            "quote": text,
            "text": text,
            "type": "other",
            "claimant": None,
            "attribution": "author",
            "checkworthiness": 0.5,
        }
        for number, text in sentence_lines(request)
    ]
    return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": claims}, ensure_ascii=False)))


async def language_rows(cache_dir: Path) -> list[LanguageRow]:
    """Extract every test article with no language given; respx must be mocking the OpenAI route."""
    pipeline = build_pipeline(hosted_settings(cache_dir))
    rows = []
    try:
        for article in load_articles():
            request = ExtractionRequest(article=Article(text=article["text"]))
            result = await pipeline.extract(request)
            assert result.article is not None
            read = Article(text=article["text"], language=result.article.language)
            sentences = read_sentences(normalize_text(article["text"]).text, read)
            rows.append(
                LanguageRow(
                    language=article["language"],
                    script=article["script"],
                    detected=result.article.language,
                    expected_sentences=len(article["sentences"]),
                    sentences=len(sentences),
                    grounded=len(result.claims),
                    warnings=tuple(warning.code for warning in result.warnings),
                )
            )
    finally:
        await pipeline.close()
    return rows


def table(rows: list[LanguageRow]) -> str:
    """Return the rows as a Markdown table."""
    lines = [
        "| written in | script | detected | sentences (written) | sentences read | claims grounded |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.language} | {row.script} | {row.detected} | {row.expected_sentences} | {row.sentences} "
            f"| {row.grounded} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Print the table, the model mocked by respx as in the tests (no network, no key)."""
    os.environ["OPENAI_API_KEY"] = OPENAI_TEST_KEY
    with tempfile.TemporaryDirectory() as scratch, respx.mock(assert_all_mocked=True) as router:
        router.post(OPENAI_URL).mock(side_effect=claim_every_sentence)
        rows = asyncio.run(language_rows(Path(scratch)))
    sys.stdout.write(table(rows) + "\n")


if __name__ == "__main__":
    main()
