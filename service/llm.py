"""The one door to litellm: a structured chat call with retries, error translation, usage and cost.

litellm is imported lazily (it costs ~1.5 s and ~170 MB), configured once (no aiohttp transport, so
httpx, and respx in tests, see every request; no debug banners; the offline provider registered), and
called with its own retries off: tenacity is the one transport-retry loop, on transient errors only,
with exponential backoff and jitter, ``Retry-After`` honoured, bounded by attempts and by total time.
Every litellm exception is translated into ``service.errors`` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from schemas.model_reply import ModelReply
from service.errors import (
    ContextTooLong,
    UpstreamAuthError,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from service.settings import ModelEntry, Settings, StructuredOutput

SECRET_PREFIX = "os.environ/"  # noqa: S105 -- a reference prefix, not a secret
_SECRET_KEYS = re.compile(r"(key|token|secret|password|credential)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """A model's reply text with what it cost."""

    content: str
    finish_reason: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    retries: int


@cache
def configure_litellm() -> Any:
    """Import and configure litellm once; return the module."""
    import litellm  # the offline switches were set in service/__init__.py, before any import of it

    from service.offline import register_offline_provider

    litellm.disable_aiohttp_transport = True
    litellm.suppress_debug_info = True
    litellm.drop_params = True
    register_offline_provider()
    return litellm


def public_params(entry: ModelEntry) -> dict[str, Any]:
    """Return the model's litellm params with every secret-bearing value left out (for cache keys, logs)."""
    return {key: value for key, value in entry.litellm_params.items() if not _SECRET_KEYS.search(key)}


def _resolve_secrets(entry: ModelEntry) -> dict[str, Any]:
    """Return litellm params with ``os.environ/VAR`` references replaced by the variables' values."""
    resolved: dict[str, Any] = {}
    for key, value in entry.litellm_params.items():
        if isinstance(value, str) and value.startswith(SECRET_PREFIX):
            variable = value.removeprefix(SECRET_PREFIX)
            if variable not in os.environ:
                raise UpstreamAuthError(
                    f"model {entry.model_name!r} needs environment variable {variable}, which is not set",
                    model_alias=entry.model_name,
                )
            value = os.environ[variable]
        resolved[key] = value
    return resolved


def _secret_values(entry: ModelEntry) -> list[str]:
    """Return the secret values a message about this model must never show."""
    values = []
    for key, value in _resolve_secrets_quietly(entry).items():
        if isinstance(value, str) and len(value) >= 6 and _SECRET_KEYS.search(key):
            values.append(value)
    return values


def _resolve_secrets_quietly(entry: ModelEntry) -> dict[str, Any]:
    """Resolve secrets as far as the environment allows, for redaction."""
    try:
        return _resolve_secrets(entry)
    except UpstreamAuthError:
        return dict(entry.litellm_params)


def redact(text: str, entry: ModelEntry) -> str:
    """Remove the model's secret values, and anything shaped like an API key, from ``text``."""
    for secret in _secret_values(entry):
        text = text.replace(secret, "[redacted]")
    return re.sub(r"\b(sk|pk|key)-[A-Za-z0-9_\-*]{6,}", "[redacted]", text)


def choose_structured_output(entry: ModelEntry) -> StructuredOutput:
    """Pick how to ask for JSON: the configured mode, else JSON schema where litellm says it is supported."""
    if entry.structured_output is not None:
        return entry.structured_output
    litellm = configure_litellm()
    try:
        supported = bool(litellm.supports_response_schema(model=entry.model))
    except Exception:  # litellm raises for models it does not know
        supported = False
    return "json_schema" if supported else "json_object"


def response_format_for(mode: StructuredOutput) -> Any:
    """Return the ``response_format`` argument for a structured-output mode."""
    if mode == "json_schema":
        return ModelReply
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def _retry_after_seconds(exc: Exception) -> float | None:
    """Read a provider's ``Retry-After`` (in seconds) off a litellm exception, when it sent one."""
    headers: Mapping[str, str] = getattr(exc, "litellm_response_headers", None) or {}
    raw = headers.get("retry-after") if headers else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def translate_error(exc: Exception, entry: ModelEntry) -> UpstreamError:
    """Translate a litellm exception into the service's upstream error (its message redacted)."""
    import litellm.exceptions as lx

    alias = entry.model_name
    status = getattr(exc, "status_code", None)
    message = redact(str(getattr(exc, "message", exc)), entry)[:500]
    if isinstance(exc, lx.RateLimitError):
        return UpstreamRateLimited(
            f"model {alias!r} is rate limited upstream", model_alias=alias, retry_after=_retry_after_seconds(exc)
        )
    if isinstance(exc, lx.Timeout):
        return UpstreamTimeout(f"model {alias!r} did not answer in time", model_alias=alias, upstream_status=status)
    if isinstance(exc, lx.AuthenticationError | lx.PermissionDeniedError):
        return UpstreamAuthError(
            f"upstream authentication failed for model {alias!r}", model_alias=alias, upstream_status=status
        )
    if isinstance(exc, lx.ContextWindowExceededError):
        return ContextTooLong(f"model {alias!r}: {message}", model_alias=alias, upstream_status=status)
    if isinstance(exc, lx.BadRequestError | lx.NotFoundError | lx.UnprocessableEntityError):
        return UpstreamRejected(
            f"model {alias!r} rejected the request: {message}", model_alias=alias, upstream_status=status
        )
    return UpstreamUnavailable(f"model {alias!r} is unavailable: {message}", model_alias=alias, upstream_status=status)


class _WaitRetryAfter:
    """Tenacity wait: the provider's ``Retry-After`` when given (capped), else exponential backoff with jitter."""

    def __init__(self, max_wait: float) -> None:
        self._max_wait = max_wait
        self._backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=0.5)

    def __call__(self, state: RetryCallState) -> float:
        """Return how long to sleep before the next attempt."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, UpstreamRateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self._max_wait)
        return float(self._backoff(state))


def _is_transient(exc: BaseException) -> bool:
    """Say whether an error is worth retrying (rate limits, timeouts, unavailability)."""
    return isinstance(exc, UpstreamError) and exc.transient


def _usage_of(response: Any) -> tuple[int, int]:
    """Return (prompt, completion) tokens of a litellm response, zero where missing."""
    usage = getattr(response, "usage", None)
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)


def _cost_of(litellm: Any, response: Any) -> float | None:
    """Return the response's cost from litellm's bundled price map, or None when the model is not priced."""
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm raises for models missing from its price map
        return None


class ModelClient:
    """Calls configured models: one bounded, retried, translated chat completion at a time per slot."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._slots = {
            entry.model_name: asyncio.Semaphore(entry.max_concurrency or settings.max_concurrency)
            for entry in settings.models
        }

    def _retrying(self) -> AsyncRetrying:
        """Return the transport-retry policy from settings."""
        return AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self._settings.retry_attempts) | stop_after_delay(self._settings.retry_total_s),
            wait=_WaitRetryAfter(self._settings.retry_max_wait_s),
            reraise=True,
        )

    async def _call_once(self, entry: ModelEntry, messages: list[dict[str, str]], params: dict[str, Any]) -> Any:
        """Make one litellm call, translating its errors."""
        litellm = configure_litellm()
        arguments = {**params, **_resolve_secrets(entry), "messages": messages, "num_retries": 0, "max_retries": 0}
        arguments.setdefault("timeout", self._settings.request_timeout_s)
        async with self._slots[entry.model_name]:
            try:
                return await litellm.acompletion(**arguments)
            except Exception as exc:
                raise translate_error(exc, entry) from exc

    async def complete(
        self, entry: ModelEntry, messages: list[dict[str, str]], prompt_params: Mapping[str, Any]
    ) -> ModelAnswer:
        """Ask ``entry`` for a structured reply to ``messages``, retrying transient failures."""
        litellm = configure_litellm()
        params = {**prompt_params, "response_format": response_format_for(choose_structured_output(entry))}
        if params["response_format"] is None:
            del params["response_format"]
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    response = await self._call_once(entry, messages, params)
        except UpstreamError as exc:
            exc.retries = attempts - 1
            raise
        choice = response.choices[0]
        prompt_tokens, completion_tokens = _usage_of(response)
        return ModelAnswer(
            content=choice.message.content or "",
            finish_reason=choice.finish_reason,
            model=entry.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=_cost_of(litellm, response),
            retries=attempts - 1,
        )
