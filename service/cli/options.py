"""What the ``claims`` subcommands share: the --config and --prompts-dir options, and errors as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.errors import ClaimServiceError

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (default: $CLAIMS_CONFIG or ./claims.yaml).")
]
PromptsDirOption = Annotated[
    Path | None, typer.Option("--prompts-dir", help="Prompts directory (default: the configured one, or shipped).")
]


def fail(error: ClaimServiceError) -> typer.Exit:
    """Print an error as one line on stderr and return the exit to raise: 2 for the user's mistake, else 1."""
    typer.echo(f"error: {error.title}: {error.detail}", err=True)
    return typer.Exit(code=2 if error.status < 500 else 1)
