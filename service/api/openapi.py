"""The OpenAPI document, with every error response described as what it is: RFC 9457 problem+json.

FastAPI documents a route's 422 as its own ``HTTPValidationError`` in ``application/json``; this service
answers every error, that one included, as a ``Problem`` in ``application/problem+json``. The document is
built once, then each 4xx/5xx response of each operation is pointed at the ``Problem`` schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.catalog import Problem
from service.errors import PROBLEM_CONTENT_TYPE

PROBLEM_REF = "#/components/schemas/Problem"


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Return the ``app.openapi`` replacement that documents error responses as problems (built once)."""

    def openapi() -> dict[str, Any]:
        """Build the OpenAPI document on first use, with problem+json error responses."""
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = with_problem_responses(document)
        return app.openapi_schema

    return openapi


def with_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Point every 4xx/5xx response at the ``Problem`` schema and drop FastAPI's unused validation schemas."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in json.dumps(document):
            schemas.pop(unused, None)
    return document
