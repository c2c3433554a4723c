"""Human-readable output of ``claims extract --format table``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from schemas import ExtractionResult


def print_table(result: ExtractionResult, console: Console | None = None) -> None:
    """Print the claims as a table, then usage, warnings and errors."""
    console = console or Console()
    table = Table(title=f"{len(result.claims)} claims from {result.article_id} ({result.status})")
    for column in ("#", "type", "claimant", "worth", "claim", "span"):
        table.add_column(column, overflow="fold")
    for number, claim in enumerate(result.claims, start=1):
        table.add_row(  # article words as Text, never markup: "[sic]" or "[/i]" must print as written
            str(number),
            claim.type,
            Text(claim.claimant or "-"),
            f"{claim.checkworthiness:.2f}",
            Text(claim.text),
            f"{claim.source.start}-{claim.source.end}",
        )
    console.print(table)
    usage = result.usage
    console.print(
        f"chunks {usage.chunks} · model calls {usage.model_calls} · cache hits {usage.cache_hits} · "
        f"tokens {usage.prompt_tokens}+{usage.completion_tokens} · cost {usage.cost_usd}"
    )
    for notice in [*result.warnings, *result.errors]:
        console.print(Text(f"chunk {notice.chunk}: {notice.code}: {notice.detail}", style="yellow"))
