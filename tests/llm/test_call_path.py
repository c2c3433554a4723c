"""Tests of ``service/llm/call_path.py``: litellm's success logging runs only when a callback would read it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest
import respx
from litellm.integrations.custom_logger import CustomLogger
from litellm.litellm_core_utils.litellm_logging import Logging

from service.llm.call_path import defer_tokenizer, has_callbacks, trim_call_path
from service.llm.client import configure_litellm
from tests.conftest import OPENAI_URL
from tests.providers import scripted_openai_reply

pytestmark = pytest.mark.usefixtures("provider_keys")
MESSAGES = [{"role": "user", "content": "[S1] Prices rose 3% in May."}]


async def _call_and_settle(litellm: Any) -> Any:
    """Make one OpenAI call through litellm, then let its background logging run."""
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, num_retries=0, max_retries=0)
    await asyncio.sleep(0.2)
    return response


async def test_success_logging_no_callback_reads_is_not_run(
    http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no callback registered, litellm builds no logging payload after a call; the reply keeps its cost."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    litellm = configure_litellm()
    assert not has_callbacks(litellm)
    handled: list[object] = []
    handler = Logging.async_success_handler

    async def counting(self: Logging, *args: Any, **kwargs: Any) -> None:
        handled.append(args)
        await handler(self, *args, **kwargs)

    monkeypatch.setattr(Logging, "async_success_handler", counting)
    response = await _call_and_settle(litellm)
    assert handled == []
    assert response._hidden_params["response_cost"] > 0


async def test_a_registered_callback_still_hears_every_success(
    http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's callback (a CustomLogger in litellm.callbacks) is still told of each successful call."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    litellm = configure_litellm()
    heard: list[object] = []

    class Listener(CustomLogger):  # type: ignore[misc]
        """Records each success litellm reports."""

        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            """Record the response."""
            heard.append(response_obj)

    monkeypatch.setattr(litellm, "callbacks", [Listener()])
    await _call_and_settle(litellm)
    assert len(heard) == 1


def test_trimming_twice_wraps_once() -> None:
    """Configuring again (another pipeline in the same process) does not stack wrappers."""
    litellm = configure_litellm()
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    wrapped = GLOBAL_LOGGING_WORKER.ensure_initialized_and_enqueue
    assert trim_call_path(litellm)
    assert GLOBAL_LOGGING_WORKER.ensure_initialized_and_enqueue is wrapped


TOKENIZER_PROBE = """
import asyncio, sys
from service.llm.client import configure_litellm, warm_up
from service.offline import OFFLINE_MODEL
asyncio.run(warm_up())
litellm = configure_litellm()
reply = litellm.completion(model=OFFLINE_MODEL, messages=[{"role": "user", "content": "[S1] Prices rose 3% in May."}])
assert reply.choices[0].message.content
registry = sys.modules.get("tiktoken.registry")
print("litellm.litellm_core_utils.default_encoding" in sys.modules, len(getattr(registry, "ENCODINGS", {})))
"""


def test_the_offline_model_and_the_warm_up_never_load_litellms_tokenizer() -> None:
    """A fresh process that warms up and calls the offline model does not load tiktoken's cl100k (~40 MB)."""
    done = subprocess.run(  # noqa: S603 -- a fresh interpreter (this one may have loaded it) on a fixed script
        [sys.executable, "-c", TOKENIZER_PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "0"]  # litellm's tokenizer module not run, no encoding loaded


def test_the_stand_in_tokenizer_is_the_real_one_when_read() -> None:
    """Whatever reads litellm's tokenizer gets the real cl100k (from litellm's bundled copy, no network)."""
    litellm = configure_litellm()
    assert defer_tokenizer(litellm)
    tokenizer = litellm.main._get_encoding()
    tokens = tokenizer.encode("Prices rose 3% in May.")
    assert tokens[1:] == [16392, 220, 18, 4, 304, 3297, 13]  # cl100k's ids (" rose", " ", "3", "%", ...)
    assert tokenizer.decode(tokens) == "Prices rose 3% in May."
