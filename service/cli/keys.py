"""``claims keys new NAME --scopes ...``: make an API key, print it once, and the config line that admits it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

keys_app = typer.Typer(help="Make API keys for clients of the service.", no_args_is_help=True)
SCOPES = ("extract", "jobs", "read", "factchecks", "admin")


def _scopes(value: str) -> list[str]:
    """Parse ``extract,jobs`` into scopes; refuse an unknown one."""
    scopes = [scope.strip() for scope in value.split(",") if scope.strip()]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        raise typer.BadParameter(f"scopes are a comma-separated list of {', '.join(SCOPES)}")
    return scopes


@keys_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Who the key is for (shown in logs and metrics; never the key).")],
    scopes: Annotated[
        str,
        typer.Option(help="Comma-separated: extract, jobs, read, factchecks (import and delete fact-checks), admin."),
    ] = "extract,jobs,read",
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests a minute.")] = None,
    tokens_per_day: Annotated[int | None, typer.Option(min=1, help="Model tokens a day.")] = None,
    cost_usd_per_day: Annotated[float | None, typer.Option(min=0.000001, help="Model cost a day, USD.")] = None,
) -> None:
    """Print a new key (shown once: give it to the client) and the api_keys entry that admits it."""
    from service.api.auth import key_hash, new_key
    from service.settings import ApiKey

    key = new_key()
    entry = ApiKey(
        name=name, hash=key_hash(key), scopes=_scopes(scopes), rpm=rpm, tokens_per_day=tokens_per_day,
        cost_usd_per_day=cost_usd_per_day,
    )  # fmt: skip
    document = entry.model_dump(exclude_none=True, exclude_defaults=True)
    typer.echo(f"key (shown once; give it to {name}): {key}")
    typer.echo("add to api_keys in claims.yaml (the hash only; the key is not stored anywhere):")
    typer.echo(f"  - {json.dumps(document)}")
