"""RFC 9457 problem+json responses: one renderer, and the handlers that route every error through it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_BASE,
    BodyTooLarge,
    ClaimServiceError,
    ExtractionFailed,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    RequestTimeout,
    validation_summary,
)

logger = logging.getLogger("claims.problems")


def request_id_of(request: Request) -> str:
    """Return the id the request-id middleware gave this request."""
    return str(getattr(request.state, "request_id", "-"))


def problem_response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render a problem+json response for ``request``."""
    body = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id_of(request),
        **(extra or {}),
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _render_service_error(request: Request, exc: ClaimServiceError) -> JSONResponse:
    """Render one of our errors."""
    if exc.status >= 500:
        logger.warning("request %s failed: %s", request_id_of(request), exc.detail)
    document = exc.document(request.url.path, request_id_of(request))
    return JSONResponse(document, status_code=exc.status, media_type=PROBLEM_CONTENT_TYPE, headers=exc.headers())


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Return pydantic's errors without the offending input (which may be a whole article)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        for error in exc.errors()
    ]


async def _on_service_error(request: Request, exc: Exception) -> JSONResponse:
    """Handle every ``ClaimServiceError``."""
    assert isinstance(exc, ClaimServiceError)  # noqa: S101 -- registered for this class only
    return _render_service_error(request, exc)


def _is_json_media_type(content_type: str | None) -> bool:
    """Say whether a Content-Type is JSON (``application/json``, ``application/…+json``), as FastAPI reads it."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _validation_detail(request: Request, errors: list[dict[str, Any]]) -> str:
    """Say in one line what is wrong with the body: not JSON, not sent as JSON, or each field's problem."""
    if any(error["type"] == "json_invalid" for error in errors):
        return "the body is not valid JSON"
    content_type = request.headers.get("content-type")
    if any(error["loc"] == ["body"] and error["type"] != "missing" for error in errors) and not _is_json_media_type(
        content_type
    ):
        return (
            f"the body was not read as JSON: send it with Content-Type: application/json, not {content_type or 'none'}"
        )
    return validation_summary(errors, root="body", skip=1)


async def _on_extraction_failed(request: Request, exc: Exception) -> JSONResponse:
    """Handle an extraction whose every chunk failed: the problem is the error it failed with."""
    assert isinstance(exc, ExtractionFailed)  # noqa: S101 -- registered for this class only
    return _render_service_error(request, exc.cause)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Handle a body that is not JSON or not the schema: 422, listing each problem."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 -- registered for this class only
    errors = _validation_errors(exc)
    problem = InvalidRequest(_validation_detail(request, errors), extensions={"errors": errors})
    return _render_service_error(request, problem)


UNPARSEABLE_BODY = {
    UnicodeDecodeError: "the body is not valid JSON: it is not UTF-8 text",
    RecursionError: "the body is not valid JSON: it nests too deeply",
    ValueError: "the body cannot be read: a number in it has more than 4,300 digits",  # what int(str) refuses
}


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Handle routing errors (404, 405), a body FastAPI could not decode (422) or over the cap (413)."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 -- registered for this class only
    if exc.status_code == 404:
        return _render_service_error(request, NotFound(f"no resource at {request.url.path}"))
    unparseable = UNPARSEABLE_BODY.get(type(exc.__cause__)) if exc.status_code == 400 else None
    if unparseable is not None:  # FastAPI's 400 "error parsing the body": a 422 like any body that is not JSON
        return _render_service_error(request, InvalidRequest(unparseable))
    if exc.status_code == 413:  # the body-size middleware's count, raised into FastAPI's body reading
        return _render_service_error(request, BodyTooLarge(str(exc.detail)))
    if exc.status_code == 405:
        allow = allowed_methods(request) or dict(exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}; it takes {allow or 'no method'}"
        return _render_service_error(request, MethodNotAllowed(detail, allow=allow))
    if exc.status_code == 408:  # the body-timeout middleware's, raised into FastAPI's body reading
        return _render_service_error(request, RequestTimeout(str(exc.detail)))
    return problem_response(
        request,
        status=exc.status_code,
        type_=PROBLEM_TYPE_BASE + f"http-{exc.status_code}",
        title=str(exc.detail),
        detail=str(exc.detail),
        headers=dict(exc.headers or {}),
    )


def allowed_methods(request: Request) -> str:
    """Return every method the request's path takes, over all the routes that match it (RFC 9110 ``Allow``)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        pattern, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if pattern is not None and route_methods and pattern.match(request.url.path):
            methods |= set(route_methods)
    return ", ".join(sorted(methods))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Handle anything unforeseen: log the traceback, answer 500 without it."""
    logger.exception("request %s failed unexpectedly", request_id_of(request), exc_info=exc)
    detail = f"an unexpected error occurred; quote request id {request_id_of(request)} when reporting it"
    response = _render_service_error(request, ClaimServiceError(detail))
    # this handler answers from outside the request-id middleware, so it sets the header itself
    response.headers["X-Request-ID"] = request_id_of(request)
    return response


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through problem+json."""
    app.add_exception_handler(ClaimServiceError, _on_service_error)
    app.add_exception_handler(ExtractionFailed, _on_extraction_failed)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
