"""What the ``claims`` subcommands share: --config, --prompts-dir, one-line errors, a service's settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.errors import ClaimServiceError

if TYPE_CHECKING:
    from service.settings import Settings

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


def startable_settings(config: Path | None) -> Settings:
    """Return the settings ``serve`` and ``worker`` run with; exit with one line when a secret they name is unusable."""
    from service.jobs.webhook_secret import check_webhook_secret
    from service.settings import get_settings

    try:
        settings = get_settings(config)
        settings.require_references()
        check_webhook_secret(settings)
    except ClaimServiceError as error:
        raise fail(error) from error
    return settings
