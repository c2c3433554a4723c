"""CI gate (DESIGN §7): replay each recorded (released prompt, model) pair and the offline model, no network.

Two gates, both offline and free:
- floors: every pair, replayed over the golden cases recorded for it, meets its floors (recall,
  precision, grounding and validity, and no failed case), so a change to the pipeline that spoils what the
  same replies give fails CI; a model too weak to have floors (``WEAK_MODELS``) has its figures pinned
  exactly instead, so any change in how the pipeline reads its real replies shows;
- no regression between releases: on every judging model recorded for two successive released versions
  of a prompt, the later one is no worse than the earlier beyond ``TOLERANCE`` on any gated metric, over
  the cases recorded for both; so a prompt worse than the one before cannot be released with its
  recordings. A weak model does not judge releases.
"""

from __future__ import annotations

import asyncio
import math
import shutil
from functools import cache
from itertools import pairwise
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli.main import app
from service.evaluation.compare import Totals, regressions, totals
from service.evaluation.golden import load_cases
from service.evaluation.recordings import recorded_models, replayable_cases
from service.evaluation.runner import EvalPlan, eval_settings, run_plan
from service.pipeline.build import build_pipeline
from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.settings import ModelEntry, Settings

GOLDEN = Path(__file__).parents[1] / "golden"
RECORDINGS = Path(__file__).parents[1] / "recordings"
OFFLINE_ENTRY = {"model_name": "default", "litellm_params": {"model": "offline/rules"}}
TOLERANCE = 0.05
# The offline model ignores instructions, so its floors hold for every prompt version that numbers the
# sentences the same way; measured on 2026-11-24 (recall 0.86, precision 0.91 on v1 and v2).
OFFLINE_FLOORS = {"recall": 0.80, "precision": 0.88, "grounding_rate": 1.0, "schema_valid_rate": 1.0}
# SmolLM2-135M on llama.cpp (../shared/tools/local-llm), recorded on 2026-11-24: a 135M model copies the
# prompt's placeholders or its example, loops until max_tokens, cites wrong sentences and writes
# check-worthiness out of range, so it finds none of the expected claims. What its recorded replies give
# is pinned: the pins guard the pipeline (parsing, repair, splitting, grounding, scoring) on real replies,
# not the model's quality. Re-pin only when a change is meant to read those replies differently.
WEAK_MODELS = {"smollm2"}
PINNED: dict[tuple[str, str], dict[str, float | None]] = {
    ("extract_claims@1", "smollm2"): {  # 15 cases: 56 claims, every one dropped by grounding; 5 chunks invalid
        "recall": 0.0,
        "precision": None,  # no claim kept in any case: unmeasured, not 1.0
        "grounding_rate": 0.0,
        "schema_valid_rate": 0.667,
        "repairs": 13,
        "tokens": 111958,
        "failed": 0,
    },
    ("extract_claims@2", "smollm2"): {  # 7 cases: 17 claims, 2 grounded (both on must-skip sentences)
        "recall": 0.0,
        "precision": 0.0,  # the one case that kept claims kept only must-skip ones
        "grounding_rate": 0.118,
        "schema_valid_rate": 0.286,
        "repairs": 9,
        "tokens": 196877,
        "failed": 2,
    },
}
PIN_PRECISION = 3  # decimals compared
FLOORS: dict[tuple[str, str], dict[str, float]] = {}  # per (prompt, alias), for a recorded model that has them
DEFAULT_FLOORS = {"recall": 0.5, "precision": 0.5, "grounding_rate": 0.8, "schema_valid_rate": 0.8}
ENVIRONMENT_PREFIX = "os.environ/"


def released_prompts() -> list[str]:
    """Return every released prompt version, by name then version."""
    registry = PromptRegistry.load(default_prompts_dir())
    return [version.ref for version in registry.versions() if version.spec.status == "released"]


def released_pairs() -> list[tuple[str, dict[str, Any]]]:
    """Return the offline model on every released prompt, and every recorded pair whose prompt is released."""
    released = released_prompts()
    recorded = [(prompt, entry) for prompt, entry in recorded_models(RECORDINGS) if prompt in released]
    return [*((prompt, OFFLINE_ENTRY) for prompt in released), *recorded]


def consecutive_releases() -> list[tuple[str, str, dict[str, Any]]]:
    """Return (earlier, later, model entry) for each model recorded on two successive released versions."""
    released = released_prompts()
    pairs = released_pairs()
    found = []
    for earlier, later in pairwise(released):
        if earlier.split("@")[0] != later.split("@")[0]:
            continue
        for prompt, entry in pairs:
            if prompt == later and (earlier, entry) in pairs and entry["model_name"] not in WEAK_MODELS:
                found.append((earlier, later, entry))
    return found


def floors_for(prompt: str, entry: dict[str, Any]) -> dict[str, float]:
    """Return the floors of one pair: the offline model's, a pinned pair's, or the default for a real model."""
    if entry == OFFLINE_ENTRY:
        return OFFLINE_FLOORS
    return FLOORS.get((prompt, entry["model_name"]), DEFAULT_FLOORS)


def recorded_case_ids(prompts: tuple[str, ...], entry: dict[str, Any]) -> tuple[str, ...]:
    """Return the ids of the golden cases recorded for every prompt on this model (all for the offline model)."""
    kept, _ = replayable_cases(load_cases(GOLDEN), prompts, [entry["model_name"]], RECORDINGS)
    return tuple(case.id for case in kept)


@cache
def replay(prompt: str, alias: str, case_ids: tuple[str, ...]) -> Totals:
    """Replay one (prompt, model) over the given golden cases and return its totals (once per test session)."""
    entry = next(entry for recorded, entry in released_pairs() if recorded == prompt and entry["model_name"] == alias)
    model = ModelEntry.model_validate(entry)
    cases = [case for case in load_cases(GOLDEN) if case.id in case_ids]
    with TemporaryDirectory() as cache_dir:
        settings = Settings(cache_dir=Path(cache_dir), retry_max_wait_s=0.01, retry_total_s=5)
        others = [other for other in settings.models if other.model_name != model.model_name]
        settings = settings.model_copy(update={"models": [*others, model]})
        plan = EvalPlan([prompt], [model.model_name], cases, "replay", RECORDINGS)
        return totals(asyncio.run(run_plan(build_pipeline(eval_settings(settings)), plan)))


@pytest.fixture(autouse=True)
def placeholder_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every key a recorded model reads from the environment a dummy value (replay never sends it)."""
    for _, entry in released_pairs():
        for value in entry["litellm_params"].values():
            if isinstance(value, str) and value.startswith(ENVIRONMENT_PREFIX):
                monkeypatch.setenv(value.removeprefix(ENVIRONMENT_PREFIX), "sk-replay-not-a-key")


def pair_id(value: object) -> str:
    """Name a parameter in the test id: the prompt, or the model alias."""
    return str(value["model_name"]) if isinstance(value, dict) else str(value)


def replay_pair(prompt: str, entry: dict[str, Any]) -> Totals:
    """Replay a pair over every golden case recorded for it."""
    case_ids = recorded_case_ids((prompt,), entry)
    assert case_ids, f"{prompt} on {entry['model_name']} has a recording directory but no recorded golden case"
    return replay(prompt, entry["model_name"], case_ids)


def strong_pairs() -> list[tuple[str, dict[str, Any]]]:
    """Return the released pairs held to floors (every one but the weak models')."""
    return [(prompt, entry) for prompt, entry in released_pairs() if entry["model_name"] not in WEAK_MODELS]


def weak_pairs() -> list[tuple[str, dict[str, Any]]]:
    """Return the released pairs of weak models, whose figures are pinned."""
    return [(prompt, entry) for prompt, entry in released_pairs() if entry["model_name"] in WEAK_MODELS]


@pytest.mark.parametrize(("prompt", "entry"), strong_pairs(), ids=pair_id)
def test_recorded_pair_meets_its_floors(prompt: str, entry: dict[str, Any]) -> None:
    """Each released (prompt, model) pair, replayed, meets its recall, precision, grounding and validity floors."""
    result = replay_pair(prompt, entry)
    floors = floors_for(prompt, entry)
    below = {name: round(result.metric(name), 3) for name, floor in floors.items() if result.metric(name) < floor}
    assert below == {}, f"{prompt} on {entry['model_name']} fell below its floors {floors}: {below}"
    assert result.failed == 0


def pinned_figure(value: float) -> float | None:
    """Round a figure to the pinned decimals; an unmeasured one (NaN) is None."""
    return None if math.isnan(value) else round(value, PIN_PRECISION)


@pytest.mark.parametrize(("prompt", "entry"), weak_pairs(), ids=pair_id)
def test_weak_model_replay_gives_its_pinned_figures(prompt: str, entry: dict[str, Any]) -> None:
    """A weak model's recorded replies, replayed, give exactly the pinned figures (failed cases included)."""
    pin = PINNED.get((prompt, entry["model_name"]))
    assert pin is not None, f"pin what replaying {prompt} on {entry['model_name']} gives in PINNED"
    result = replay_pair(prompt, entry)
    figures = {name: pinned_figure(result.metric(name)) for name in pin}
    assert figures == pin


@pytest.mark.parametrize(("earlier", "later", "entry"), consecutive_releases(), ids=pair_id)
def test_a_release_is_no_worse_than_the_one_before(earlier: str, later: str, entry: dict[str, Any]) -> None:
    """On every model recorded for both, a released version does not regress against the previous release."""
    alias = entry["model_name"]
    case_ids = recorded_case_ids((earlier, later), entry)
    assert case_ids, f"no golden case is recorded for both {earlier} and {later} on {alias}"
    worse = regressions(replay(later, alias, case_ids), replay(earlier, alias, case_ids), TOLERANCE)
    assert worse == [], f"{later} regresses against {earlier} on {alias}: {worse}"


def test_the_gate_covers_the_offline_model_on_every_release_and_compares_them() -> None:
    """The gate is not empty: the offline model replays on each released version, and v2 is compared with v1."""
    pairs = released_pairs()
    assert [prompt for prompt, entry in pairs if entry == OFFLINE_ENTRY] == released_prompts()
    assert ("extract_claims@1", "extract_claims@2", OFFLINE_ENTRY) in consecutive_releases()


BROKEN = Path(__file__).parents[1] / "fixtures" / "broken-prompt"


@pytest.fixture
def broken_prompt_setup(tmp_path: Path) -> tuple[Path, Path]:
    """The shipped prompts plus the broken draft v3, and the recordings plus SmolLM2's replies to v3."""
    prompts, recordings = tmp_path / "prompts", tmp_path / "recordings"
    shutil.copytree(default_prompts_dir(), prompts)
    shutil.copy(BROKEN / "extract_claims-v3.yaml", prompts / "extract_claims" / "v3.yaml")
    shutil.copytree(RECORDINGS, recordings)
    shutil.copytree(BROKEN / "recordings", recordings, dirs_exist_ok=True)
    return prompts, recordings


def test_a_prompt_stripped_of_its_instructions_fails_the_eval_on_recorded_replies(
    broken_prompt_setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``claims eval`` exits 1 on the broken v3 against v1 on SmolLM2's real replies; the offline model cannot tell."""
    prompts, recordings = broken_prompt_setup
    monkeypatch.chdir(tmp_path)  # no claims.yaml: built-in settings; smollm2 comes from its recording
    monkeypatch.delenv("CLAIMS_CONFIG", raising=False)
    args = ["eval", "--prompt", "extract_claims@3", "--baseline", "extract_claims@1", "--replay"]
    args += ["--prompts-dir", str(prompts), "--recordings", str(recordings), "--cases", str(GOLDEN)]

    on_smollm2 = CliRunner().invoke(app, [*args, "--model", "smollm2"])
    offline = CliRunner().invoke(app, args)

    assert on_smollm2.exit_code == 1, on_smollm2.output
    assert "REGRESSION smollm2: schema_valid_rate" in on_smollm2.stdout
    assert "not recorded:" in on_smollm2.stderr
    assert offline.exit_code == 0, offline.output  # the rules ignore instructions: no judge of prompts
