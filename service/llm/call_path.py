"""What litellm does on every call that the service never uses, turned off once (``trim_call_path``).

After each successful call litellm queues its success logging on a background worker: it copies the call's
context, builds a standard logging payload (messages, response, timings, metadata) and prices the reply a
second time, for callbacks (Langfuse, S3, a proxy's spend log) that the service never registers. litellm
1.106.2 has no switch for it, so the worker's enqueue is wrapped here: while no callback is registered
anywhere in litellm, the queued coroutine is closed unrun; once one is, everything is queued as before.
The reply's own cost (``_hidden_params["response_cost"]``, what ``cost_usd`` reports) is set before the
logging is queued and is untouched. Measured against a fake provider: about 1.5-2.5 ms of CPU a call
(``benchmarks/breakdown.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger("claims.llm")
CALLBACK_LISTS = ("callbacks", "success_callback", "_async_success_callback", "failure_callback")


def has_callbacks(litellm: Any) -> bool:
    """Say whether anything is registered to hear litellm's calls (then its logging must run)."""
    return any(getattr(litellm, name, None) for name in CALLBACK_LISTS)


def trim_call_path(litellm: Any) -> bool:
    """Stop litellm queuing success logging that no callback reads; return whether it could be done."""
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
    except ImportError:  # another litellm: leave its call path as it is
        logger.debug("litellm has no logging worker here; its success logging stays on")
        return False
    worker = GLOBAL_LOGGING_WORKER
    enqueue: Callable[[Coroutine[Any, Any, Any]], None] = worker.ensure_initialized_and_enqueue
    if getattr(enqueue, "trimmed", False):
        return True

    def enqueue_when_heard(async_coroutine: Coroutine[Any, Any, Any]) -> None:
        if has_callbacks(litellm):
            enqueue(async_coroutine)
        else:
            async_coroutine.close()  # never started: nothing to clean up, no "never awaited" warning

    enqueue_when_heard.trimmed = True  # type: ignore[attr-defined]
    worker.ensure_initialized_and_enqueue = enqueue_when_heard  # type: ignore[method-assign]
    return True


class TokenizerOnDemand:
    """Stands in for litellm's default tokenizer and loads it the first time anything reads it."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._tokenizer: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._tokenizer is None:
            self._tokenizer = self._load()
        return getattr(self._tokenizer, name)


def defer_tokenizer(litellm: Any) -> bool:
    """Keep litellm from loading tiktoken's cl100k (~40 MB resident) on a call that never reads it.

    litellm 1.106.2 hands its default tokenizer to every custom provider's call (the offline model is one,
    and the warm-up calls it), loading it on the first such call; the offline model counts no tokens with
    it. A stand-in goes where litellm caches the tokenizer, and loads the real one only if it is read.
    Return whether it could be done (another litellm may keep its tokenizer elsewhere).
    """
    main = getattr(litellm, "main", None)
    if main is None or "_encoding_cache" not in vars(main):
        logger.debug("litellm keeps its tokenizer elsewhere here; it loads as litellm decides")
        return False
    if main._encoding_cache is None:
        from litellm._lazy_imports import get_default_encoding

        main._encoding_cache = TokenizerOnDemand(get_default_encoding)
    return True
