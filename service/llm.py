"""The one door to litellm: a structured chat call with retries, error translation, usage and cost.

litellm is imported lazily (it costs ~1.5 s and ~170 MB), configured once (no aiohttp transport, so
httpx, and respx in tests, see every request; no debug banners; the offline provider registered), and
called with its own retries off: tenacity is the one transport-retry loop, on transient errors only,
with exponential backoff and jitter, ``Retry-After`` honoured, bounded by attempts and by total time.
Every litellm exception is translated into ``service.errors`` here and nowhere else. Per model, calls
are bounded in flight (``max_concurrency``) and in rate (``rpm``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay

from service.errors import (
    ContextTooLong,
    StructuredOutputRejected,
    UpstreamAuthError,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from service.retry_policy import WaitRetryAfter, is_transient, retry_after_seconds
from service.secrets import redact, resolve_secrets
from service.settings import ModelEntry, Settings, StructuredOutput
from service.structured_output import STEP_DOWN, auto_mode, reply_text, request_arguments

logger = logging.getLogger("claims.llm")
OUR_PARAMS = frozenset({"rpm", "tpm"})  # LiteLLM-proxy keys we enforce ourselves, never sent to a provider
_MODE_REJECTED = re.compile(r"response_format|json_schema|json_object|schema|tool_choice|\btools?\b|function", re.I)


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """A model's reply text with what it cost and how it was asked."""

    content: str
    finish_reason: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    retries: int
    structured_output: StructuredOutput = "prompt"
    stepped_down_from: StructuredOutput | None = None


@cache
def configure_litellm() -> Any:
    """Import and configure litellm once; return the module."""
    import litellm  # the offline switches were set in service/__init__.py, before any import of it

    from service.offline import register_offline_provider

    litellm.disable_aiohttp_transport = True
    litellm.suppress_debug_info = True
    litellm.drop_params = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)  # not a line per call at the service's INFO level
    register_offline_provider()
    return litellm


def translate_error(exc: Exception, entry: ModelEntry, mode: StructuredOutput) -> UpstreamError:
    """Translate a litellm exception into the service's upstream error (its message redacted)."""
    import litellm.exceptions as lx

    alias = entry.model_name
    status = getattr(exc, "status_code", None)
    message = redact(str(getattr(exc, "message", exc)), entry)[:500]
    retry_after = retry_after_seconds(getattr(exc, "litellm_response_headers", None))
    if isinstance(exc, lx.RateLimitError):
        return UpstreamRateLimited(
            f"model {alias!r} is rate limited upstream", model_alias=alias, retry_after=retry_after
        )
    if isinstance(exc, lx.Timeout):
        return UpstreamTimeout(f"model {alias!r} did not answer in time", model_alias=alias, upstream_status=status)
    if isinstance(exc, lx.AuthenticationError | lx.PermissionDeniedError) or status in (401, 403):
        return UpstreamAuthError(f"upstream authentication failed for model {alias!r}", model_alias=alias)
    if isinstance(exc, lx.ContextWindowExceededError):
        return ContextTooLong(f"model {alias!r}: {message}", model_alias=alias, upstream_status=status)
    if mode != "prompt" and status in (400, 422, 500, 501) and _MODE_REJECTED.search(message):
        return StructuredOutputRejected(
            f"model {alias!r} rejected structured_output {mode} (HTTP {status}: {message})",
            model_alias=alias,
            upstream_status=status,
        )
    if isinstance(exc, lx.BadRequestError | lx.NotFoundError | lx.UnprocessableEntityError) or _is_refusal(status):
        return UpstreamRejected(
            f"model {alias!r} rejected the request: {message}", model_alias=alias, upstream_status=status
        )
    return UpstreamUnavailable(
        f"model {alias!r} is unavailable: {message}", model_alias=alias, upstream_status=status, retry_after=retry_after
    )


def _is_refusal(status: int | None) -> bool:
    """Say whether an HTTP status means the request itself was refused (4xx, but timeouts and rate limits)."""
    return status is not None and 400 <= status < 500 and status not in (408, 409, 425, 429)


def _usage_of(response: Any) -> tuple[int, int]:
    """Return (prompt, completion) tokens of a litellm response, zero where missing."""
    usage = getattr(response, "usage", None)
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)


def _cost_of(litellm: Any, response: Any, entry: ModelEntry) -> float | None:
    """Return the response's cost from litellm's bundled price map, or None when the model is not priced.

    litellm prices each response as it builds it; that figure is used when present. When litellm tried and
    found no price (the key is there, empty) the model is unpriced, and asking the price map again would
    only cost time; the map is asked only when litellm did not try.
    """
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        computed = hidden["response_cost"]
        return None if computed is None else float(computed)
    try:
        return float(litellm.completion_cost(completion_response=response, model=entry.model))
    except Exception:  # litellm raises for models missing from its price map
        return None


async def warm_up() -> None:
    """Import litellm and make one offline call, so that the first request pays no start-up cost."""
    litellm = configure_litellm()
    await litellm.acompletion(model="offline/rules", messages=[{"role": "user", "content": "[S1] Warm-up."}])


class ModelClient:
    """Calls configured models: bounded in flight and in rate, retried, translated, mode stepped down once."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._slots = {
            entry.model_name: asyncio.Semaphore(entry.max_concurrency or settings.max_concurrency)
            for entry in settings.models
        }
        self._rates = {
            entry.model_name: AsyncLimiter(entry.requests_per_minute, 60)
            for entry in settings.models
            if entry.requests_per_minute
        }
        self._modes: dict[str, StructuredOutput] = {}

    def mode_for(self, entry: ModelEntry) -> StructuredOutput:
        """Return how ``entry`` is asked for JSON now (configured, detected, or stepped down)."""
        if entry.model_name not in self._modes:
            self._modes[entry.model_name] = auto_mode(configure_litellm(), entry)
        return self._modes[entry.model_name]

    def _retrying(self) -> AsyncRetrying:
        """Return the transport-retry policy from settings."""
        return AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self._settings.retry_attempts) | stop_after_delay(self._settings.retry_total_s),
            wait=WaitRetryAfter(self._settings.retry_max_wait_s),
            reraise=True,
        )

    def _arguments(self, entry: ModelEntry, messages: list[dict[str, str]], params: Mapping[str, Any]) -> Any:
        """Return the keyword arguments of one litellm call, secrets resolved and our own keys removed."""
        provider = {key: value for key, value in resolve_secrets(entry).items() if key not in OUR_PARAMS}
        arguments = {**params, **provider, "messages": messages, "num_retries": 0, "max_retries": 0}
        arguments.setdefault("timeout", self._settings.request_timeout_s)
        return arguments

    async def _call_once(self, entry: ModelEntry, arguments: dict[str, Any], mode: StructuredOutput) -> Any:
        """Make one litellm call within the model's limits, translating its errors."""
        litellm = configure_litellm()
        rate = self._rates.get(entry.model_name)
        async with self._slots[entry.model_name]:
            if rate is not None:
                await rate.acquire()
            try:
                return await litellm.acompletion(**arguments)
            except Exception as exc:
                raise translate_error(exc, entry, mode) from exc

    async def _call_retried(
        self, entry: ModelEntry, arguments: dict[str, Any], mode: StructuredOutput
    ) -> tuple[Any, int]:
        """Call with transport retries; return the response and how many retries it took."""
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    response = await self._call_once(entry, arguments, mode)
        except UpstreamError as exc:
            exc.retries = attempts - 1
            raise
        return response, attempts - 1

    def _step_down(self, entry: ModelEntry, mode: StructuredOutput, exc: StructuredOutputRejected) -> StructuredOutput:
        """Move an auto-detected model one mode down; a configured mode is kept and the error says what to set."""
        lower = STEP_DOWN[mode]  # "prompt" is never rejected, so every rejected mode has one below it
        if entry.structured_output is not None:
            exc.detail += f"; set structured_output: {lower} for this model"
            raise exc
        logger.warning("%s; using %s from now on (set structured_output: %s to skip this)", exc.detail, lower, lower)
        self._modes[entry.model_name] = lower
        return lower

    async def complete(
        self, entry: ModelEntry, messages: list[dict[str, str]], prompt_params: Mapping[str, Any]
    ) -> ModelAnswer:
        """Ask ``entry`` for a structured reply to ``messages``, retrying transient failures."""
        mode = first_mode = self.mode_for(entry)
        while True:
            arguments = self._arguments(entry, messages, {**prompt_params, **request_arguments(mode, entry)})
            try:
                response, retries = await self._call_retried(entry, arguments, mode)
                break
            except StructuredOutputRejected as exc:
                mode = self._step_down(entry, mode, exc)
        if not getattr(response, "choices", None):  # a 200 with nothing in it: fail over like any provider error
            raise UpstreamError(f"model {entry.model_name!r} replied with no choices", model_alias=entry.model_name)
        choice = response.choices[0]
        prompt_tokens, completion_tokens = _usage_of(response)
        return ModelAnswer(
            content=reply_text(choice.message, mode),
            finish_reason=choice.finish_reason,
            model=entry.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=_cost_of(configure_litellm(), response, entry),
            retries=retries,
            structured_output=mode,
            stepped_down_from=first_mode if mode != first_mode else None,
        )
