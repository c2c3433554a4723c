"""The Redis a scaled-out deployment shares: clients opened from ``redis_url``, the URL never shown whole.

Each kind of use gets its own client, with timeouts to match: the reply cache gives up within a second (an
outage must cost a miss, not a stalled extraction); the jobs' client allows the queue's one-second
blocking wait for work, and no more.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

CACHE_TIMEOUT_S = 1.0
LIMITS_TIMEOUT_S = 5.0
JOBS_TIMEOUT_S = 10.0  # above the queue's one-second blocking wait for work, below any client's patience
CONNECT_TIMEOUT_S = 5.0


def redacted(url: str) -> str:
    """Return ``url`` fit for a log line: scheme, user, host, port and path, never a password.

    A password may sit before the host (``:pw@``) or in the query (``?password=``): the query is shown as ``?…``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    user = parts.username or ""
    credentials = f"{user}:***@" if parts.password is not None else f"{user}@" if user else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{credentials}{host}{parts.path}{query}"


def open_redis(url: str, *, timeout_s: float) -> Redis:
    """Return a client for ``url``: lazy, kept alive, each operation bounded by ``timeout_s`` and never retried.

    No retry behind our back: a retried Lua script could run twice, a retried cache read would outlast its
    timeout. A failure is the caller's to handle, at once.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=min(CONNECT_TIMEOUT_S, timeout_s),
        socket_timeout=timeout_s,
        socket_keepalive=True,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )
