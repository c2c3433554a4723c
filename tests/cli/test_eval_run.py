"""Tests of ``service/cli/eval_run.py``: ``claims eval run`` never lets a fallback stand in for the model named."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx
import yaml
from typer.testing import CliRunner

from service.cli.main import app
from tests.conftest import OPENAI_URL
from tests.providers import scripted_openai_reply

GOLDEN = Path(__file__).parents[1] / "golden"
CASE = "cdc-overdose-deaths-2023"


@pytest.fixture
def gpt_with_fallback(tmp_path: Path) -> Path:
    """A config whose default alias ``gpt`` (key from OPENAI_API_KEY) falls back to the offline model."""
    config = tmp_path / "claims.yaml"
    models = [
        {
            "model_name": "gpt",
            "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY"},
        },
        {"model_name": "default", "litellm_params": {"model": "offline/rules"}},
    ]
    config.write_text(
        yaml.safe_dump({"default_model": "gpt", "models": models, "fallbacks": {"gpt": ["default"]}}), encoding="utf-8"
    )
    return config


@pytest.fixture
def one_case(tmp_path: Path) -> Path:
    """A directory holding one golden case."""
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / f"{CASE}.yaml").write_text((GOLDEN / f"{CASE}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return cases


@pytest.mark.parametrize("mode", ["--live", "--record"])
def test_a_model_that_cannot_answer_is_an_error_naming_it_not_a_table_of_its_fallback(
    mode: str, gpt_with_fallback: Path, one_case: Path, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """With no key for gpt, eval exits 2 naming gpt and why; it never measures the offline fallback as "gpt"."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    recordings = tmp_path / "recordings"
    args = ["eval", "--model", "gpt", mode, "-c", str(gpt_with_fallback), "--cases", str(one_case)]
    result = CliRunner().invoke(app, [*args, "--recordings", str(recordings)])
    assert result.exit_code == 2, result.output
    assert "model 'gpt'" in result.output
    assert "OPENAI_API_KEY" in result.output
    assert "recall" not in result.output  # no table of figures pretending to be gpt's
    assert route.call_count == 0
    assert not list(recordings.rglob("*.json"))


def test_fallbacks_asked_for_are_used_and_said(
    gpt_with_fallback: Path, one_case: Path, http_mock: respx.MockRouter
) -> None:
    """``--fallbacks`` lets the offline model answer for gpt, and the output says how many chunks it answered."""
    args = ["eval", "--model", "gpt", "--live", "--fallbacks", "-c", str(gpt_with_fallback), "--cases", str(one_case)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "chunks answered by fallbacks, not by 'gpt': 'default' 1" in " ".join(result.output.split())
