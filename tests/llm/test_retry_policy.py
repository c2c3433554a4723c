"""Tests of ``service/llm/retry_policy.py``: what is retried, and how long to wait before the next attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tenacity import RetryCallState

from service.errors import UpstreamAuthError, UpstreamRateLimited, UpstreamTimeout
from service.llm.retry_policy import WaitRetryAfter, is_transient, retry_after_seconds


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
    ids=["milliseconds", "seconds", "fraction", "garbage", "absent", "no-headers"],
)
def test_retry_after_is_read_in_every_form_sent(headers: dict[str, str] | None, seconds: float | None) -> None:
    """``retry-after-ms`` first, then ``Retry-After`` in seconds; anything unreadable is no advice."""
    assert retry_after_seconds(headers) == seconds


def test_retry_after_as_a_date_is_the_time_until_it() -> None:
    """An HTTP date is turned into the seconds left until it (never negative)."""
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_seconds({"Retry-After": soon}) or 0) <= 30
    assert retry_after_seconds({"Retry-After": past}) == 0.0


def test_only_transient_upstream_errors_are_retried() -> None:
    """Rate limits and timeouts are retried; an auth failure and our own errors are not."""
    assert is_transient(UpstreamRateLimited("slow down", model_alias="gpt"))
    assert is_transient(UpstreamTimeout("late", model_alias="gpt"))
    assert not is_transient(UpstreamAuthError("bad key", model_alias="gpt"))
    assert not is_transient(TypeError("a bug"))


def state_failing_with(error: BaseException, attempt: int) -> RetryCallState:
    """Return tenacity's state after ``attempt`` attempts that failed with ``error``."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_the_wait_is_the_provider_s_advice_capped() -> None:
    """A Retry-After is waited as told, never beyond the cap."""
    wait = WaitRetryAfter(max_wait=5)
    assert wait(state_failing_with(UpstreamRateLimited("x", model_alias="gpt", retry_after=2), 1)) == 2
    assert wait(state_failing_with(UpstreamRateLimited("x", model_alias="gpt", retry_after=60), 1)) == 5


def test_without_advice_the_wait_backs_off_within_the_cap() -> None:
    """With no Retry-After the wait grows with the attempt (with jitter) and stays within the cap."""
    wait = WaitRetryAfter(max_wait=3)
    waits = [wait(state_failing_with(UpstreamTimeout("late", model_alias="gpt"), attempt)) for attempt in (1, 6)]
    assert 0 < waits[0] <= 1.0
    assert waits[1] == 3
