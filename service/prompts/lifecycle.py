"""The prompt lifecycle on disk: scaffold the next version as a draft, release it, retire it, diff two.

``new_version`` starts the next version from the latest released one, and refuses while that draft
exists. A draft is free to change; ``release_version`` flips its status to ``released`` and pins its
sha256 in ``prompts.lock``, after which the registry refuses the file if it changes (a change is a new
version); it refuses a draft whose changelog is still the scaffold's placeholder, or whose messages and
repair text are those of the version before it (a release that changes nothing a model sees).
``retire_version`` flips a released file's status to ``retired``, its one allowed change, and re-pins it.
Files are edited as text, one top-level key at a time, so comments and layout survive.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from service.errors import ConfigError, InputError, UnknownPromptVersion
from service.prompts.registry import LOCK_FILE, file_sha256, read_lock
from service.prompts.rendering import compile_prompt
from service.prompts.spec import PromptFile

CHANGELOG_PLACEHOLDER = "TODO: say what changed from v{previous} and why."
_REF = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)@(?P<version>[1-9][0-9]*)$")


def parse_ref(ref: str) -> tuple[str, int]:
    """Split ``name@N`` into its name and version number."""
    match = _REF.match(ref)
    if match is None:
        raise InputError(f"{ref!r} is not a prompt version; write it as name@N, e.g. extract_claims@2")
    return match["name"], int(match["version"])


def version_path(prompts_dir: Path, name: str, version: int) -> Path:
    """Return where ``name@version`` lives: ``<prompts_dir>/<name>/v<version>.yaml``."""
    return prompts_dir / name / f"v{version}.yaml"


def latest_released_version(prompts_dir: Path, name: str) -> int:
    """Return the highest version of ``name`` pinned in the lock (released, or since retired)."""
    pinned_refs = (parse_ref(ref) for ref in read_lock(prompts_dir))
    pinned = [version for pinned_name, version in pinned_refs if pinned_name == name]
    if not pinned:
        raise UnknownPromptVersion(f"no released version of prompt {name!r} in {prompts_dir / LOCK_FILE} to start from")
    return max(pinned)


def new_version(prompts_dir: Path, name: str) -> Path:
    """Copy the latest released version of ``name`` to the next number as a draft; return the new file's path."""
    previous = latest_released_version(prompts_dir, name)
    target = version_path(prompts_dir, name, previous + 1)
    if target.exists():
        raise InputError(f"{target} already exists; edit that draft, or release it and run `new` again")
    text = _existing_path(prompts_dir, name, previous).read_text(encoding="utf-8")
    for key, value in (
        ("version", previous + 1),
        ("status", "draft"),
        ("changelog", CHANGELOG_PLACEHOLDER.format(previous=previous)),
    ):
        text = _set_field(text, key, value)
    _check_spec(target, text, name, previous + 1)
    target.write_text(text, encoding="utf-8")
    return target


def release_version(prompts_dir: Path, ref: str) -> str:
    """Mark ``name@N`` released and pin its sha256 in the lock, keeping every other pin; return the sha256."""
    name, version = parse_ref(ref)
    path = _existing_path(prompts_dir, name, version)
    lock = read_lock(prompts_dir)
    if ref in lock:
        raise InputError(f"prompt {ref} is already released; released prompts are immutable: make a new version")
    text = _set_field(path.read_text(encoding="utf-8"), "status", "released")
    spec = _check_spec(path, text, name, version)
    _refuse_unchanged(prompts_dir, spec)
    path.write_text(text, encoding="utf-8")
    lock[ref] = file_sha256(path)
    write_lock(prompts_dir, lock)
    return lock[ref]


def retire_version(prompts_dir: Path, ref: str) -> str:
    """Mark a released ``name@N`` retired and re-pin it; return its new sha256.

    Only the ``status`` line changes, and only in a file that still matches its pin. A retired version
    still loads and can be named explicitly (to reproduce old results); it is never a name's latest.
    """
    name, version = parse_ref(ref)
    path = _existing_path(prompts_dir, name, version)
    lock = read_lock(prompts_dir)
    if ref not in lock:
        raise InputError(f"prompt {ref} is not released; only a released version can be retired")
    if file_sha256(path) != lock[ref]:
        raise ConfigError(f"prompt {ref} changed after release; restore it before retiring it")
    text = path.read_text(encoding="utf-8")
    if PromptFile.model_validate(yaml.safe_load(text)).status == "retired":
        raise InputError(f"prompt {ref} is already retired")
    text = _set_field(text, "status", "retired")
    _check_spec(path, text, name, version)
    path.write_text(text, encoding="utf-8")
    lock[ref] = file_sha256(path)
    write_lock(prompts_dir, lock)
    return lock[ref]


def write_lock(prompts_dir: Path, lock: dict[str, str]) -> None:
    """Write the ``name@version → sha256`` map as JSON with sorted keys."""
    text = json.dumps(lock, indent=2, sort_keys=True) + "\n"
    (prompts_dir / LOCK_FILE).write_text(text, encoding="utf-8")


def diff_versions(prompts_dir: Path, old_ref: str, new_ref: str) -> str:
    """Return a unified diff from the file of ``old_ref`` to the file of ``new_ref`` (empty when equal)."""
    old, new = (_existing_path(prompts_dir, *parse_ref(ref)) for ref in (old_ref, new_ref))
    lines = difflib.unified_diff(
        old.read_text(encoding="utf-8").splitlines(keepends=True),
        new.read_text(encoding="utf-8").splitlines(keepends=True),
        fromfile=old_ref,
        tofile=new_ref,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _existing_path(prompts_dir: Path, name: str, version: int) -> Path:
    """Return the file of ``name@version``, refusing one that does not exist."""
    path = version_path(prompts_dir, name, version)
    if not path.is_file():
        raise UnknownPromptVersion(f"unknown prompt {name}@{version}: {path} does not exist")
    return path


def _set_field(text: str, key: str, value: object) -> str:
    """Replace a top-level ``key:`` (with its indented continuation lines), or add it after ``status:``."""
    line = yaml.safe_dump({key: value}, default_flow_style=False, width=1_000_000).rstrip("\n")
    # the key's line, its indented continuation lines, and blank lines inside them (a block of paragraphs)
    existing = re.compile(rf"^{key}:.*(?:\n(?:[ \t]+\S.*|[ \t]*(?=\n[ \t]+\S)))*", re.MULTILINE)
    if existing.search(text):
        return existing.sub(lambda _: line, text, count=1)
    return re.sub(r"^(status:.*)$", lambda match: f"{match[1]}\n{line}", text, count=1, flags=re.MULTILINE)


def _refuse_unchanged(prompts_dir: Path, spec: PromptFile) -> None:
    """Refuse to release a draft whose changelog is the placeholder, or whose messages equal its predecessor's."""
    if re.fullmatch(CHANGELOG_PLACEHOLDER.format(previous=r"\d+").replace(".", r"\."), spec.changelog.strip()):
        raise InputError(
            f"prompt {spec.name}@{spec.version} still has the scaffold's changelog; say what changed and why first"
        )
    earlier = [v for v in range(spec.version - 1, 0, -1) if version_path(prompts_dir, spec.name, v).is_file()]
    if not earlier:
        return
    previous_path = version_path(prompts_dir, spec.name, earlier[0])
    previous = PromptFile.model_validate(yaml.safe_load(previous_path.read_text(encoding="utf-8")))
    if (previous.messages, previous.repair) == (spec.messages, spec.repair):
        raise InputError(
            f"prompt {spec.name}@{spec.version} sends the model exactly what v{previous.version} does (same messages "
            "and repair text); edit the draft, or keep the released version"
        )


def _check_spec(path: Path, text: str, name: str, version: int) -> PromptFile:
    """Refuse to write text that is not a valid prompt file for ``name@version``; return the parsed file."""
    try:
        spec = PromptFile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"prompt file {path} would be invalid: {exc}") from exc
    if (spec.name, spec.version) != (name, version):
        raise ConfigError(f"prompt file {path} says {spec.name}@{spec.version}, expected {name}@{version}")
    compile_prompt(spec, path)  # a template that does not compile or render is never released
    return spec
