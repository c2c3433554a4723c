"""Webhooks: who may be called, how a delivery is signed (Standard Webhooks), and when it is tried again.

A callback URL must name a host the operator allowed (``webhook_allowed_hosts``: ``host`` for any port, or
``host:port``); nothing else is ever called, and redirects are not followed, so a job cannot make the
service reach an arbitrary address (SSRF). Each delivery is signed with the ``whsec_`` secret by the
maintained ``standardwebhooks`` package: ``webhook-id`` (the same on every attempt, for the receiver to
de-duplicate), ``webhook-timestamp`` and ``webhook-signature``. A delivery that fails is tried again after
``webhook_retry_s``, doubling each time, up to ``webhook_max_attempts``; each attempt is listed on the job.

A callback URL is checked whole when the job is submitted: printable ASCII only (a control character,
whitespace or invisible character is named; anything else is percent-encoded, a host in punycode), a host
on the allow-list (403 otherwise, also for a host that cannot be read), and it must read the same to the
allow-list check and to httpx, which sends it (what is accepted is what can be sent). An attempt has
``webhook_timeout_s`` as a whole (a receiver trickling its reply cannot stretch it), and at most
``REPLY_BYTES_READ`` of a reply are read: only its status counts.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from service.errors import InputError, InvalidRequest
from service.settings import Settings, read_secret_reference
from service.stores.jobs.job_store import Delivery

MAX_RETRY_S = 3600.0
LAST_PRINTABLE_ASCII = 0x7E
SCHEME = re.compile(r"https?://", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}
REPLY_BYTES_READ = 4096  # of a receiver's reply; the rest is never read (a 300 MB reply cost 660 MB)
REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Zs": "whitespace",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


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
    check_callback_characters(url)
    if not host_allowed(url, settings.webhook_allowed_hosts):  # a host that cannot be read is no allowed host
        allowed = ", ".join(settings.webhook_allowed_hosts) or "none"
        unreadable = callback_url_problem(url)
        why = f" ({unreadable.removeprefix('callback_url ')})" if unreadable else ""
        raise CallbackNotAllowed(f"callback host of {url!r} is not allowed{why}; allowed hosts: {allowed}")
    check_callback_url(url)


def check_callback_characters(url: str) -> None:
    """Refuse (422, naming it) a character a callback URL may not hold, or a scheme other than http(s)."""
    problem = character_problem(url)
    if problem is not None:
        raise InvalidRequest(problem)


def check_callback_url(url: str) -> None:
    """Refuse (422) a callback URL that is not one URL the sender can send as written; None when it is."""
    problem = callback_url_problem(url)
    if problem is not None:
        raise InvalidRequest(problem)


def character_problem(url: str) -> str | None:
    """Name the first character a callback URL may not hold (control, whitespace, invisible), or None."""
    for position, character in enumerate(url, start=1):
        kind = REFUSED_CATEGORIES.get(unicodedata.category(character))
        if kind is not None:
            return (
                f"callback_url holds {kind}, U+{ord(character):04X} at position {position}: a URL may hold no "
                "control character, whitespace or invisible character (percent-encode it)"
            )
        if ord(character) > LAST_PRINTABLE_ASCII:
            return (
                f"callback_url holds a character outside ASCII, U+{ord(character):04X} at position {position}: "
                "percent-encode it (a host in its punycode form, xn--…)"
            )
    if not SCHEME.match(url):
        return f"callback_url {url!r} is not an http:// or https:// URL"
    return None


def callback_url_problem(url: str) -> str | None:
    """Say why a callback URL cannot be sent as written (a character it may not hold, a broken URL), or None."""
    character = character_problem(url)
    if character is not None:
        return character
    try:
        parts, sent = urlsplit(url), httpx.URL(url)
        port = parts.port  # read for its ValueError: a port out of range or not a number
    except (ValueError, httpx.InvalidURL) as exc:
        return f"callback_url {url!r} is not a valid URL ({exc})"
    default = DEFAULT_PORTS.get(parts.scheme.lower())  # httpx drops an explicit default port (":443"): alike
    if (sent.scheme, sent.host, sent.port or default) != (parts.scheme.lower(), parts.hostname or "", port or default):
        return f"callback_url {url!r} is not a valid URL (its host or port reads two ways)"
    if port == 0:
        return f"callback_url {url!r} is not a valid URL (port 0)"
    return None


def host_allowed(url: str, allowed_hosts: list[str]) -> bool:
    """Say whether a URL's host (and port) is on the allow-list; a URL whose host cannot be read is not."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unreadable bracketed host
        return False
    if parts.scheme not in ("http", "https") or not hostname:
        return False
    host = hostname.lower()
    try:
        port: int | None = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port out of range or not a number: only a host allowed on any port matches
        port = None
    names = (host,) if port is None else (host, f"{host}:{port}")
    return any(entry.lower() in names for entry in allowed_hosts)


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


async def send(
    client: httpx.AsyncClient, delivery: Delivery, settings: Settings, deadline_s: float
) -> tuple[int | None, str | None]:
    """POST one signed attempt within ``deadline_s`` as a whole; return the receiver's status, or None and why not.

    The reply is streamed: once its status is in, at most ``REPLY_BYTES_READ`` of its body are read, within
    the same deadline, and the connection is dropped.
    """
    secret = read_secret_reference(settings.webhook_secret) if settings.webhook_secret else None
    if not secret:
        return None, "webhook_secret is not set in the environment"
    problem = callback_url_problem(delivery.callback_url)
    if problem is not None:
        return None, problem
    if not host_allowed(delivery.callback_url, settings.webhook_allowed_hosts):
        return None, "the callback host is no longer allowed"
    headers = signed_headers(secret, delivery, datetime.now(UTC))
    status: int | None = None
    try:
        async with asyncio.timeout(deadline_s):
            async with client.stream("POST", delivery.callback_url, content=delivery.payload, headers=headers) as reply:
                status = reply.status_code
                await read_some(reply, REPLY_BYTES_READ)
    except TimeoutError:
        if status is None:
            return None, f"no reply within {deadline_s:g} s"
    except httpx.HTTPError as exc:
        if status is None:
            return None, f"{type(exc).__name__}: {exc}"[:300]
    return status, None if 200 <= status < 300 else f"HTTP {status}"


async def read_some(reply: httpx.Response, limit: int) -> int:
    """Read a reply's body as it comes (compressed or not) until ``limit`` bytes are in; return how many."""
    read = 0
    async for chunk in reply.aiter_raw():
        read += len(chunk)
        if read >= limit:
            break
    return read
