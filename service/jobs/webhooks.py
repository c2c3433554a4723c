"""Webhooks: who may be called, how a delivery is signed (Standard Webhooks), and when it is tried again.

A callback URL must name a host the operator allowed (``webhook_allowed_hosts``: ``host`` for any port, or
``host:port``); nothing else is ever called, and redirects are not followed, so a job cannot make the
service reach an arbitrary address (SSRF). Each delivery is signed with the ``whsec_`` secret by the
maintained ``standardwebhooks`` package: ``webhook-id`` (the same on every attempt, for the receiver to
de-duplicate), ``webhook-timestamp`` and ``webhook-signature``. A delivery that fails is tried again after
``webhook_retry_s``, doubling each time, up to ``webhook_max_attempts``; each attempt is listed on the job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from service.errors import InputError, InvalidRequest
from service.settings import Settings, read_secret_reference
from service.stores.jobs.job_store import Delivery

MAX_RETRY_S = 3600.0


class CallbackNotAllowed(InputError):
    """The service refuses to call this callback URL: its host is not allowed, or webhooks are not configured."""

    status = 403
    slug = "callback-not-allowed"
    title = "Callback URL not allowed"


def check_callback(url: str | None, settings: Settings) -> None:
    """Refuse a callback URL the service would not call: no secret configured, or a host not allowed."""
    if url is None:
        return
    if settings.webhook_secret is None:
        raise CallbackNotAllowed("this service sends no webhooks: the operator has not set webhook_secret")
    try:
        urlsplit(url).port  # noqa: B018 -- read for its ValueError: a port out of range or not a number
    except ValueError as exc:
        raise InvalidRequest(f"callback_url {url!r} is not a valid URL ({exc})") from exc
    if not host_allowed(url, settings.webhook_allowed_hosts):
        allowed = ", ".join(settings.webhook_allowed_hosts) or "none"
        raise CallbackNotAllowed(f"callback host of {url!r} is not allowed; allowed hosts: {allowed}")


def host_allowed(url: str, allowed_hosts: list[str]) -> bool:
    """Say whether a URL's host (and port) is on the allow-list."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return any(entry.lower() in (host, f"{host}:{port}") for entry in allowed_hosts)


def signed_headers(secret: str, delivery: Delivery, at: datetime) -> dict[str, str]:
    """Return the Standard Webhooks headers of one attempt: its id, timestamp and signature."""
    return {
        "content-type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.id, at, delivery.payload),
    }


def retry_in(attempts_made: int, settings: Settings) -> float | None:
    """Return the wait before the next attempt after ``attempts_made`` failed ones, or None: no more."""
    if attempts_made >= settings.webhook_max_attempts:
        return None
    return float(min(settings.webhook_retry_s * 2.0 ** (attempts_made - 1), MAX_RETRY_S))


async def send(client: httpx.AsyncClient, delivery: Delivery, settings: Settings) -> tuple[int | None, str | None]:
    """POST one signed attempt; return the receiver's status, or None and why it could not be reached."""
    secret = read_secret_reference(settings.webhook_secret) if settings.webhook_secret else None
    if not secret:
        return None, "webhook_secret is not set in the environment"
    if not host_allowed(delivery.callback_url, settings.webhook_allowed_hosts):
        return None, "the callback host is no longer allowed"
    headers = signed_headers(secret, delivery, datetime.now(UTC))
    try:
        response = await client.post(delivery.callback_url, content=delivery.payload, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return response.status_code, None if response.is_success else f"HTTP {response.status_code}"
