"""Run prompt versions × models over golden cases through the real pipeline, live, recorded or replayed.

Each (prompt, model, case) is one ``Pipeline.extract`` with the cache off, scored with ``score_case`` and
measured: claims kept and dropped by grounding, chunks and chunks whose output never validated, repairs,
tokens, cost and latency. Recording and replay wrap the run in ``service.evaluation.recordings``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from schemas import Claim, ExtractionOptions, ExtractionResult, Usage
from service.errors import ClaimServiceError, ExtractionFailed
from service.evaluation.golden import CaseScore, GoldenCase, score_case
from service.evaluation.recordings import (
    RecordingFailed,
    Tape,
    load_exchanges,
    recording,
    recording_path,
    replaying,
    save_exchanges,
    save_model,
)
from service.llm.client import warm_up
from service.llm.secrets import secret_values
from service.pipeline.extraction import Pipeline
from service.settings import Settings

Mode = Literal["replay", "live", "record"]
UPSTREAM = "upstream-"  # the slug prefix of a provider's failure
GROUNDING_DROPS = {"claim_outside_chunk_dropped", "ungrounded_claim_dropped"}
INVALID_OUTPUT = "invalid-model-output"


class CaseRun(BaseModel):
    """One case run with one prompt version on one model: its claims, score and costs."""

    case_id: str
    prompt: str
    model: str
    claims: list[Claim]
    score: CaseScore
    kept: int
    dropped: int
    chunks: int
    invalid_chunks: int
    repairs: int
    tokens: int
    cost_usd: float | None
    latency_s: float
    error: str | None = None
    dropped_notes: list[str] = Field(default_factory=list, description="Why grounding dropped each dropped claim.")
    answered_by: dict[str, int] = Field(default_factory=dict, description="Chunks answered, by model alias.")
    chunk_errors: list[tuple[str, str]] = Field(default_factory=list, description="(code, detail) of failed chunks.")

    @property
    def grounding_rate(self) -> float:
        """Claims kept ÷ (kept + dropped by grounding); NaN (unmeasured) when the model gave none."""
        total = self.kept + self.dropped
        return self.kept / total if total else float("nan")

    @property
    def schema_valid_rate(self) -> float:
        """1 − chunks whose output never validated ÷ chunks; 1 when there were none."""
        return 1 - self.invalid_chunks / self.chunks if self.chunks else 1.0


@dataclass(frozen=True)
class EvalPlan:
    """What to run and how: prompt refs, model aliases, cases, mode and where recordings live."""

    prompts: list[str]
    models: list[str]
    cases: list[GoldenCase]
    mode: Mode
    recordings: Path
    live: httpx.AsyncBaseTransport | None = None  # recording's upstream; default the network


class ModelCannotAnswer(RuntimeError):
    """A model under evaluation failed upstream (no key, unreachable, refused): its figures would measure nothing."""


def eval_settings(settings: Settings, *, fallbacks: bool = False) -> Settings:
    """Return the settings with the reply cache off, and fallbacks off unless asked, so each model answers itself."""
    update: dict[str, Any] = {"cache_enabled": False}
    if not fallbacks:
        update["fallbacks"] = {}
    return settings.model_copy(update=update)


def prompt_label(pipeline: Pipeline, ref: str) -> str:
    """Return the ``name@version`` a prompt ref resolves to (``extract_claims`` → its latest released)."""
    version = pipeline.prompts.get(ref)
    return f"{version.spec.name}@{version.spec.version}"


def secrets_of(settings: Settings) -> list[str]:
    """Return the key values the configured models would send, so recordings can never hold them."""
    return [secret for entry in settings.models for secret in secret_values(entry)]


async def run_plan(pipeline: Pipeline, plan: EvalPlan, advance: Callable[[], None] = lambda: None) -> list[CaseRun]:
    """Run every (prompt, model, case) of the plan in order, calling ``advance`` after each."""
    await warm_up()  # litellm's import and first call must not count in the first case's latency
    runs: list[CaseRun] = []
    for ref in plan.prompts:
        label = prompt_label(pipeline, ref)
        for alias in plan.models:
            for case in plan.cases:
                runs.append(await run_case(pipeline, plan, label, alias, case))
                advance()
    return runs


async def run_case(pipeline: Pipeline, plan: EvalPlan, prompt: str, alias: str, case: GoldenCase) -> CaseRun:
    """Run one case, recording or replaying its provider exchanges as the plan's mode says."""
    path = recording_path(plan.recordings, prompt, alias, case.id)
    tape_context: AbstractContextManager[Tape | None]
    if plan.mode == "record":
        tape_context = recording(plan.live)
    elif plan.mode == "replay":
        tape_context = replaying(load_exchanges(path))
    else:
        tape_context = nullcontext()
    with tape_context as tape:
        run = await measure_case(pipeline, prompt, alias, case)
    if tape is not None and plan.mode == "replay":
        tape.check_complete(path)
    upstream = _upstream_failure(run)
    if plan.mode == "record" and upstream is not None:
        raise RecordingFailed(f"recording {prompt} on {alias} failed at case {case.id}: {upstream}")
    if plan.mode == "live" and upstream is not None:
        raise ModelCannotAnswer(f"model {alias!r} cannot answer ({prompt}, case {case.id}): {upstream}")
    if tape is not None and plan.mode == "record" and not tape.exchanges:
        raise RecordingFailed(
            f"recording {prompt} on {alias} recorded nothing at case {case.id}: the model made no HTTP call "
            "(the offline model needs no recording)"
        )
    if tape is not None and plan.mode == "record":
        secrets = secrets_of(pipeline.settings)
        save_exchanges(path, tape.exchanges, secrets)
        entry = pipeline.settings.model_entry(alias)
        if entry is not None:
            save_model(path.parent, entry.model_dump(mode="json"), secrets)
    return run


async def measure_case(pipeline: Pipeline, prompt: str, alias: str, case: GoldenCase) -> CaseRun:
    """Extract the case's claims with one prompt and model, and score and measure the result."""
    request = case.request(ExtractionOptions(model=alias, prompt=prompt, cache=False))
    started = time.perf_counter()
    try:
        result = await pipeline.extract(request)
    except ExtractionFailed as failed:
        return _failed_run(case, prompt, alias, failed.cause, failed.usage, time.perf_counter() - started)
    except ClaimServiceError as error:
        return _failed_run(case, prompt, alias, error, None, time.perf_counter() - started)
    latency = time.perf_counter() - started
    drops = [warning.detail for warning in result.warnings if warning.code in GROUNDING_DROPS]
    return CaseRun(
        case_id=case.id,
        prompt=prompt,
        model=alias,
        claims=result.claims,
        score=score_case(case, result),
        kept=len(result.claims),
        dropped=len(drops),
        dropped_notes=drops,
        answered_by={model.alias: model.chunks for model in result.provenance.models},
        chunks=result.usage.chunks,
        invalid_chunks=len({error.chunk for error in result.errors if error.code == INVALID_OUTPUT}),
        chunk_errors=[(error.code, error.detail) for error in result.errors],
        repairs=result.usage.repairs,
        tokens=result.usage.prompt_tokens + result.usage.completion_tokens,
        cost_usd=result.usage.cost_usd,
        latency_s=latency,
    )


def _upstream_failure(run: CaseRun) -> str | None:
    """Return what failed upstream in a case (the whole of it, or a chunk), if anything did."""
    if run.error is not None and run.error.startswith(UPSTREAM):
        return run.error
    return next((f"{code}: {detail}" for code, detail in run.chunk_errors if code.startswith(UPSTREAM)), None)


def _failed_run(
    case: GoldenCase, prompt: str, alias: str, error: ClaimServiceError, spent: Usage | None, latency: float
) -> CaseRun:
    """Describe a case that failed whole: no claims and what it spent; its chunks fail by the first's cause."""
    no_claims: dict[str, Any] = {"claims": []}  # score_case reads only the claims
    empty = ExtractionResult.model_construct(**no_claims)
    chunks = spent.chunks if spent is not None else 1
    return CaseRun(
        case_id=case.id,
        prompt=prompt,
        model=alias,
        claims=[],
        score=score_case(case, empty),
        kept=0,
        dropped=0,
        chunks=chunks,
        invalid_chunks=chunks if error.slug == INVALID_OUTPUT else 0,
        repairs=spent.repairs if spent is not None else 0,
        tokens=spent.prompt_tokens + spent.completion_tokens if spent is not None else 0,
        cost_usd=spent.cost_usd if spent is not None else None,
        latency_s=latency,
        error=f"{error.slug}: {error}",
    )
