"""What a prompt version is: the file's validated shape, and a loaded version with its hash and compiled templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field

PromptStatus = Literal["draft", "released", "retired"]


class PromptMessage(BaseModel):
    """One message template of a prompt."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class PromptFile(BaseModel):
    """The shape of a prompt version file."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    version: Annotated[int, Field(ge=1)]
    status: PromptStatus
    description: str
    changelog: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    reply_schema: Literal["ModelReply"]
    messages: Annotated[list[PromptMessage], Field(min_length=1)]
    repair: str


@dataclass(frozen=True)
class PromptVersion:
    """A loaded prompt version with its content hash and compiled templates."""

    spec: PromptFile
    sha256: str
    path: Path
    templates: tuple[jinja2.Template, ...] = field(repr=False, compare=False)
    repair_template: jinja2.Template = field(repr=False, compare=False)

    @property
    def ref(self) -> str:
        """Return ``name@version``."""
        return f"{self.spec.name}@{self.spec.version}"
