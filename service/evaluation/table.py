"""The terminal side-by-side table of an eval run: per case and in total, candidate with deltas to baseline."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from service.evaluation.compare import GATED, LABELS, Totals, group, totals
from service.evaluation.runner import CaseRun


def _cell(candidate: float, baseline: float | None) -> str:
    """Format a rate with its delta to the baseline, red when worse and green when better; ``–`` when unmeasured."""
    if math.isnan(candidate):
        return "–"
    if baseline is None or math.isnan(baseline):
        return f"{candidate:.2f}"
    delta = candidate - baseline
    colour = "red" if delta < 0 else "green" if delta > 0 else "dim"
    return f"{candidate:.2f} [{colour}]{delta:+.2f}[/{colour}]"


def _cost(value: float | None) -> str:
    """Format a cost in dollars, or ``?`` when unknown."""
    return "?" if value is None else f"${value:.4f}"


def comparison_table(runs: list[CaseRun], model: str, candidate: str, baseline: str | None) -> Table:
    """Return the table of one model: a row per case and total rows, candidate against baseline."""
    title = f"{candidate} vs {baseline} on {model}" if baseline else f"{candidate} on {model}"
    table = Table(title=title)
    table.add_column("case", no_wrap=True)
    for name in GATED:
        table.add_column(LABELS[name], justify="right", no_wrap=True)
    for column in ("claims", "repairs", "tokens", "cost", "latency"):
        table.add_column(column, justify="right", no_wrap=True)
    ours = group(runs, candidate, model)
    theirs = {run.case_id: run for run in group(runs, baseline, model)} if baseline else {}
    for run in ours:
        other = theirs.get(run.case_id)
        table.add_row(
            run.case_id + (" [red]![/red]" if run.error else ""),
            *(_cell(_rate(run, name), _rate(other, name) if other else None) for name in GATED),
            str(run.kept) + (f" ({run.kept - other.kept:+d})" if other else ""),
            str(run.repairs),
            str(run.tokens),
            _cost(run.cost_usd),
            f"{run.latency_s:.2f}s",
        )
    table.add_section()
    mine = totals(ours)
    base = totals(list(theirs.values())) if theirs else None
    table.add_row(f"total {candidate}", *_total_cells(mine, base))
    if base is not None:
        table.add_row(f"total {baseline}", *_total_cells(base, None))
    return table


def _rate(run: CaseRun, name: str) -> float:
    """Return one gated rate of a case run (NaN when the case does not measure it)."""
    if name in ("recall", "precision", "standalone"):
        value = getattr(run.score, name)
        return float("nan") if value is None else float(value)
    return float(getattr(run, name))


def _total_cells(mine: Totals, base: Totals | None) -> list[str]:
    """Return the cells of a totals row."""
    return [
        *(_cell(mine.metric(name), base.metric(name) if base else None) for name in GATED),
        "",
        str(mine.repairs),
        str(mine.tokens),
        _cost(mine.cost_usd),
        f"{mine.latency_s:.2f}s",
    ]


def print_comparison(
    runs: list[CaseRun], models: list[str], candidate: str, baseline: str | None, console: Console
) -> None:
    """Print one comparison table per model, and the error of each failed case."""
    for model in models:
        console.print(comparison_table(runs, model, candidate, baseline))
    for run in runs:
        if run.error:
            console.print(f"[red]![/red] {run.case_id} ({run.prompt}, {run.model}): {run.error}")
    for note in fallback_notes(runs):
        console.print(f"[yellow]note[/yellow] {note}")


def fallback_notes(runs: list[CaseRun]) -> list[str]:
    """Say, per prompt and model, how many chunks a fallback answered instead of the model the table names."""
    notes = []
    for prompt, model in dict.fromkeys((run.prompt, run.model) for run in runs):
        others: dict[str, int] = {}
        for run in group(runs, prompt, model):
            for alias, chunks in run.answered_by.items():
                if alias != model:
                    others[alias] = others.get(alias, 0) + chunks
        if others:
            answered = ", ".join(f"{alias!r} {chunks}" for alias, chunks in others.items())
            notes.append(f"{prompt} on {model}: chunks answered by fallbacks, not by {model!r}: {answered}")
    return notes
