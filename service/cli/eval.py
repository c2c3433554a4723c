"""The ``claims eval`` commands: measure the extractor against labelled data.

``claims eval checkworthiness --data DIR`` ranks the sentences of CLEF CheckThat! transcripts by their
claims' check-worthiness through the real pipeline on the offline model and prints MAP, R-precision,
P@k and claimant accuracy, then type and attribution accuracy on the labelled sample; ``--json`` writes
the same figures. ``claims eval types`` prints the labelled-sample figures alone. ``claims eval run``
(in ``service.cli.eval_run``; ``claims eval --prompt …`` for short) regression-tests a prompt version
against a baseline over the golden cases, replayed, live or recorded (DESIGN §7), and exits 1 when the
candidate regresses. Heavy modules are imported inside the commands, so importing this one stays cheap.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from service.cli.checkout_data import LABELLED_SAMPLE, data_path
from service.cli.eval_run import run

if TYPE_CHECKING:
    from rich.console import Console

    from service.evaluation.checkworthiness import CheckworthinessReport
    from service.evaluation.types_attribution import TypesReport


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

LabelledOption = Annotated[
    Path | None,
    typer.Option(
        "--labelled",
        help="Labelled sentences (YAML) for type and attribution accuracy "
        "[default: tests/labelled/types-attribution.yaml].",
    ),
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


def _types_report(path: Path) -> TypesReport:
    """Evaluate the labelled sample at ``path``."""
    from service.evaluation.types_attribution import evaluate_types, read_labelled_sentences

    if not path.is_file():
        raise typer.BadParameter(f"{path} is not a file", param_hint="--labelled")
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

    from service.evaluation.checkworthiness import evaluate_checkworthiness, read_transcripts
    from service.offline.checkworthiness import load_model

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
    # the labelled sample is optional here: measured when given, or when the checkout's copy is at hand
    sample = labelled or (LABELLED_SAMPLE if LABELLED_SAMPLE.is_file() else None)
    types = _types_report(sample) if sample is not None else None
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

    report = _types_report(data_path(labelled, LABELLED_SAMPLE, "--labelled"))
    print_types(report, Console())


eval_app.command("run")(run)
