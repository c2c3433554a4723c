"""``claims eval run`` (also spelt ``claims eval --prompt …``): regression-test a prompt version.

Runs a candidate prompt version, and a baseline, over the golden cases through the real pipeline,
replayed from recordings, live or recording (DESIGN §7); prints the side-by-side table with a progress
bar, writes the HTML report and exits 1 when the candidate regresses beyond the tolerance. Heavy modules
are imported inside the functions, so importing this one stays cheap.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli.checkout_data import GOLDEN_CASES, RECORDINGS, data_path

if TYPE_CHECKING:
    from service.evaluation.golden import GoldenCase
    from service.evaluation.runner import CaseRun, EvalPlan, Mode
    from service.pipeline.extraction import Pipeline
    from service.settings import Settings

EVAL_WIDE = 168  # the side-by-side eval table's width when the terminal is narrower (or not a terminal)
REPLAY_KEY = "sk-replay-placeholder"  # what a recorded model's key reads during a replay, which sends nothing


def run(
    prompt: Annotated[str | None, typer.Option("--prompt", help="Candidate prompt, name@version.")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="Baseline prompt to compare against.")] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Model alias; repeatable (default: the configured one).")
    ] = None,
    cases: Annotated[
        Path | None, typer.Option("--cases", help="Directory of golden cases (*.yaml) [default: tests/golden].")
    ] = None,
    replay: Annotated[bool, typer.Option("--replay", help="Serve recorded provider replies (the default).")] = False,
    live: Annotated[bool, typer.Option("--live", help="Call the models for real; record nothing.")] = False,
    record: Annotated[bool, typer.Option("--record", help="Call the models for real and store the replies.")] = False,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Allowed drop on a gated metric.")] = 0.05,
    report: Annotated[Path | None, typer.Option("--report", help="Also write a self-contained HTML report.")] = None,
    recordings: Annotated[
        Path | None, typer.Option("--recordings", help="Directory of recorded replies [default: tests/recordings].")
    ] = None,
    fallbacks: Annotated[
        bool, typer.Option("--fallbacks", help="Let configured fallbacks answer for a failing model (off: it fails).")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
    prompts_dir: Annotated[Path | None, typer.Option("--prompts-dir", help="Prompts directory.")] = None,
) -> None:
    """Run a prompt version (and a baseline) over golden cases; exit 1 when it regresses beyond tolerance."""
    from service.errors import ClaimServiceError
    from service.evaluation.recordings import MissingRecording, RecordingFailed
    from service.evaluation.runner import ModelCannotAnswer

    if replay + live + record > 1:
        raise typer.BadParameter("choose one of --replay, --live, --record")
    mode: Mode = "live" if live else "record" if record else "replay"
    cases = data_path(cases, GOLDEN_CASES, "--cases")
    recordings = data_path(recordings, RECORDINGS, "--recordings") if mode == "replay" else recordings or RECORDINGS
    if report is not None and not report.parent.is_dir():  # refuse before a run that may spend money
        typer.echo(f"error: cannot write the report: {report.parent} is not a directory", err=True)
        raise typer.Exit(code=2)
    try:
        pipeline, plan = _plan(prompt, baseline, model, cases, mode, recordings, config, prompts_dir, fallbacks)
        runs = _run_with_progress(pipeline, plan)
    except (ClaimServiceError, MissingRecording, RecordingFailed, ModelCannotAnswer, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    candidate, base = plan.prompts[0], plan.prompts[1] if len(plan.prompts) > 1 else None
    raise typer.Exit(code=_report(runs, plan.models, candidate, base, tolerance, report, plan))


def _plan(
    prompt: str | None,
    baseline: str | None,
    models: list[str] | None,
    cases: Path,
    mode: Mode,
    recordings: Path,
    config: Path | None,
    prompts_dir: Path | None,
    fallbacks: bool,
) -> tuple[Pipeline, EvalPlan]:
    """Build the pipeline (cache off) and the plan: resolved prompt labels, aliases and loaded cases."""
    from service.evaluation.golden import load_cases
    from service.evaluation.runner import EvalPlan, eval_settings, prompt_label
    from service.pipeline.build import build_pipeline
    from service.settings import get_settings

    settings = get_settings(config)
    if prompts_dir is not None:
        settings = settings.model_copy(update={"prompts_dir": prompts_dir})
    aliases = models or [settings.default_model]
    if mode == "replay":
        settings = _with_recorded_models(settings, aliases, recordings)
    pipeline = build_pipeline(eval_settings(settings, fallbacks=fallbacks))
    refs = [prompt or settings.prompt, *([baseline] if baseline else [])]
    for alias in aliases:
        pipeline.model_chain(alias)  # an unknown alias fails before any case runs
    loaded = load_cases(cases)
    if not loaded:
        raise ValueError(f"no *.yaml golden case in {cases}")
    labels = [prompt_label(pipeline, ref) for ref in refs]
    if len(labels) == 2 and labels[0] == labels[1]:
        raise ValueError(f"--baseline names the candidate itself ({labels[0]}); compare two versions")
    if mode == "replay":
        loaded = _recorded_cases(loaded, labels, aliases, recordings)
    return pipeline, EvalPlan(labels, aliases, loaded, mode, recordings)


def _recorded_cases(
    cases: list[GoldenCase], labels: list[str], aliases: list[str], recordings: Path
) -> list[GoldenCase]:
    """Keep the cases recorded for every version and model, saying on stderr which were left out."""
    from service.evaluation.recordings import replayable_cases

    kept, unrecorded = replayable_cases(cases, labels, aliases, recordings)
    if unrecorded:
        typer.echo(
            f"replaying the {len(kept)} cases recorded for every version and model; not recorded: "
            + ", ".join(unrecorded),
            err=True,
        )
    if not kept:
        raise ValueError("no case is recorded for every version and model; record them with --record")
    return kept


def _with_recorded_models(settings: Settings, aliases: list[str], recordings: Path) -> Settings:
    """For a replay, take each alias the config lacks from its recording; its keys get placeholder values.

    A replay sends nothing anywhere, so ``claims eval --model smollm2 --replay`` works on a fresh checkout
    without a config naming the recorded model or the keys it was recorded with.
    """
    import os

    from service.evaluation.recordings import recorded_entry
    from service.settings import SECRET_REFERENCE, ModelEntry

    adopted = []
    for alias in aliases:
        entry = recorded_entry(recordings, alias) if settings.model_entry(alias) is None else None
        if entry is not None:
            adopted.append(ModelEntry.model_validate(entry))
    for model in adopted:
        for value in model.litellm_params.values():
            if isinstance(value, str) and value.startswith(SECRET_REFERENCE):
                os.environ.setdefault(value.removeprefix(SECRET_REFERENCE), REPLAY_KEY)
    return settings.model_copy(update={"models": [*settings.models, *adopted]}) if adopted else settings


def _run_with_progress(pipeline: Pipeline, plan: EvalPlan) -> list[CaseRun]:
    """Run the plan under a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    from service.evaluation.runner import run_plan

    total = len(plan.prompts) * len(plan.models) * len(plan.cases)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"eval ({plan.mode})", total=total)
        return asyncio.run(run_plan(pipeline, plan, lambda: progress.advance(task)))


def _report(
    runs: list[CaseRun],
    models: list[str],
    candidate: str,
    baseline: str | None,
    tolerance: float,
    report: Path | None,
    plan: EvalPlan,
) -> int:
    """Print the tables and regressions, write the HTML report; return the exit code (1 on regression)."""
    from rich.console import Console

    from service.evaluation.compare import group, regressions, totals
    from service.evaluation.table import print_comparison

    console = Console(width=max(Console().width, EVAL_WIDE))
    print_comparison(runs, models, candidate, baseline, console)
    found = []
    if baseline is not None:
        for alias in models:
            found += regressions(totals(group(runs, candidate, alias)), totals(group(runs, baseline, alias)), tolerance)
    for item in found:
        console.print(
            f"[red]REGRESSION[/red] {item.model}: {item.metric} {item.candidate:.3f} < baseline "
            f"{item.baseline:.3f} − tolerance {tolerance}"
        )
    if report is not None:
        from service.evaluation.report import write_report

        write_report(report, runs, plan.cases, models, candidate, baseline, (found, tolerance))
        console.print(f"report written to {report}")
    if baseline is not None and not found:
        console.print(f"no regression beyond tolerance {tolerance}")
    return 1 if found else 0
