"""Versioned prompts: load every ``prompts/<name>/v<N>.yaml``, verify released ones against the lock, render.

A released version is immutable: ``prompts/prompts.lock`` pins its sha256 and the registry refuses to load
when the file no longer matches (make a new version instead). Templates render with Jinja2's
``StrictUndefined``, so a missing variable is an error, never an empty string.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import ConfigError, UnknownPromptVersion

LOCK_FILE = "prompts.lock"
PromptStatus = Literal["draft", "released", "retired"]

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701 -- prompts are text for a model, not HTML


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
    _templates: tuple[jinja2.Template, ...] = field(repr=False, compare=False)
    _repair: jinja2.Template = field(repr=False, compare=False)

    @property
    def ref(self) -> str:
        """Return ``name@version``."""
        return f"{self.spec.name}@{self.spec.version}"


@dataclass(frozen=True, slots=True)
class PromptSentence:
    """A sentence as the template sees it: its chunk-local id, its text and, in a transcript, its speaker."""

    id: int
    text: str
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class ContextLine:
    """A read-only context sentence as the template sees it: its text and, in a transcript, its speaker."""

    text: str
    speaker: str | None = None


def default_prompts_dir() -> Path:
    """Return the prompts shipped with the service (bundled in a wheel, or the checkout's ``prompts/``)."""
    bundled = Path(__file__).parent / "bundled_prompts"
    return bundled if bundled.is_dir() else Path(__file__).parent.parent / "prompts"


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_lock(prompts_dir: Path) -> dict[str, str]:
    """Return the pinned ``name@version → sha256`` map (empty when there is no lock)."""
    path = prompts_dir / LOCK_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not a readable JSON file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must map name@version to sha256, not hold a {type(data).__name__}")
    return {str(ref): str(digest) for ref, digest in data.items()}


# What a trial render feeds every template: with and without a title, context and speakers, so that a
# misspelt variable fails when the file is loaded or released, never at request time.
_TRIAL_VARIABLES: tuple[tuple[list[PromptSentence], list[ContextLine], str | None], ...] = (
    ([PromptSentence(1, "Prices rose 3% in May.", "SPEAKER")], [ContextLine("Earlier.", "HOST")], "A title"),
    ([PromptSentence(1, "Prices rose 3% in May.")], [], None),
)


def compile_prompt(spec: PromptFile, path: Path) -> tuple[tuple[jinja2.Template, ...], jinja2.Template]:
    """Compile a prompt's message templates and repair text, and trial-render them; ConfigError if either fails."""
    try:
        templates = tuple(_JINJA.from_string(message.content) for message in spec.messages)
        repair = _JINJA.from_string(spec.repair)
        for sentences, context, title in _TRIAL_VARIABLES:
            variables = _variables(sentences, context, title)
            for template in templates:
                template.render(variables)
        repair.render(error="the reply is not JSON")
    except jinja2.TemplateError as exc:
        raise ConfigError(f"prompt file {path} does not render: {exc}") from exc
    return templates, repair


def _load_version(path: Path) -> PromptVersion:
    """Parse and compile one prompt file."""
    try:
        spec = PromptFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"prompt file {path} is invalid: {exc}") from exc
    if path.name != f"v{spec.version}.yaml" or path.parent.name != spec.name:
        raise ConfigError(f"prompt file {path} must be named {spec.name}/v{spec.version}.yaml")
    templates, repair = compile_prompt(spec, path)
    return PromptVersion(spec=spec, sha256=file_sha256(path), path=path, _templates=templates, _repair=repair)


def _verify_pinned(version: PromptVersion, lock: dict[str, str]) -> None:
    """Refuse a released version that is not pinned, or no longer matches its pin."""
    if version.spec.status == "draft":
        return
    pinned = lock.get(version.ref)
    if pinned is None:
        raise ConfigError(f"prompt {version.ref} is {version.spec.status} but not pinned in {LOCK_FILE}")
    if pinned != version.sha256:
        raise ConfigError(
            f"prompt {version.ref} changed after release (sha256 {version.sha256[:12]}…, pinned "
            f"{pinned[:12]}…); released prompts are immutable: restore it and make a new version instead"
        )


class PromptRegistry:
    """Every prompt version under a directory, verified against the lock."""

    def __init__(self, versions: Sequence[PromptVersion]) -> None:
        self._versions = {version.ref: version for version in versions}

    @classmethod
    def load(cls, prompts_dir: Path) -> PromptRegistry:
        """Load and verify every ``<name>/v<N>.yaml`` under ``prompts_dir``."""
        if not prompts_dir.is_dir():
            raise ConfigError(f"prompts directory {prompts_dir} does not exist")
        lock = read_lock(prompts_dir)
        versions = [_load_version(path) for path in sorted(prompts_dir.glob("*/v*.yaml"))]
        for version in versions:
            _verify_pinned(version, lock)
        return cls(versions)

    def versions(self) -> list[PromptVersion]:
        """Return every version, by name then version number."""
        return sorted(self._versions.values(), key=lambda v: (v.spec.name, v.spec.version))

    def get(self, ref: str) -> PromptVersion:
        """Return the version ``name@N``, or the latest released one for a bare ``name``."""
        if "@" in ref:
            found = self._versions.get(ref)
        else:
            released = [v for v in self.versions() if v.spec.name == ref and v.spec.status == "released"]
            found = released[-1] if released else None
        if found is None:
            known = ", ".join(self._versions) or "none"
            raise UnknownPromptVersion(f"unknown prompt {ref!r}; loaded versions: {known}")
        return found


def render_prompt(
    prompt: PromptVersion,
    *,
    sentences: Sequence[PromptSentence],
    context: Sequence[ContextLine | str],
    title: str | None,
) -> list[dict[str, str]]:
    """Render a prompt version into chat messages for one chunk.

    Templates see ``title``, ``sentences`` (id, text, speaker), ``context`` (the context sentences' texts)
    and ``context_lines`` (the same sentences with their speakers); a plain string is a line without one.
    """
    variables = _variables(sentences, context, title)
    return [
        {"role": message.role, "content": template.render(variables)}
        for message, template in zip(prompt.spec.messages, prompt._templates, strict=True)
    ]


def _variables(
    sentences: Sequence[PromptSentence], context: Sequence[ContextLine | str], title: str | None
) -> dict[str, Any]:
    """Return what a template sees: sentences, the context as texts and as lines with speakers, the title."""
    lines = [line if isinstance(line, ContextLine) else ContextLine(line) for line in context]
    return {"sentences": sentences, "context": [line.text for line in lines], "context_lines": lines, "title": title}


def render_repair(prompt: PromptVersion, error: str) -> str:
    """Render the re-ask that carries a validation error back to the model."""
    return prompt._repair.render(error=error)
