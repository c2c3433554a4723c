"""When to retry a model call and how long to wait: transient errors only; ``Retry-After`` first, else backoff."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState
from tenacity.wait import wait_exponential_jitter

from service.errors import UpstreamError


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Read a provider's advice on when to retry: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        raw = lowered.get("retry-after")
        if raw is None:
            return None
        if raw.strip().replace(".", "", 1).isdigit():
            return max(0.0, float(raw))
        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def is_transient(exc: BaseException) -> bool:
    """Say whether an error is worth retrying (rate limits, timeouts, unavailability)."""
    return isinstance(exc, UpstreamError) and exc.transient


class WaitRetryAfter:
    """Tenacity wait: the provider's ``Retry-After`` when given (capped), else exponential backoff with jitter."""

    def __init__(self, max_wait: float) -> None:
        self._max_wait = max_wait
        self._backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=0.5)

    def __call__(self, state: RetryCallState) -> float:
        """Return how long to sleep before the next attempt."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, UpstreamError) and exc.retry_after is not None:
            return min(exc.retry_after, self._max_wait)
        return min(float(self._backoff(state)), self._max_wait)
