"""Lint, format and strict typing are part of the test suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def run_tool(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run a Python tool module at the repository root and capture its output."""
    return subprocess.run(  # noqa: S603 -- fixed arguments, our own interpreter
        [sys.executable, "-m", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    """Ruff's lint rules (docstrings included) pass on the whole repository."""
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    """The code is as ruff format would write it."""
    result = run_tool("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_service_and_schemas() -> None:
    """Mypy --strict (configured in pyproject.toml) passes on service/ and schemas/."""
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
