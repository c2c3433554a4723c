"""CI gate (DESIGN §7): replay each recorded (released prompt, model) pair and the offline model, no network.

Every pair runs over the golden cases and must meet its floors; a regression fails CI with no key.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from service.app import build_pipeline
from service.evaluation.compare import Totals, totals
from service.evaluation.golden import load_cases
from service.evaluation.recordings import recorded_models
from service.evaluation.runner import EvalPlan, eval_settings, run_plan
from service.prompts import PromptRegistry, default_prompts_dir
from service.settings import ModelEntry, Settings

GOLDEN = Path(__file__).parent / "golden"
RECORDINGS = Path(__file__).parent / "recordings"
OFFLINE = ("extract_claims@1", {"model_name": "default", "litellm_params": {"model": "offline/rules"}})
# Floors per (prompt, alias); the offline model's were measured on 2026-11-24 (recall 0.86, precision 0.87).
FLOORS: dict[tuple[str, str], dict[str, float]] = {
    ("extract_claims@1", "default"): {
        "recall": 0.80,
        "precision": 0.85,
        "grounding_rate": 1.0,
        "schema_valid_rate": 1.0,
    }
}
DEFAULT_FLOORS = {"recall": 0.5, "precision": 0.5, "grounding_rate": 0.8, "schema_valid_rate": 0.8}
ENVIRONMENT_PREFIX = "os.environ/"


def released_pairs() -> list[tuple[str, dict[str, Any]]]:
    """Return the offline pair and every recorded pair whose prompt version is released."""
    registry = PromptRegistry.load(default_prompts_dir())
    released = {version.ref for version in registry.versions() if version.spec.status == "released"}
    return [OFFLINE, *((prompt, entry) for prompt, entry in recorded_models(RECORDINGS) if prompt in released)]


def replay(prompt: str, entry: dict[str, Any], tmp_path: Path) -> Totals:
    """Replay one (prompt, model) over the golden cases and return its totals."""
    model = ModelEntry.model_validate(entry)
    settings = Settings(cache_dir=tmp_path / "cache", retry_max_wait_s=0.01, retry_total_s=5)
    others = [other for other in settings.models if other.model_name != model.model_name]
    settings = settings.model_copy(update={"models": [*others, model]})
    plan = EvalPlan([prompt], [model.model_name], load_cases(GOLDEN), "replay", RECORDINGS)
    return totals(asyncio.run(run_plan(build_pipeline(eval_settings(settings)), plan)))


def pair_id(value: object) -> str:
    """Name a parameter in the test id: the prompt, or the model alias."""
    return str(value["model_name"]) if isinstance(value, dict) else str(value)


@pytest.mark.parametrize(("prompt", "entry"), released_pairs(), ids=pair_id)
def test_recorded_pair_meets_its_floors(
    prompt: str, entry: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each released (prompt, model) pair, replayed, meets its recall, precision, grounding and validity floors."""
    for value in entry["litellm_params"].values():
        if isinstance(value, str) and value.startswith(ENVIRONMENT_PREFIX):
            monkeypatch.setenv(value.removeprefix(ENVIRONMENT_PREFIX), "sk-replay-not-a-key")
    result = replay(prompt, entry, tmp_path)
    floors = FLOORS.get((prompt, entry["model_name"]), DEFAULT_FLOORS)
    below = {name: round(result.metric(name), 3) for name, floor in floors.items() if result.metric(name) < floor}
    assert below == {}, f"{prompt} on {entry['model_name']} fell below its floors {floors}: {below}"
    assert result.failed == 0
