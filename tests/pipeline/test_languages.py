"""Articles in 26 languages and 13 scripts, sent with no language: detected, segmented and every sentence grounded."""

from __future__ import annotations

from pathlib import Path

import respx

from tests.conftest import OPENAI_URL
from tests.languages import claim_every_sentence, language_rows, load_articles

MIN_LANGUAGES = 10
MIN_SCRIPTS = 8


def test_the_test_articles_span_ten_languages_and_eight_scripts() -> None:
    """The articles cover at least ten languages written in at least eight scripts."""
    articles = load_articles()
    assert len({article["language"] for article in articles}) >= MIN_LANGUAGES
    assert len({article["script"] for article in articles}) >= MIN_SCRIPTS


async def test_every_article_is_detected_segmented_and_grounded_in_its_own_language(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """With no language given, each article's language is detected, its sentences read, and each one grounded."""
    http_mock.post(OPENAI_URL).mock(side_effect=claim_every_sentence)
    rows = await language_rows(tmp_path)
    articles = {article["language"]: article for article in load_articles()}
    for row in rows:
        article = articles[row.language]
        read_as = article.get("known_miss", {}).get("sentences", len(article["sentences"]))
        assert (row.detected, row.sentences, row.grounded) == (row.language, read_as, read_as), row
        assert "language_undetected" not in row.warnings
