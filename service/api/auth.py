"""Who is calling: API keys, held as sha256 hashes in the config, each with a name and scopes.

A key arrives as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Its sha256 is compared with every
configured hash in constant time (``hmac.compare_digest``, no early exit), so timing says nothing about
which keys exist. ``admin`` holds every scope. With no key configured, every caller is anonymous and may
do everything; ``claims serve`` then binds only a loopback address unless ``allow_anonymous`` says
otherwise. A key is never logged, stored or put in a reply: only its name is.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette import types as asgi
from starlette.datastructures import Headers

from service.api.middleware import route_path, send_problem
from service.api.state import service_state
from service.errors import Forbidden, StoreUnavailable, Unauthorized
from service.observability.logs import KEY_NAME
from service.settings import ApiKey, Scope
from service.stores.limits.key_budget import KeyBudget, budget_for
from service.stores.limits.quotas import rate_limit_headers

ALL_SCOPES: frozenset[str] = frozenset({"extract", "jobs", "read", "factchecks", "admin"})
ROUTES_WITH_BODIES = frozenset(
    {"/v1/extractions", "/v1/jobs", "/v1/factchecks"}
)  # keys checked before their bodies are read
KEY_PREFIX = "ce_"
logger = logging.getLogger("claims.quotas")


def key_hash(key: str) -> str:
    """Return the config's form of a key: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """Return a new random key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Caller:
    """Who is calling: a key's name and scopes, or the anonymous caller of a service without keys."""

    name: str | None
    scopes: frozenset[str]
    key: ApiKey | None = field(default=None, compare=False)

    def may(self, scope: Scope) -> bool:
        """Say whether the caller holds ``scope`` (``admin`` holds all)."""
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS = Caller(name=None, scopes=ALL_SCOPES)


BEARER = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")
X_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key: `X-API-Key: <key>`.")
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or one that is unknown or revoked.", "content": {"application/problem+json": {}}},
    403: {"description": "The API key lacks this operation's scope.", "content": {"application/problem+json": {}}},
    429: {
        "description": "The API key is over its quota; `Retry-After` and `RateLimit` say when it resets.",
        "content": {"application/problem+json": {}},
    },
}


def presented_key(bearer: HTTPAuthorizationCredentials | None, header_key: str | None) -> str | None:
    """Return the key a request carries (``Authorization: Bearer`` or ``X-API-Key``), if any."""
    if bearer is not None and bearer.credentials.strip():
        return bearer.credentials.strip()
    return header_key or None


class Keyring:
    """The configured keys, and who a presented key belongs to."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._keys = list(keys)

    @property
    def enabled(self) -> bool:
        """Say whether keys are required (any is configured)."""
        return bool(self._keys)

    def identify(self, presented: str | None) -> Caller:
        """Return the caller a key belongs to; 401 when keys are required and it is missing, unknown or revoked."""
        if not self._keys:
            return ANONYMOUS
        if presented is None:
            raise Unauthorized("an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>")
        digest = key_hash(presented)
        found: ApiKey | None = None
        for key in self._keys:  # every hash compared, in constant time: no early exit to time
            if hmac.compare_digest(digest, key.hash):
                found = key
        if found is None:
            raise Unauthorized("the API key is not valid")
        if found.revoked:
            raise Unauthorized(f"the API key {found.name!r} was revoked")
        return Caller(name=found.name, scopes=frozenset(found.scopes), key=found)


def require(scope: Scope, *, spends: bool = False) -> Callable[..., Awaitable[Caller]]:
    """Return a dependency that lets through callers holding ``scope`` and within their quotas.

    401 without a valid key, 403 without the scope, 429 over the key's requests a minute (or, for an
    operation that ``spends`` model tokens, over its day's tokens or cost). The key's ``RateLimit`` headers
    are left on the request for ``RateLimitHeadersMiddleware`` to add to the answer.
    """

    async def caller_with_scope(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
        header_key: Annotated[str | None, Security(X_API_KEY)],
    ) -> Caller:
        keyring = service_state(request.app).keyring
        caller = keyring.identify(presented_key(bearer, header_key))
        if not caller.may(scope):
            raise Forbidden(f"the API key {caller.name!r} lacks the {scope!r} scope this operation needs")
        request.state.caller = caller
        KEY_NAME.set(caller.name)
        quotas = service_state(request.app).quotas
        request.state.rate_headers = rate_limit_headers(await quotas.admit(caller.key, spends=spends))
        return caller

    return caller_with_scope


def budget_of(request: Request) -> KeyBudget | None:
    """Return the budget the caller's key holds an extraction's estimate on (None: its key counts no day quota)."""
    caller: Caller | None = getattr(request.state, "caller", None)
    return None if caller is None else budget_for(service_state(request.app).quotas, caller.key)


async def refresh_rate_headers(request: Request) -> None:
    """Refresh the ``RateLimit`` headers after an operation settled (kept as they were when the store is down)."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None or caller.key is None:
        return
    quotas = service_state(request.app).quotas
    try:
        request.state.rate_headers = rate_limit_headers(await quotas.standing(caller.key))
    except StoreUnavailable as exc:
        logger.warning("key %r: the RateLimit headers were not refreshed (%s)", caller.name, exc.detail)


def key_in_headers(headers: Headers) -> str | None:
    """Return the key raw headers carry, read as ``HTTPBearer`` and ``APIKeyHeader`` read them."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else ""
    return bearer or headers.get("x-api-key") or None


class AuthenticateBeforeBodyMiddleware:
    """Answer 401 to a POST without a valid key before its body is read, when keys are configured.

    FastAPI reads and parses a route's declared body before any dependency runs, so ``require`` alone would
    let a client without a key make the service parse megabytes of JSON first. Scopes and quotas are still
    ``require``'s to check.
    """

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        """Refuse a keyless POST to a route with a body, or pass the request on."""
        if scope["type"] == "http" and scope["method"] == "POST" and route_path(scope) in ROUTES_WITH_BODIES:
            keyring = service_state(scope["app"]).keyring
            try:
                keyring.identify(key_in_headers(Headers(scope=scope)))
            except Unauthorized as refusal:
                await send_problem(scope, send, refusal)
                return
        await self.app(scope, receive, send)
