"""The ``claims eval`` commands: measure the extractor against labelled data.

``claims eval checkworthiness --data DIR`` ranks the sentences of CLEF CheckThat! transcripts by their
claims' check-worthiness through the real pipeline on the offline model and prints MAP, R-precision,
P@k and claimant accuracy, then type and attribution accuracy on the labelled sample; ``--json`` writes
the same figures. ``claims eval types`` prints the labelled-sample figures alone. ``claims eval run``
regression-tests a prompt version against a baseline over the golden cases, replayed, live or recorded
(DESIGN §7), and exits 1 when the candidate regresses. Heavy modules are imported inside the commands, so
importing this one stays cheap.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

    from service.evaluation.checkworthiness import CheckworthinessReport
    from service.evaluation.runner import CaseRun, EvalPlan, Mode
    from service.evaluation.types_attribution import TypesReport
    from service.pipeline import Pipeline


class _RunByDefault(TyperGroup):
    """The ``eval`` group: options straight after ``claims eval`` mean ``claims eval run`` (DESIGN §7's spelling)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Insert ``run`` before a leading option other than ``--help``."""
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_RunByDefault,
    help="Measure the extractor against labelled data (`claims eval --prompt …` means `claims eval run --prompt …`).",
    no_args_is_help=True,
)

WIDE = 132  # the table's width when the terminal is narrower (or not a terminal)
EVAL_WIDE = 168  # the side-by-side eval table's
DEFAULT_LABELLED = Path(__file__).resolve().parents[1] / "tests" / "labelled" / "types-attribution.yaml"
DEFAULT_CASES = Path(__file__).resolve().parents[1] / "tests" / "golden"
DEFAULT_RECORDINGS = Path(__file__).resolve().parents[1] / "tests" / "recordings"

LabelledOption = Annotated[
    Path | None,
    typer.Option("--labelled", help="Labelled sentences (YAML) for type and attribution accuracy."),
]


def checkworthiness_summary(report: CheckworthinessReport) -> dict[str, Any]:
    """Return the means of a check-worthiness report as a JSON-ready mapping."""
    return {
        "transcripts": len(report.transcripts),
        "in_sample": sum(1 for score in report.transcripts if score.in_sample),
        "map": round(report.mean("average_precision"), 4),
        "r_precision": round(report.mean("r_precision"), 4),
        **{f"p@{k}": round(report.mean(f"p@{k}"), 4) for k in (10, 20, 50)},
        "claimant_accuracy": round(report.claimant_accuracy, 4),
    }


def checkworthiness_json(report: CheckworthinessReport) -> list[dict[str, Any]]:
    """Return each transcript's figures as JSON-ready mappings."""
    return [
        {
            "name": score.name,
            "digest": score.digest,
            "in_sample": score.in_sample,
            "lines": score.lines,
            "positives": score.positives,
            "claims": score.claims,
            "average_precision": round(score.average_precision, 4),
            "r_precision": round(score.r_precision, 4),
            **{f"p@{k}": round(value, 4) for k, value in score.precision.items()},
            "claimant_accuracy": round(score.claimant_correct / score.claimant_total, 4)
            if score.claimant_total
            else None,
        }
        for score in report.transcripts
    ]


def print_checkworthiness(report: CheckworthinessReport, console: Console) -> None:
    """Print one row per transcript and a row of means (MAP first)."""
    from rich.table import Table

    table = Table(title="Check-worthiness ranking (offline model, real pipeline)")
    table.add_column("transcript", no_wrap=True)
    for column in ("set", "lines", "worthy", "claims", "AP", "R-prec", "P@10", "P@20", "P@50", "claimant"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in checkworthiness_json(report):
        claimant = row["claimant_accuracy"]
        table.add_row(
            row["name"],
            "in-sample" if row["in_sample"] else "held-out",
            str(row["lines"]),
            str(row["positives"]),
            str(row["claims"]),
            *(f"{row[key]:.3f}" for key in ("average_precision", "r_precision", "p@10", "p@20", "p@50")),
            "-" if claimant is None else f"{claimant:.3f}",
        )
    summary = checkworthiness_summary(report)
    table.add_section()
    table.add_row(
        "mean (MAP)",
        f"{summary['in_sample']}/{summary['transcripts']} in",
        "",
        "",
        "",
        *(f"{summary[key]:.3f}" for key in ("map", "r_precision", "p@10", "p@20", "p@50")),
        f"{summary['claimant_accuracy']:.3f}",
    )
    console.print(table)


def print_types(report: TypesReport, console: Console) -> None:
    """Print coverage and type, attribution and claimant accuracy on the labelled sample."""
    figures = report.summary()
    console.print(
        f"Labelled sample: {figures['sentences']} sentences, {figures['claims_found']} yield a claim "
        f"(coverage {figures['coverage']:.3f}); type accuracy {figures['type_accuracy']:.3f}, "
        f"attribution accuracy {figures['attribution_accuracy']:.3f}, claimant accuracy "
        f"{figures['claimant_accuracy']:.3f} (on {figures['claimants_labelled']} labelled claimants)"
    )


def _types_report(labelled: Path | None) -> TypesReport | None:
    """Evaluate the labelled sample, or return None when there is none to read."""
    from service.evaluation.types_attribution import evaluate_types, read_labelled_sentences

    path = labelled or DEFAULT_LABELLED
    if not path.is_file():
        if labelled is not None:
            raise typer.BadParameter(f"{path} is not a file", param_hint="--labelled")
        return None
    return asyncio.run(evaluate_types(read_labelled_sentences(path)))


@eval_app.command("checkworthiness")
def checkworthiness(
    data: Annotated[Path, typer.Option("--data", help="Directory of CLEF transcripts (*.tsv, *.txt).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")] = None,
    coefficients: Annotated[
        Path | None, typer.Option("--coefficients", help="Score with these coefficients instead of the shipped ones.")
    ] = None,
    labelled: LabelledOption = None,
) -> None:
    """Rank CLEF transcripts' sentences by check-worthiness and print MAP, R-precision, P@k, accuracies."""
    from rich.console import Console

    from service.checkworthiness import load_model
    from service.evaluation.checkworthiness import evaluate_checkworthiness, read_transcripts

    try:
        transcripts = read_transcripts(data)
        model = load_model(coefficients) if coefficients else None
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if not transcripts:
        typer.echo(f"error: no *.tsv or *.txt transcript in {data}", err=True)
        raise typer.Exit(code=2)
    report = asyncio.run(evaluate_checkworthiness(transcripts, model))
    types = _types_report(labelled)
    console = Console(width=max(Console().width, WIDE))
    print_checkworthiness(report, console)
    if types is not None:
        print_types(types, console)
    if json_out is not None:
        document = {
            "data": str(data),
            "coefficients": str(coefficients) if coefficients else "shipped",
            "summary": checkworthiness_summary(report),
            "transcripts": checkworthiness_json(report),
            "types": types.summary() if types is not None else None,
        }
        json_out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@eval_app.command("types")
def types(labelled: LabelledOption = None) -> None:
    """Print type, attribution and claimant accuracy of the offline model on the labelled sample."""
    from rich.console import Console

    report = _types_report(labelled)
    if report is None:
        typer.echo(f"error: no labelled sample at {DEFAULT_LABELLED}; pass --labelled", err=True)
        raise typer.Exit(code=2)
    print_types(report, Console())


@eval_app.command("run")
def run(
    prompt: Annotated[str | None, typer.Option("--prompt", help="Candidate prompt, name@version.")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="Baseline prompt to compare against.")] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Model alias; repeatable (default: the configured one).")
    ] = None,
    cases: Annotated[Path, typer.Option("--cases", help="Directory of golden cases (*.yaml).")] = DEFAULT_CASES,
    replay: Annotated[bool, typer.Option("--replay", help="Serve recorded provider replies (the default).")] = False,
    live: Annotated[bool, typer.Option("--live", help="Call the models for real; record nothing.")] = False,
    record: Annotated[bool, typer.Option("--record", help="Call the models for real and store the replies.")] = False,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Allowed drop on a gated metric.")] = 0.05,
    report: Annotated[Path | None, typer.Option("--report", help="Also write a self-contained HTML report.")] = None,
    recordings: Annotated[
        Path, typer.Option("--recordings", help="Directory of recorded replies.")
    ] = DEFAULT_RECORDINGS,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
    prompts_dir: Annotated[Path | None, typer.Option("--prompts-dir", help="Prompts directory.")] = None,
) -> None:
    """Run a prompt version (and a baseline) over golden cases; exit 1 when it regresses beyond tolerance."""
    from service.errors import ClaimServiceError
    from service.evaluation.recordings import MissingRecording, RecordingFailed

    if replay + live + record > 1:
        raise typer.BadParameter("choose one of --replay, --live, --record")
    mode: Mode = "live" if live else "record" if record else "replay"
    try:
        pipeline, plan = _plan(prompt, baseline, model, cases, mode, recordings, config, prompts_dir)
        runs = _run_with_progress(pipeline, plan)
    except (ClaimServiceError, MissingRecording, RecordingFailed, OSError, ValueError) as exc:
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
) -> tuple[Pipeline, EvalPlan]:
    """Build the pipeline (cache off) and the plan: resolved prompt labels, aliases and loaded cases."""
    from service.app import build_pipeline
    from service.evaluation.golden import load_cases
    from service.evaluation.runner import EvalPlan, eval_settings, prompt_label
    from service.settings import get_settings

    settings = get_settings(config)
    if prompts_dir is not None:
        settings = settings.model_copy(update={"prompts_dir": prompts_dir})
    pipeline = build_pipeline(eval_settings(settings))
    refs = [prompt or settings.prompt, *([baseline] if baseline else [])]
    aliases = models or [settings.default_model]
    for alias in aliases:
        pipeline.model_chain(alias)  # an unknown alias fails before any case runs
    loaded = load_cases(cases)
    if not loaded:
        raise ValueError(f"no *.yaml golden case in {cases}")
    labels = [prompt_label(pipeline, ref) for ref in refs]
    if len(labels) == 2 and labels[0] == labels[1]:
        raise ValueError(f"--baseline names the candidate itself ({labels[0]}); compare two versions")
    return pipeline, EvalPlan(labels, aliases, loaded, mode, recordings)


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

        write_report(report, runs, plan.cases, models, candidate, baseline)
        console.print(f"report written to {report}")
    if baseline is not None and not found:
        console.print(f"no regression beyond tolerance {tolerance}")
    return 1 if found else 0
