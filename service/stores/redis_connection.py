"""The Redis a scaled-out deployment shares: clients opened from ``redis_url``, the URL never shown whole.

Each kind of use gets its own client, with timeouts to match: the reply cache gives up within a second (an
outage must cost a miss, not a stalled extraction); the job queue blocks while it waits for work.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis

CACHE_TIMEOUT_S = 1.0
LIMITS_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0


def redacted(url: str) -> str:
    """Return ``url`` fit for a log line: its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def open_redis(url: str, *, timeout_s: float | None) -> Redis:
    """Return a client for ``url``: connections made lazily, checked when idle, operations bounded by ``timeout_s``."""
    return Redis.from_url(
        url,
        socket_connect_timeout=min(CONNECT_TIMEOUT_S, timeout_s or CONNECT_TIMEOUT_S),
        socket_timeout=timeout_s,
        health_check_interval=30,
    )
