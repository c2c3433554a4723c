"""The contract of the read-only endpoints: prompts, models and health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PromptSummary(BaseModel):
    """A prompt version as ``GET /v1/prompts`` lists it."""

    name: str
    version: int
    status: Literal["draft", "released", "retired"]
    description: str
    sha256: str


class PromptDetail(PromptSummary):
    """A whole prompt version, templates included."""

    changelog: str
    params: dict[str, Any]
    reply_schema: str
    messages: list[dict[str, str]]
    repair: str


class ModelSummary(BaseModel):
    """A configured model alias; never its secrets."""

    name: str = Field(description="The alias clients pass as options.model.")
    model: str = Field(description="The provider model, e.g. openai/gpt-4o-mini.")
    default: bool
    fallbacks: list[str]


class HealthStatus(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "ready"]
    checks: dict[str, Any] = Field(default_factory=dict)


class ProblemType(BaseModel):
    """Documentation of one problem ``type``."""

    type: str
    title: str
    status: int
    description: str


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error of this service is answered (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A relative URI; GET it for the problem type's documentation.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request that failed.")
    request_id: str = Field(description="The same as the X-Request-ID response header; quote it when reporting.")
