"""What turns fact-checks and claims into vectors: the multilingual extra's offline encoder, or an API model.

Both give unit vectors (so a dot product is the cosine). ``name`` says which vector space a vector is in:
vectors the archive stored under another name must be computed again before they are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from service.llm.embeddings import embed_texts
from service.multilingual import OFFLINE_VECTORS
from service.multilingual.encoder import Encoder, Vectors, encoder
from service.settings import ModelEntry
from service.steps.cpu import on_the_cpu_thread

API_BATCH = 256  # texts a request to an embedding API


class Embedder(Protocol):
    """Embeds search queries and the texts searched in, as unit vectors (one row a text)."""

    @property
    def name(self) -> str:
        """Name the vector space (the model), so that vectors of different models are never compared."""
        ...

    async def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed texts asked about (claims, searches)."""
        ...

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed texts searched in (fact-checks)."""
        ...


def unit_rows(rows: Vectors) -> Vectors:
    """Return the rows scaled to length one (a zero row stays zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.where(norms == 0, 1.0, norms), dtype=np.float32)


class OfflineEmbedder:
    """The multilingual extra's encoder (multilingual-e5-small, in process), run on the CPU thread."""

    def __init__(self, model: Encoder) -> None:
        self._model = model

    @classmethod
    def installed(cls) -> OfflineEmbedder | None:
        """Return the offline embedder, or ``None`` where the multilingual extra is not installed."""
        model = encoder()
        return None if model is None else cls(model)

    @property
    def name(self) -> str:
        """Name the offline model's vector space."""
        return OFFLINE_VECTORS

    async def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed claims or searches, off the event loop."""
        batch = list(texts)
        return await on_the_cpu_thread(lambda: self._model.queries(batch))

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed fact-checks, off the event loop."""
        batch = list(texts)
        return await on_the_cpu_thread(lambda: self._model.passages(batch))


class LiteLLMEmbedder:
    """A configured embedding model (``litellm_params`` as for chat models), called through litellm."""

    def __init__(self, entry: ModelEntry, *, timeout_s: float = 60.0) -> None:
        self._entry = entry
        self._timeout_s = timeout_s

    @property
    def name(self) -> str:
        """Name the configured model's vector space (its litellm model string)."""
        return str(self._entry.litellm_params["model"])

    async def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed claims or searches."""
        return await self._embed(texts)

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed fact-checks, in batches of ``API_BATCH``."""
        return await self._embed(texts)

    async def _embed(self, texts: Sequence[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), API_BATCH):
            rows.extend(await embed_texts(self._entry, texts[start : start + API_BATCH], timeout_s=self._timeout_s))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return unit_rows(np.asarray(rows, dtype=np.float32))
