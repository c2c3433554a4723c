"""The HTML report of an eval run: one self-contained file, inline CSS, no external assets.

It opens with the verdict (no regression beyond the tolerance, or each regression) and the totals, the
candidate's with their deltas to the baseline's. Per model and case it shows the case text once per prompt
version with that version's claims highlighted by their offsets, the expectations it missed, the claims
grounding dropped (a version whose every claim was dropped reads "precision –", never 1.00) and the list
of its claims, then the claims the candidate added, lost or reworded against the baseline (matched by
quote span, so a claim whose span moved counts as one lost and one added).
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from schemas import Claim
from service.evaluation.compare import GATED, LABELS, Regression, Totals, group, totals
from service.evaluation.golden import GoldenCase
from service.evaluation.runner import CaseRun
from service.evaluation.table import fallback_notes

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}.versions{display:flex;gap:1rem}
.version{flex:1;white-space:pre-wrap;border:1px solid #ddd;padding:.5rem;font-size:.9rem}
mark.claim{background:#ffe58a}.added{color:#1a7f37}.lost{color:#cf222e}.worse{color:#cf222e}
.reworded{color:#9a6700}ol.claims{white-space:normal;font-size:.85rem}
.better{color:#1a7f37}.dropped{color:#6e7781}h3{margin-top:2rem}
"""


def highlight(text: str, claims: list[Claim]) -> str:
    """Return the text as HTML with each claim's quote span (overlaps merged) wrapped in ``<mark>``."""
    spans = sorted((claim.source.start, claim.source.end) for claim in claims)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    parts, cursor = [], 0
    for start, end in merged:
        parts += [escape(text[cursor:start]), f'<mark class="claim">{escape(text[start:end])}</mark>']
        cursor = end
    parts.append(escape(text[cursor:]))
    return "".join(parts)


def _changes(candidate: CaseRun, baseline: CaseRun) -> str:
    """Return the claims (by quote span) the candidate added, lost or reworded against the baseline."""
    ours = {(claim.source.start, claim.source.end): claim for claim in candidate.claims}
    theirs = {(claim.source.start, claim.source.end): claim for claim in baseline.claims}
    items = [f'<li class="added">+ {escape(ours[key].text)}</li>' for key in ours.keys() - theirs.keys()]
    items += [f'<li class="lost">− {escape(theirs[key].text)}</li>' for key in theirs.keys() - ours.keys()]
    items += [
        f'<li class="reworded">~ {escape(theirs[key].text)} → {escape(ours[key].text)}</li>'
        for key in ours.keys() & theirs.keys()
        if ours[key].text != theirs[key].text
    ]
    return f"<ul>{''.join(sorted(items))}</ul>" if items else "<p>No claim added, lost or reworded.</p>"


def _claim_list(run: CaseRun) -> str:
    """Return the version's claims as a list: text, then type, claimant, attribution and check-worthiness."""
    items = [
        f"<li>{escape(claim.text)} <small>[{claim.type} · {escape(claim.claimant or 'the article')} · "
        f"{claim.attribution} · {claim.checkworthiness:.2f}]</small></li>"
        for claim in run.claims
    ]
    return f'<ol class="claims">{"".join(items)}</ol>' if items else ""


def _misses(run: CaseRun) -> str:
    """Return what a version missed: must-find sentences unmatched, must-skip sentences claimed, claims dropped."""
    items = [f'<li class="lost">missed: {escape(sentence)}</li>' for sentence in run.score.missed]
    items += [f'<li class="lost">should skip: {escape(phrase)}</li>' for phrase in run.score.skip_violations]
    items += [f'<li class="dropped">dropped by grounding: {escape(note)}</li>' for note in run.dropped_notes]
    error = f'<p class="lost">failed: {escape(run.error)}</p>' if run.error else ""
    return error + (f"<ul>{''.join(items)}</ul>" if items else "")


def _case_section(case: GoldenCase, runs: list[CaseRun], baseline: str | None) -> str:
    """Return one case's section: the text per version with claims highlighted, and the changes."""
    panels = "".join(
        f'<div class="version"><h4>{escape(run.prompt)}: {run.kept} claims kept, {run.dropped} dropped, '
        f"recall {run.score.recall:.2f}, precision {_score(run.score.precision)}</h4>"
        f"{highlight(case.text, run.claims)}{_misses(run)}"
        f"{_claim_list(run)}</div>"
        for run in runs
    )
    base = next((run for run in runs if run.prompt == baseline), None)
    changes = _changes(runs[0], base) if base is not None and base is not runs[0] else ""
    return f'<h3 id="{escape(case.id)}">{escape(case.id)}</h3><div class="versions">{panels}</div>{changes}'


def _score(value: float | None) -> str:
    """Format a case's score to two decimals, or ``–`` when the case does not measure it."""
    return "–" if value is None else f"{value:.2f}"


def _rate(value: float, baseline: float | None = None) -> str:
    """Format a rate to three decimals with its delta to the baseline (when both are measured); ``–`` if NaN."""
    if math.isnan(value):
        return "–"
    if baseline is None or math.isnan(baseline):
        return f"{value:.3f}"
    delta = value - baseline
    kind = "worse" if delta < 0 else "better" if delta > 0 else "same"
    return f'{value:.3f} <small class="{kind}">{delta:+.3f}</small>'


def _totals_row(mine: Totals, base: Totals | None) -> str:
    """Return one totals row; the candidate's rates carry their deltas to the baseline's."""
    rates = [_rate(mine.metric(name), base.metric(name) if base else None) for name in GATED]
    cells = [escape(mine.prompt), escape(mine.model), *rates, str(mine.repairs), str(mine.tokens)]
    cells += [str(mine.failed), f"{mine.latency_s:.2f}"]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _totals_table(runs: list[CaseRun], models: list[str], prompts: list[str]) -> str:
    """Return the totals table: a row per (prompt, model), the candidate's first with deltas to the baseline."""
    names = ("prompt", "model", *(LABELS[name] for name in GATED), "repairs", "tokens", "failed", "latency s")
    header = "".join(f"<th>{name}</th>" for name in names)
    rows = []
    for model in models:
        by_prompt = [totals(group(runs, prompt, model)) for prompt in prompts]
        baseline = by_prompt[1] if len(by_prompt) > 1 else None
        rows.append(_totals_row(by_prompt[0], baseline))
        if baseline is not None:
            rows.append(_totals_row(baseline, None))
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def _verdict(baseline: str | None, found: list[Regression], tolerance: float) -> str:
    """Return the gate's verdict: no baseline, no regression beyond the tolerance, or each regression."""
    if baseline is None:
        return "<p>No baseline: nothing to regress against.</p>"
    if not found:
        return f'<p class="better"><strong>No regression</strong> beyond tolerance {tolerance}.</p>'
    items = "".join(
        f"<li>{escape(item.model)}: {LABELS[item.metric]} {item.candidate:.3f} &lt; baseline {item.baseline:.3f} "
        f"− {tolerance}</li>"
        for item in found
    )
    return f'<p class="worse"><strong>REGRESSION</strong> (exit 1):</p><ul class="worse">{items}</ul>'


def render_report(
    runs: list[CaseRun],
    cases: list[GoldenCase],
    models: list[str],
    candidate: str,
    baseline: str | None,
    verdict: tuple[list[Regression], float] = ([], 0.0),
) -> str:
    """Return the report as one HTML document; ``verdict`` is the regressions found and the tolerance."""
    prompts = [candidate, *([baseline] if baseline else [])]
    title = f"{candidate} vs {baseline}" if baseline else candidate
    body = [f"<h1>claims eval: {escape(title)}</h1>", _verdict(baseline, *verdict)]
    body += ["<h2>Totals</h2>", _totals_table(runs, models, prompts)]
    body += [f'<p class="worse">{escape(note)}</p>' for note in fallback_notes(runs)]
    for model in models:
        body.append(f"<h2>Model {escape(model)}</h2>")
        for case in cases:
            case_runs = [run for prompt in prompts for run in group(runs, prompt, model) if run.case_id == case.id]
            if case_runs:
                body.append(_case_section(case, case_runs, baseline))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(
    path: Path,
    runs: list[CaseRun],
    cases: list[GoldenCase],
    models: list[str],
    candidate: str,
    baseline: str | None,
    verdict: tuple[list[Regression], float] = ([], 0.0),
) -> None:
    """Write the HTML report to ``path``; ``verdict`` is the regressions found and the tolerance."""
    path.write_text(render_report(runs, cases, models, candidate, baseline, verdict), encoding="utf-8")
