"""Fixtures of the prompt tests: a private copy of the shipped prompts, and the shipped v1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.prompts.registry import LOCK_FILE, PromptRegistry, default_prompts_dir, read_lock
from service.prompts.spec import PromptVersion
from tests.prompts.prompt_files import SHIPPED_REF


@pytest.fixture
def prompts_copy(tmp_path: Path) -> Path:
    """A private prompts directory holding a copy of the shipped ``extract_claims@1`` and its pin only."""
    copy = tmp_path / "prompts"
    (copy / "extract_claims").mkdir(parents=True)
    shutil.copy(default_prompts_dir() / "extract_claims" / "v1.yaml", copy / "extract_claims" / "v1.yaml")
    (copy / LOCK_FILE).write_text(json.dumps({SHIPPED_REF: read_lock(default_prompts_dir())[SHIPPED_REF]}))
    return copy


@pytest.fixture
def shipped_prompt() -> PromptVersion:
    """The shipped ``extract_claims@1``."""
    return PromptRegistry.load(default_prompts_dir()).get(SHIPPED_REF)
