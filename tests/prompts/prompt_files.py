"""Prompt files written by tests: a minimal valid version, written and pinned where a test wants it."""

from __future__ import annotations

import json
from pathlib import Path

from service.prompts.registry import LOCK_FILE, file_sha256, read_lock

SHIPPED_REF = "extract_claims@1"


def prompt_yaml(name: str, version: int, status: str, user_template: str = "{{ title }}") -> str:
    """Return the text of a minimal valid prompt file."""
    return (
        f"name: {name}\n"
        f"version: {version}\n"
        f"status: {status}\n"
        "description: A prompt written by a test.\n"
        "reply_schema: ModelReply\n"
        "messages:\n"
        "  - role: system\n"
        "    content: Extract claims.\n"
        "  - role: user\n"
        f"    content: {json.dumps(user_template)}\n"
        "repair: 'Fix this: {{ error }}'\n"
    )


def write_prompt(prompts_dir: Path, name: str, version: int, status: str, user_template: str = "{{ title }}") -> Path:
    """Write a prompt file at ``<prompts_dir>/<name>/v<version>.yaml`` and return its path."""
    path = prompts_dir / name / f"v{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(prompt_yaml(name, version, status, user_template), encoding="utf-8")
    return path


def pin(prompts_dir: Path, ref: str, path: Path) -> None:
    """Add ``ref`` with the sha256 of ``path`` to the lock file."""
    lock = read_lock(prompts_dir)
    lock[ref] = file_sha256(path)
    (prompts_dir / LOCK_FILE).write_text(json.dumps(lock, indent=2), encoding="utf-8")
