"""The OpenAPI document, true to this deployment: problem+json errors, and the choices its config allows.

FastAPI documents a route's 422 as its own ``HTTPValidationError`` in ``application/json``; this service
answers every error, that one included, as a ``Problem`` in ``application/problem+json``, so each 4xx/5xx
response of each operation is pointed at the ``Problem`` schema. ``options.model`` and ``options.prompt``
are documented as the aliases and prompt versions this deployment has (a request naming another gets a
422), a job's ``mode`` as ``realtime`` alone where no configured model can batch (``batch`` is a 422
``model-cannot-batch`` there), and ``/problems/{slug}`` as the slugs there are. The document is built once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from schemas.catalog import Problem
from schemas.jobs import BatchSubmission, SingleSubmission
from schemas.streaming import ArticleFinished, ChunkClaims
from service.errors import PROBLEM_CONTENT_TYPE

PROBLEM_REF = "#/components/schemas/Problem"


def problem_openapi(app: FastAPI, choices: Choices) -> Callable[[], dict[str, Any]]:
    """Return the ``app.openapi`` replacement documenting problems and this deployment's choices (built once)."""

    def openapi() -> dict[str, Any]:
        """Build the OpenAPI document on first use, with problem+json error responses and configured choices."""
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            document = with_models(
                with_problem_responses(document), (BatchSubmission, SingleSubmission, ChunkClaims, ArticleFinished)
            )
            document = with_choices(document, choices)
            app.openapi_schema = document if choices.keys_required else without_security(document)
        return app.openapi_schema

    return openapi


@dataclass(frozen=True, slots=True)
class Choices:
    """What a request may name here: model aliases and prompt refs; and the problem slugs there are."""

    models: list[str]
    prompts: list[str]
    problems: list[str]
    modes: list[str] = field(default_factory=lambda: ["realtime", "batch"])  # a job's modes: batch if a model can
    keys_required: bool = False  # no API keys configured: no operation asks for one, and none is documented


def without_security(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the API-key schemes and the 401/403/429 they bring from a document served with no keys configured."""
    document.get("components", {}).pop("securitySchemes", None)
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.pop("security", None) is not None:
                responses = operation.get("responses", {})
                responses.pop("401", None)
                if "upstream" not in responses.get("429", {}).get("description", "upstream"):
                    responses.pop("429")  # a quota's only: no key, no quota
                if "403" in responses and "lacks this operation's scope" in responses["403"].get("description", ""):
                    responses.pop("403")
    return document


def with_models(document: dict[str, Any], models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """Add models that no route declares as a parameter (a body read by hand), and what they refer to."""
    components = document["components"]["schemas"]
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = schema
    return document


def with_choices(document: dict[str, Any], choices: Choices) -> dict[str, Any]:
    """Document ``options.model``, ``options.prompt`` and a job's ``mode`` as what is configured; the slugs too."""
    schemas = document["components"]["schemas"]
    options = schemas["ExtractionOptions"]["properties"]
    for name, allowed in (("model", choices.models), ("prompt", choices.prompts)):
        options[name]["anyOf"] = [{"type": "string", "enum": allowed}, {"type": "null"}]
    for submission in ("BatchSubmission", "SingleSubmission", "JobCallback"):
        if "mode" in schemas.get(submission, {}).get("properties", {}):
            schemas[submission]["properties"]["mode"]["enum"] = choices.modes
    for parameter in document["paths"]["/v1/jobs"]["post"]["parameters"]:
        if parameter["name"] == "mode":
            parameter["schema"]["enum"] = choices.modes
    for parameter in document["paths"]["/problems/{slug}"]["get"]["parameters"]:
        if parameter["name"] == "slug":
            parameter["schema"]["enum"] = choices.problems
    return document


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
