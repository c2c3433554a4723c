"""The service's error tree; each error knows how it reads as RFC 9457 problem+json.

    ClaimServiceError                   500  the base: status, type slug, title
    ├── ConfigError                     500  the config refuses to load (raised at start-up)
    ├── InputError                      4xx  the client can fix it
    │   ├── InvalidRequest              422  body is not JSON or not the schema
    │   ├── UnknownModelAlias           422  options.model is not configured
    │   ├── UnknownPromptVersion        422  options.prompt names no loaded version
    │   ├── ArticleTooLarge             413  article longer than max_article_chars
    │   ├── BodyTooLarge                413  body larger than the cap, refused unread
│   ├── UnsupportedMediaType        415  the body's Content-Type is not one the route reads
    │   ├── NotFound                    404  no such resource (prompt, route)
    │   ├── MethodNotAllowed            405  the route exists, not for this method (Allow says which)
    │   ├── ResourceConflict            409  the request conflicts with what exists (an Idempotency-Key reused)
    │   ├── RequestTimeout              408  the request's headers or body came too slowly
    │   ├── Unauthorized                401  no API key, or an unknown or revoked one
    │   ├── Forbidden                   403  the key lacks the operation's scope
    │   ├── QuotaExceeded               429  the key's requests a minute, tokens or cost a day are used up
    │   └── JobLost                     410  the job's Redis restarted empty after it was submitted
    ├── ShuttingDown                    503  the service stopped before the request finished
    ├── NotReady                        503  /readyz: a part the service needs cannot be used now
    ├── StoreUnavailable                503  a store cannot be used now (Redis out of reach, jobs.db failing)
    ├── UpstreamError                   502  the model provider failed us (with its retry_after, if any)
    │   ├── UpstreamRateLimited         429  Retry-After passed on
    │   ├── UpstreamTimeout             504
    │   ├── UpstreamUnavailable         503  5xx and connection errors; Retry-After passed on
    │   ├── ModelBudgetExhausted        503  the model's own rpm/tpm budget has no room in time
    │   ├── UpstreamAuthError           502  401/403: the operator's key, never shown
    │   └── UpstreamRejected            502  400/404/422: the request or model name was refused
    │       ├── ContextTooLong          502  the chunk did not fit the model's window
    │       └── StructuredOutputRejected 502 the server refused how we asked for JSON
    └── InvalidModelOutput              502  the reply never validated, repairs included
        └── ReplyCutOff                 502  the reply hit the token limit (the chunk is split and retried)

Transient upstream errors (rate limits, timeouts, unavailability) are the only ones retried.

``ExtractionFailed`` is not a problem of its own: it carries the error an extraction failed with (every
chunk failed; the client is told that error) together with what the attempt spent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from schemas import Usage

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/problems/"  # relative URI references; GET /problems/{slug} documents each


class ClaimServiceError(Exception):
    """Base of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions or {}

    @property
    def problem_type(self) -> str:
        """Return the problem type URI."""
        return PROBLEM_TYPE_BASE + self.slug

    def headers(self) -> dict[str, str]:
        """Return extra response headers the problem should carry."""
        return {}

    def document(self, instance: str, request_id: str) -> dict[str, Any]:
        """Return this error as an RFC 9457 problem document about ``instance`` (the request's path)."""
        return {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "request_id": request_id,
            **self.extensions,
        }


class ConfigError(ClaimServiceError):
    """The configuration is invalid; the service refuses to start."""

    slug = "config-error"
    title = "Invalid configuration"


class InputError(ClaimServiceError):
    """The client sent something the service cannot use."""

    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidRequest(InputError):
    """The body is not JSON, or not an extraction request."""

    status = 422
    slug = "invalid-request"
    title = "Invalid request body"


class ModelCannotBatch(InputError):
    """A batch-mode job names a model whose provider has no Batch API that litellm can drive."""

    status = 422
    slug = "model-cannot-batch"
    title = "Model cannot run as a batch"


class UnknownModelAlias(InputError):
    """``options.model`` names no configured alias."""

    status = 422
    slug = "unknown-model"
    title = "Unknown model alias"


class UnknownPromptVersion(InputError):
    """``options.prompt`` names no loaded prompt version."""

    status = 422
    slug = "unknown-prompt"
    title = "Unknown prompt version"


class ArticleTooLarge(InputError):
    """The article is longer than the configured maximum (its characters, or its prompts than the key's day quota)."""

    status = 413
    slug = "article-too-large"
    title = "Article too large"


class BodyTooLarge(InputError):
    """The request body is larger than the configured cap; it was not read."""

    status = 413
    slug = "body-too-large"
    title = "Request body too large"


class UnsupportedMediaType(InputError):
    """The body's ``Content-Type`` is not one this route reads; the detail lists those it does."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class NotFound(InputError):
    """No such resource."""

    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(InputError):
    """The resource exists but not for this HTTP method; ``allow`` lists the methods it takes (RFC 9110)."""

    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"

    def __init__(self, detail: str, *, allow: str) -> None:
        super().__init__(detail)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        """Say which methods the resource takes."""
        return {"Allow": self.allow}


class ResourceConflict(InputError):
    """The request conflicts with what the service holds, e.g. an Idempotency-Key used with another body."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class RequestTimeout(InputError):
    """The client sent its request's headers or body too slowly; the connection is closed."""

    status = 408
    slug = "request-timeout"
    title = "Request Timeout"

    def headers(self) -> dict[str, str]:
        """Close the connection: what the client was sending is abandoned."""
        return {"Connection": "close"}


class ShuttingDown(ClaimServiceError):
    """The service was shutting down and its grace period ran out before this request finished; send it again."""

    status = 503
    slug = "shutting-down"
    title = "Service shutting down"

    def headers(self) -> dict[str, str]:
        """Ask the client to come back shortly, on a new connection."""
        return {"Retry-After": "5", "Connection": "close"}


class NotReady(ClaimServiceError):
    """The service cannot take work now: a part it needs (reply cache, job store, Redis) cannot be used; see detail."""

    status = 503
    slug = "not-ready"
    title = "Service not ready"


class StoreUnavailable(ClaimServiceError):
    """A store the request needs (the job store on SQLite or Redis, the rate limits) cannot be used; detail names it."""

    status = 503
    slug = "store-unavailable"
    title = "Store unavailable"

    def headers(self) -> dict[str, str]:
        """Ask the client to come back shortly."""
        return {"Retry-After": "5"}


class Unauthorized(InputError):
    """No API key, or one the service does not accept (unknown or revoked); the detail says which."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        """Say how to authenticate."""
        return {"WWW-Authenticate": 'Bearer realm="claim-extractor"'}


class Forbidden(InputError):
    """The API key is valid but lacks the scope this operation needs."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class QuotaExceeded(InputError):
    """The API key has used its quota (requests a minute, tokens or cost a day); ``Retry-After`` says when it resets."""

    status = 429
    slug = "quota-exceeded"
    title = "Quota exceeded"

    def __init__(self, detail: str, *, retry_after: float, rate_headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.rate_headers = rate_headers

    def headers(self) -> dict[str, str]:
        """Say when to come back, and the key's quota policies and what is left of them."""
        return {"Retry-After": str(max(1, int(-(-self.retry_after // 1)))), **self.rate_headers}


class QuotaHeld(QuotaExceeded):
    """What is left of the key's day is held by its requests in flight; it frees as they settle (retry soon)."""


class JobLost(InputError):
    """The job was lost: the Redis holding the queue restarted empty after it was submitted; submit it again."""

    status = 410
    slug = "job-lost"
    title = "Job lost"


class UpstreamError(ClaimServiceError):
    """The model provider failed; ``model_alias`` says which model, ``retry_after`` its advice in seconds, if any."""

    status = 502
    slug = "upstream-error"
    title = "Model provider error"
    transient: ClassVar[bool] = False

    def __init__(
        self,
        detail: str,
        *,
        model_alias: str,
        upstream_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail, extensions={"model": model_alias})
        self.model_alias = model_alias
        self.upstream_status = upstream_status
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """Pass the provider's Retry-After on to the client (rounded up to whole seconds) when it is worth waiting."""
        if self.retry_after is None or not self.transient:
            return {}
        return {"Retry-After": str(max(1, int(-(-self.retry_after // 1))))}


class UpstreamRateLimited(UpstreamError):
    """The provider said 429; ``retry_after`` is its advice in seconds, when it gave one."""

    status = 429
    slug = "upstream-rate-limited"
    title = "Model provider rate limit"
    transient = True

    def __init__(self, detail: str, *, model_alias: str, retry_after: float | None = None) -> None:
        super().__init__(detail, model_alias=model_alias, upstream_status=429, retry_after=retry_after)


class UpstreamTimeout(UpstreamError):
    """The provider did not answer in time."""

    status = 504
    slug = "upstream-timeout"
    title = "Model provider timeout"
    transient = True


class UpstreamUnavailable(UpstreamError):
    """The provider answered 5xx or could not be reached."""

    status = 503
    slug = "upstream-unavailable"
    title = "Model provider unavailable"
    transient = True


class ModelBudgetExhausted(UpstreamError):
    """The model's own ``rpm``/``tpm`` budget (shared by every process) has no room within ``rate_limit_wait_s``."""

    status = 503
    slug = "model-budget-exhausted"
    title = "Model budget exhausted"

    def headers(self) -> dict[str, str]:
        """Say when the budget has room again (rounded up to whole seconds)."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, int(-(-self.retry_after // 1))))}


class UpstreamAuthError(UpstreamError):
    """The provider refused the operator's credentials (the key is never shown)."""

    slug = "upstream-auth"
    title = "Model provider authentication failed"


class UpstreamRejected(UpstreamError):
    """The provider refused the request itself (bad request, unknown model)."""

    slug = "upstream-rejected"
    title = "Model provider rejected the request"


class ContextTooLong(UpstreamRejected):
    """The chunk did not fit in the model's context window."""

    slug = "upstream-context-too-long"
    title = "Chunk too long for the model"


class StructuredOutputRejected(UpstreamRejected):
    """The server refused the structured-output mode (e.g. llama.cpp answers 500 to ``json_schema``)."""

    slug = "upstream-structured-output-rejected"
    title = "Model server refused the structured-output mode"


class InvalidModelOutput(ClaimServiceError):
    """The model's reply never matched the reply schema, repair re-asks included."""

    status = 502
    slug = "invalid-model-output"
    title = "Model reply did not validate"

    def __init__(self, detail: str, *, model_alias: str, attempts: int, last_output: str) -> None:
        super().__init__(detail, extensions={"model": model_alias})
        self.model_alias = model_alias
        self.attempts = attempts
        self.last_output = last_output


class ReplyCutOff(InvalidModelOutput):
    """The reply stopped at the model's token limit; a smaller chunk is asked instead."""

    slug = "reply-cut-off"
    title = "Model reply cut off at its token limit"


class ExtractionFailed(Exception):
    """Every chunk of an extraction failed: ``cause`` is what the client is told, ``usage`` what was spent trying."""

    def __init__(self, cause: ClaimServiceError, usage: Usage) -> None:
        super().__init__(cause.detail)
        self.cause = cause
        self.usage = usage


def problem_catalogue() -> dict[str, type[ClaimServiceError]]:
    """Return every error class by its problem slug, walking the tree from the base."""
    catalogue: dict[str, type[ClaimServiceError]] = {}
    pending: list[type[ClaimServiceError]] = [ClaimServiceError]
    while pending:
        error_class = pending.pop()
        catalogue.setdefault(error_class.slug, error_class)
        pending.extend(error_class.__subclasses__())
    return catalogue


def validation_summary(
    errors: Sequence[Mapping[str, Any]], *, root: str, skip: int = 0, limit: int | None = None
) -> str:
    """Say what a pydantic validation error found, on one line: ``path: message; path: message``.

    ``errors`` is ``ValidationError.errors()``; ``skip`` leaves out leading parts of each location (FastAPI's
    ``body``), ``root`` names a location that is then empty, and ``limit`` caps how many are listed. The
    offending values are never echoed: they may be an article or a secret.
    """
    lines = [f"{'.'.join(str(part) for part in error['loc'][skip:]) or root}: {error['msg']}" for error in errors]
    shown = lines if limit is None else lines[:limit]
    more = len(lines) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
