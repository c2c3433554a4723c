"""``claims prompts``: list, show, scaffold, release, retire and diff prompt versions.

Loading prompts needs neither FastAPI nor litellm, so these commands answer at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli.options import ConfigOption, PromptsDirOption, fail
from service.errors import ClaimServiceError

if TYPE_CHECKING:
    from service.prompts.registry import PromptRegistry

prompts_app = typer.Typer(help="List, show, scaffold, release and diff prompt versions.", no_args_is_help=True)


def _prompts_dir(prompts_dir: Path | None, config: Path | None) -> Path:
    """Return ``--prompts-dir``, else the configured prompts directory, else the shipped one."""
    from service.prompts.registry import default_prompts_dir
    from service.settings import get_settings

    return prompts_dir or get_settings(config).prompts_dir or default_prompts_dir()


def _registry(prompts_dir: Path | None, config: Path | None) -> PromptRegistry:
    """Load the prompt registry the configured service would use (or the one under ``--prompts-dir``)."""
    from service.prompts.registry import PromptRegistry

    return PromptRegistry.load(_prompts_dir(prompts_dir, config))


@prompts_app.command("list")
def prompts_list(prompts_dir: PromptsDirOption = None, config: ConfigOption = None) -> None:
    """List prompt versions with status and sha256."""
    try:
        registry = _registry(prompts_dir, config)
    except ClaimServiceError as error:
        raise fail(error) from error
    for version in registry.versions():
        typer.echo(f"{version.ref:<24} {version.spec.status:<9} {version.sha256[:12]}  {version.spec.description[:60]}")


@prompts_app.command("show")
def prompts_show(
    ref: Annotated[str, typer.Argument(help="name@version")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a prompt version's file."""
    try:
        version = _registry(prompts_dir, config).get(ref)
    except ClaimServiceError as error:
        raise fail(error) from error
    typer.echo(f"# {version.ref}  sha256:{version.sha256}")
    typer.echo(version.path.read_text(encoding="utf-8"), nl=False)


@prompts_app.command("new")
def prompts_new(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. extract_claims.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Scaffold the next version of a prompt as a draft copy of the latest; print its path."""
    from service.prompts.lifecycle import new_version

    try:
        path = new_version(_prompts_dir(prompts_dir, config), name)
    except ClaimServiceError as error:
        raise fail(error) from error
    typer.echo(str(path))


@prompts_app.command("release")
def prompts_release(
    ref: Annotated[str, typer.Argument(help="name@version of a draft.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Mark a draft released and pin its sha256 in prompts.lock; released versions are immutable."""
    from service.prompts.lifecycle import release_version

    try:
        digest = release_version(_prompts_dir(prompts_dir, config), ref)
    except ClaimServiceError as error:
        raise fail(error) from error
    typer.echo(f"released {ref}  sha256:{digest}")


@prompts_app.command("retire")
def prompts_retire(
    ref: Annotated[str, typer.Argument(help="name@version of a released prompt.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Mark a released prompt retired and re-pin it; it still loads by name@version, never as the latest."""
    from service.prompts.lifecycle import retire_version

    try:
        digest = retire_version(_prompts_dir(prompts_dir, config), ref)
    except ClaimServiceError as error:
        raise fail(error) from error
    typer.echo(f"retired {ref}  sha256:{digest}")


@prompts_app.command("diff")
def prompts_diff(
    old: Annotated[str, typer.Argument(help="name@version to diff from.")],
    new: Annotated[str, typer.Argument(help="name@version to diff to.")],
    prompts_dir: PromptsDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a unified diff between two prompt versions' files."""
    from service.prompts.lifecycle import diff_versions

    try:
        diff = diff_versions(_prompts_dir(prompts_dir, config), old, new)
    except ClaimServiceError as error:
        raise fail(error) from error
    typer.echo(diff, nl=False)
