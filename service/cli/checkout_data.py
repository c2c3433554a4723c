"""Where the eval commands find their data: the option given, else the source repository's own folders.

Golden cases, recordings and the labelled sample live under ``tests/`` in the source repository, not in a
wheel or the Docker image. Each is an option; left out, it means the folder of that name under the current
directory (as when run from a checkout's root), and a path that does not exist is a clear usage error
naming the option to pass, never a traceback from deep inside a run.
"""

from __future__ import annotations

from pathlib import Path

import typer

GOLDEN_CASES = Path("tests/golden")
RECORDINGS = Path("tests/recordings")
LABELLED_SAMPLE = Path("tests/labelled/types-attribution.yaml")


def data_path(given: Path | None, default: Path, option: str) -> Path:
    """Return ``given``, else ``default`` under the current directory; a usage error when it does not exist."""
    path = given if given is not None else default
    if path.exists():
        return path
    if given is not None:
        raise typer.BadParameter(f"{path} does not exist", param_hint=option)
    raise typer.BadParameter(
        f"not given, and there is no {default} under {Path.cwd()} (it ships in the source repository, not in "
        f"the package): pass {option} or run from a checkout's root",
        param_hint=option,
    )
