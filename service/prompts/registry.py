"""The prompt registry: load every ``prompts/<name>/v<N>.yaml``, verify released ones against the lock.

A released version is immutable: ``prompts/prompts.lock`` pins its sha256 and the registry refuses to load
when the file no longer matches (make a new version instead). Every template is compiled and trial-rendered
as it loads (``service.prompts.rendering``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from service.errors import ConfigError, UnknownPromptVersion, validation_summary
from service.prompts.rendering import compile_prompt
from service.prompts.spec import PromptFile, PromptVersion

LOCK_FILE = "prompts.lock"


def default_prompts_dir() -> Path:
    """Return the prompts shipped with the service (bundled in a wheel, or the checkout's ``prompts/``)."""
    package = Path(__file__).resolve().parents[1]
    bundled = package / "bundled_prompts"
    return bundled if bundled.is_dir() else package.parent / "prompts"


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


def _load_version(path: Path) -> PromptVersion:
    """Parse and compile one prompt file."""
    try:
        spec = PromptFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise ConfigError(f"prompt file {path} is invalid: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"prompt file {path} is invalid: {validation_summary(exc.errors(), root='prompt')}") from exc
    if path.name != f"v{spec.version}.yaml" or path.parent.name != spec.name:
        raise ConfigError(f"prompt file {path} must be named {spec.name}/v{spec.version}.yaml")
    templates, repair = compile_prompt(spec, path)
    return PromptVersion(spec=spec, sha256=file_sha256(path), path=path, templates=templates, repair_template=repair)


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
