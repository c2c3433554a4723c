"""The one door to litellm: a structured chat call with retries, error translation, usage and cost.

litellm is imported lazily (it costs ~1.5 s and ~170 MB), configured once (no aiohttp transport, so
httpx, and respx in tests, see every request; no debug banners; the offline provider registered; no
success logging queued while no callback would read it: ``service.llm.call_path``), and
called with its own retries off: tenacity is the one transport-retry loop, on transient errors only,
with exponential backoff and jitter, ``Retry-After`` honoured, bounded by attempts and by total time.
Every litellm exception is translated into ``service.errors`` here and nowhere else. Per model, calls
are bounded in flight (``max_concurrency``) and in rate (``rpm``, ``tpm``: ``service.stores.limits.rate_limits``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from opentelemetry.trace import Span
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay

from service.errors import ContextTooLong, StructuredOutputRejected, UpstreamError
from service.llm.call_path import defer_tokenizer, trim_call_path
from service.llm.retry_policy import WaitRetryAfter, is_transient
from service.llm.secrets import resolve_secrets
from service.llm.structured_output import STEP_DOWN, auto_mode, reply_text, request_arguments
from service.llm.upstream_errors import our_own_bug, translate_error, upstream_error_types
from service.llm.usage import CallUsage, tokens_of, with_cost
from service.observability import metrics, tracing
from service.offline import OFFLINE_MODEL
from service.prompts.sentence_lines import sentence_line
from service.settings import ModelEntry, Settings, StructuredOutput
from service.stores.limits.rate_limits import RateLimits, token_estimate

logger = logging.getLogger("claims.llm")
OUR_PARAMS = frozenset({"rpm", "tpm"})  # LiteLLM-proxy keys we enforce ourselves, never sent to a provider


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """A model's reply text with what it cost and how it was asked."""

    content: str
    finish_reason: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    structured_output: StructuredOutput = "prompt"
    stepped_down_from: StructuredOutput | None = None
    usage_faults: tuple[str, ...] = ()  # what the provider reported that cannot be true (taken as unknown)


def no_retry_note() -> None:
    """Note nothing about a retry (the default when a caller does not count them)."""


class ChatModels(Protocol):
    """What a chunk's answer needs of a model client: how a model is asked for JSON, and one structured call.

    ``ModelClient`` asks the models; ``service.llm.batch_answers.BatchAnswers`` answers from a provider batch.
    """

    def mode_for(self, entry: ModelEntry) -> StructuredOutput:
        """Return how ``entry`` is asked for JSON now."""

    async def complete(
        self,
        entry: ModelEntry,
        messages: list[dict[str, str]],
        prompt_params: Mapping[str, Any],
        *,
        on_retry: Callable[[], None] = no_retry_note,
    ) -> ModelAnswer:
        """Ask ``entry`` for a structured reply to ``messages``, telling ``on_retry`` of each transport retry."""


@cache
def configure_litellm() -> Any:
    """Import and configure litellm once; return the module."""
    import litellm  # the offline switches were set in service/__init__.py, before any import of it

    from service.offline.provider import register_offline_provider

    litellm.disable_aiohttp_transport = True
    litellm.suppress_debug_info = True
    litellm.drop_params = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)  # not a line per call at the service's INFO level
    register_offline_provider()
    trim_call_path(litellm)
    defer_tokenizer(litellm)
    return litellm


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


def prices_per_token(entry: ModelEntry) -> tuple[float, float] | None:
    """Return what a prompt token and a completion token of ``entry`` cost in litellm's price map (None: unpriced)."""
    return _prices_per_token(entry.model)


@cache
def _prices_per_token(model: str) -> tuple[float, float] | None:
    """Look a model's prices up once (litellm's bundled map does not change while the process runs)."""
    try:
        prompt, completion = configure_litellm().cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
    except Exception:  # litellm raises for models missing from its price map
        return None
    return float(prompt), float(completion)


async def warm_up() -> None:
    """Import litellm and make one offline call, so that the first request pays no start-up cost."""
    litellm = configure_litellm()
    await litellm.acompletion(model=OFFLINE_MODEL, messages=[{"role": "user", "content": sentence_line(1, "Warm-up.")}])


class ModelClient:
    """Calls configured models: bounded in flight and in rate, retried, translated, mode stepped down once."""

    def __init__(self, settings: Settings, rates: RateLimits | None = None) -> None:
        self._settings = settings
        self._slots = {
            entry.model_name: asyncio.Semaphore(entry.max_concurrency or settings.max_concurrency)
            for entry in settings.models
        }
        self._rates = rates or RateLimits(settings.models, settings.rate_limit_wait_s)
        self._modes: dict[str, StructuredOutput] = {}

    async def close(self) -> None:
        """Release the connections the rate limits hold."""
        await self._rates.close()

    def mode_for(self, entry: ModelEntry) -> StructuredOutput:
        """Return how ``entry`` is asked for JSON now (configured, detected, or stepped down)."""
        if entry.model_name not in self._modes:
            self._modes[entry.model_name] = auto_mode(configure_litellm, entry)
        return self._modes[entry.model_name]

    def _retrying(self, entry: ModelEntry, on_retry: Callable[[], None]) -> AsyncRetrying:
        """Return the transport-retry policy from settings, calling ``on_retry`` before each retry."""

        def before_retry(_state: RetryCallState) -> None:
            metrics.record_model_event(entry.model_name, entry.model, "retried")
            on_retry()

        return AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self._settings.retry_attempts) | stop_after_delay(self._settings.retry_total_s),
            wait=WaitRetryAfter(self._settings.retry_max_wait_s),
            before_sleep=before_retry,
            reraise=True,
        )

    def _arguments(self, entry: ModelEntry, messages: list[dict[str, str]], params: Mapping[str, Any]) -> Any:
        """Return the keyword arguments of one litellm call, secrets resolved and our own keys removed."""
        provider = {key: value for key, value in resolve_secrets(entry).items() if key not in OUR_PARAMS}
        arguments = {**params, **provider, "messages": messages, "num_retries": 0, "max_retries": 0}
        arguments.setdefault("timeout", self._settings.request_timeout_s)
        return arguments

    async def _call_once(self, entry: ModelEntry, arguments: dict[str, Any], mode: StructuredOutput) -> Any:
        """Make one litellm call within the model's limits, translating the provider's errors (never our bugs)."""
        litellm = configure_litellm()
        async with self._slots[entry.model_name]:
            reserved = token_estimate(arguments["messages"], arguments)
            await self._rates.acquire(entry, reserved)
            with tracing.model_call_span(entry.model, entry.model_name, arguments["messages"]) as span:
                response = await self._timed_call(litellm, entry, arguments, mode, span)
            tokens = tokens_of(response)
            await self._rates.charge(entry, reserved, tokens.prompt_tokens + tokens.completion_tokens)
            return response

    async def _timed_call(
        self, litellm: Any, entry: ModelEntry, arguments: dict[str, Any], mode: StructuredOutput, span: Span
    ) -> Any:
        """Make the call, timing it for the metrics and describing it on its span."""
        started = time.perf_counter()
        try:
            response = await litellm.acompletion(**arguments)
        except upstream_error_types() as exc:  # litellm's and httpx's errors, never our own
            bug = our_own_bug(exc)
            if bug is not None:
                raise bug from None
            error = translate_error(exc, entry, mode)
            metrics.observe_call_duration(entry.model, time.perf_counter() - started, type(error).__name__)
            tracing.record_error(span, error)
            raise error from exc
        metrics.observe_call_duration(entry.model, time.perf_counter() - started)
        choices = getattr(response, "choices", None) or []
        finish = getattr(choices[0], "finish_reason", None) if choices else None
        used = tokens_of(response)
        tracing.record_reply(span, getattr(response, "model", None), used.prompt_tokens, used.completion_tokens, finish)
        return response

    async def _call_retried(
        self, entry: ModelEntry, arguments: dict[str, Any], mode: StructuredOutput, on_retry: Callable[[], None]
    ) -> Any:
        """Call with transport retries on transient errors; return the response."""
        async for attempt in self._retrying(entry, on_retry):
            with attempt:
                response = await self._call_once(entry, arguments, mode)
        return response

    def _step_down(self, entry: ModelEntry, mode: StructuredOutput, exc: StructuredOutputRejected) -> StructuredOutput:
        """Move an auto-detected model one mode down; a configured mode is kept and the error says what to set."""
        lower = STEP_DOWN[mode]  # "prompt" is never rejected, so every rejected mode has one below it
        if entry.structured_output is not None:  # its detail already says which mode to set
            raise exc
        logger.warning("%s; using %s from now on (set structured_output: %s to skip this)", exc.detail, lower, lower)
        self._modes[entry.model_name] = lower
        return lower

    async def complete(
        self,
        entry: ModelEntry,
        messages: list[dict[str, str]],
        prompt_params: Mapping[str, Any],
        *,
        on_retry: Callable[[], None] = no_retry_note,
    ) -> ModelAnswer:
        """Ask ``entry`` for a structured reply to ``messages``, retrying transient failures (told to ``on_retry``)."""
        mode = first_mode = self.mode_for(entry)
        while True:
            arguments = self._arguments(entry, messages, {**prompt_params, **request_arguments(mode, entry)})
            try:
                response = await self._call_retried(entry, arguments, mode, on_retry)
                break
            except StructuredOutputRejected as exc:
                mode = self._step_down(entry, mode, exc)
            except ContextTooLong:
                raise  # not a failure: the chunk is asked again in halves
            except UpstreamError:
                metrics.record_model_event(entry.model_name, entry.model, "failed")
                raise
        if not getattr(response, "choices", None):  # a 200 with nothing in it: fail over like any provider error
            metrics.record_model_event(entry.model_name, entry.model, "failed")
            raise UpstreamError(f"model {entry.model_name!r} replied with no choices", model_alias=entry.model_name)
        choice = response.choices[0]
        usage = self._usage(entry, response)
        return ModelAnswer(
            content=reply_text(choice.message, mode),
            finish_reason=choice.finish_reason,
            model=entry.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            structured_output=mode,
            stepped_down_from=first_mode if mode != first_mode else None,
            usage_faults=usage.faults,
        )

    @staticmethod
    def _usage(entry: ModelEntry, response: Any) -> CallUsage:
        """Read and count a reply's usage; impossible figures are unknown, counted as a provider fault."""
        usage = with_cost(tokens_of(response), _cost_of(configure_litellm(), response, entry))
        if usage.faults:
            logger.warning("model %r reported impossible usage (%s)", entry.model_name, ", ".join(usage.faults))
            metrics.record_model_event(entry.model_name, entry.model, "usage_unknown")
        metrics.record_model_call(
            entry.model_name, entry.model, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd
        )
        return usage
