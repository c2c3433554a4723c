"""What a failed litellm call means: the provider's fault (translated into ``service.errors``), or our own bug.

litellm raises its own exceptions (subclasses of the OpenAI SDK's), and httpx raises transport errors; these
are translated here and nowhere else, their messages redacted. litellm also wraps *any* exception raised
while it runs, our offline provider's included, in an ``APIConnectionError``: an error whose chain starts in
this package's own code is a bug of ours, never a provider outage, so it is re-raised as it is (a 500 with a
request id) instead of being retried and answered as a 503.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
from service.llm.retry_policy import retry_after_seconds
from service.llm.secrets import redact
from service.llm.structured_output import STEP_DOWN
from service.settings import ModelEntry, StructuredOutput

_SERVICE_DIR = Path(__file__).resolve().parents[1]
_MODE_REJECTED = re.compile(r"response_format|json_schema|json_object|schema|tool_choice|\btools?\b|function", re.I)


def upstream_error_types() -> tuple[type[Exception], ...]:
    """Return the exception types a provider call can fail with: litellm's (OpenAI SDK's) and httpx's."""
    import httpx
    import openai

    return (openai.OpenAIError, httpx.HTTPError)


def _chain(exc: BaseException) -> list[BaseException]:
    """Return the exception and every exception it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    return chain


def _raised_in(exc: BaseException) -> Path | None:
    """Return the file of the frame that raised ``exc``, if its traceback is known."""
    traceback = exc.__traceback__
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return Path(traceback.tb_frame.f_code.co_filename).resolve()


def our_own_bug(exc: BaseException) -> BaseException | None:
    """Return the exception of ours that litellm wrapped in ``exc`` (raised in this package's code), if any."""
    for link in _chain(exc):
        raised_in = _raised_in(link)
        if raised_in is not None and raised_in.is_relative_to(_SERVICE_DIR):
            return link
    return None


def _is_refusal(status: int | None) -> bool:
    """Say whether an HTTP status means the request itself was refused (4xx, but timeouts and rate limits)."""
    return status is not None and 400 <= status < 500 and status not in (408, 409, 425, 429)


def _mode_rejected(entry: ModelEntry, mode: StructuredOutput, status: int | None, message: str) -> UpstreamError:
    """Describe a server refusing how it was asked for JSON; a configured mode is told which one to set instead."""
    detail = f"model {entry.model_name!r} rejected structured_output {mode} (HTTP {status}: {message})"
    if entry.structured_output is not None:
        detail += f"; set structured_output: {STEP_DOWN[mode]} for this model"
    return StructuredOutputRejected(detail, model_alias=entry.model_name, upstream_status=status)


def translate_error(exc: Exception, entry: ModelEntry, mode: StructuredOutput) -> UpstreamError:
    """Translate a litellm or httpx exception into the service's upstream error (its message redacted)."""
    import litellm.exceptions as lx

    alias = entry.model_name
    status: Any = getattr(exc, "status_code", None)
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
        return _mode_rejected(entry, mode, status, message)
    if isinstance(exc, lx.BadRequestError | lx.NotFoundError | lx.UnprocessableEntityError) or _is_refusal(status):
        return UpstreamRejected(
            f"model {alias!r} rejected the request: {message}", model_alias=alias, upstream_status=status
        )
    return UpstreamUnavailable(
        f"model {alias!r} is unavailable: {message}", model_alias=alias, upstream_status=status, retry_after=retry_after
    )
