"""``claims webhooks secret``: make the ``whsec_`` secret the service signs its webhooks with."""

from __future__ import annotations

import typer

webhooks_app = typer.Typer(help="Set up the webhooks the service sends.", no_args_is_help=True)


@webhooks_app.command("secret")
def secret() -> None:
    """Print a new whsec_ signing secret (stdout: the secret alone), and where it goes (stderr)."""
    from service.jobs.webhook_secret import new_secret

    typer.echo(new_secret())
    typer.echo(
        "set it as CLAIMS_WEBHOOK_SECRET in the service's environment (or in a variable claims.yaml names: "
        "webhook_secret: os.environ/VAR), and give it to each receiver to verify deliveries with",
        err=True,
    )
