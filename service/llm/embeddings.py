"""Embeddings through litellm's ``aembedding``: a configured embedding model's vectors for a batch of texts.

The same door as chat calls: litellm configured once, secrets resolved at call time, transient errors
retried by tenacity (``Retry-After`` honoured), every provider error translated into ``service.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay

from service.llm.client import OUR_PARAMS, configure_litellm
from service.llm.retry_policy import WaitRetryAfter, is_transient
from service.llm.secrets import resolve_secrets
from service.llm.upstream_errors import our_own_bug, translate_error, upstream_error_types
from service.settings import ModelEntry

ATTEMPTS = 4
TOTAL_S = 120.0
MAX_WAIT_S = 20.0


async def embed_texts(entry: ModelEntry, texts: Sequence[str], *, timeout_s: float = 60.0) -> list[list[float]]:
    """Return one embedding a text, in the texts' order, from the model ``entry`` names."""
    if not texts:
        return []
    provider = {key: value for key, value in resolve_secrets(entry).items() if key not in OUR_PARAMS}
    arguments = {**provider, "input": list(texts), "timeout": timeout_s, "num_retries": 0, "max_retries": 0}
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(TOTAL_S),
        wait=WaitRetryAfter(MAX_WAIT_S),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            response = await _embed_once(entry, arguments)
    return _rows_in_order(response, len(texts))


async def _embed_once(entry: ModelEntry, arguments: dict[str, Any]) -> Any:
    """Make one ``aembedding`` call, translating the provider's errors (never our own bugs)."""
    litellm = configure_litellm()
    try:
        return await litellm.aembedding(**arguments)
    except upstream_error_types() as exc:
        bug = our_own_bug(exc)
        if bug is not None:
            raise bug from None
        raise translate_error(exc, entry, "prompt") from exc


def _rows_in_order(response: Any, expected: int) -> list[list[float]]:
    """Return the response's embeddings sorted by their ``index``, checking that there is one a text."""
    rows = sorted(response.data, key=lambda item: item["index"])
    if len(rows) != expected:
        raise ValueError(f"the embedding model returned {len(rows)} vectors for {expected} texts")
    return [[float(value) for value in row["embedding"]] for row in rows]
