"""The house rules of ``service/`` (DESIGN §2), read off every module's imports, lazy ones included.

Data flows one way: api / cli → pipeline → (steps, prompts, llm, stores) → schemas. Nothing below the
pipeline imports the API or the CLI; only ``llm/`` (and ``offline/``, which plugs into it) imports litellm;
steps never reach a model; schemas depend on nothing of ours.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SERVICE = ROOT / "service"
ROOMS = (
    "api",
    "cli",
    "jobs",
    "pipeline",
    "steps",
    "prompts",
    "llm",
    "offline",
    "multilingual",
    "stores",
    "evaluation",
    "observability",
    "exports",
    "factchecks",
)
BELOW_THE_PIPELINE = ("steps", "prompts", "llm", "offline", "multilingual", "stores", "factchecks")
LITELLM_DOORS = ("service.llm", "service.offline")
UNTYPED_STATE = ("app.state", '["app"].state')


def module_name(path: Path) -> str:
    """Return the dotted name of a module file under the repository root."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Return every module a file imports, at the top or inside a function, absolute or relative."""
    imported: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            imported.add(base)
            imported.update(f"{base}.{alias.name}" for alias in node.names)
    return imported


def modules_under(*folders: str) -> list[Path]:
    """Return the Python files under the named folders of ``service/`` (or the whole package when none)."""
    roots = [SERVICE / folder for folder in folders] or [SERVICE]
    return sorted(path for root in roots for path in root.rglob("*.py"))


def offenders(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    """Return ``module -> import`` for each import of a forbidden module (or of anything inside one)."""
    found = []
    for path in paths:
        for name in sorted(imported_modules(path)):
            if any(name == banned or name.startswith(banned + ".") for banned in forbidden):
                found.append(f"{module_name(path)} -> {name}")
    return found


def test_service_is_grouped_into_its_rooms() -> None:
    """Every module of ``service/`` but the settings, the error tree and the entry points lives in a room."""
    loose = sorted(path.name for path in SERVICE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "errors.py", "settings.py"]
    assert sorted(path.name for path in SERVICE.iterdir() if path.is_dir() and path.name != "__pycache__") == sorted(
        ROOMS
    )
    assert all((SERVICE / room / "__init__.py").is_file() for room in ROOMS)


def test_nothing_below_the_pipeline_imports_the_api_or_the_cli() -> None:
    """Steps, prompts, llm, offline, stores, the pipeline and the evaluations never import the HTTP or CLI layer."""
    assert offenders(modules_under(*BELOW_THE_PIPELINE, "pipeline", "evaluation"), ("service.api", "service.cli")) == []


def test_the_pipeline_and_the_evaluations_stand_beside_each_other() -> None:
    """The pipeline imports no evaluation; the API imports neither the CLI nor the evaluations."""
    assert offenders(modules_under("pipeline"), ("service.evaluation",)) == []
    assert offenders(modules_under("api"), ("service.cli", "service.evaluation")) == []


def test_below_the_pipeline_nothing_imports_the_pipeline() -> None:
    """Steps, prompts, llm, offline and stores are below the pipeline: they never import it."""
    assert offenders(modules_under(*BELOW_THE_PIPELINE), ("service.pipeline",)) == []


def test_the_jobs_runner_sits_above_the_pipeline() -> None:
    """The jobs runner drives the pipeline; neither the pipeline nor anything below it imports the runner."""
    assert offenders(modules_under(*BELOW_THE_PIPELINE, "pipeline"), ("service.jobs",)) == []
    assert offenders(modules_under("jobs"), ("service.api", "service.cli")) == []


def test_each_store_has_its_room_with_its_factory_beside_it() -> None:
    """The reply cache, the job stores and the limits each have a room under ``stores/``, its ``open_*`` inside."""
    rooms = sorted(path.name for path in (SERVICE / "stores").iterdir() if path.is_dir() and path.name != "__pycache__")
    assert rooms == ["cache", "factchecks", "jobs", "limits"]
    for path in modules_under():
        opens = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("def open_")]
        room = path.parent.relative_to(SERVICE).as_posix()
        assert not opens or (room.startswith("stores/") or path.name == "redis_connection.py"), (path, opens)


def test_the_pipeline_builder_builds_only_the_pipeline() -> None:
    """Job stores and quotas are opened by the API and the worker, never by the pipeline."""
    forbidden = ("service.stores.jobs", "service.stores.limits.quotas")
    assert offenders(modules_under("pipeline"), forbidden) == []


def test_routes_reach_the_app_parts_through_the_typed_state_only() -> None:
    """Nothing but ``api/state.py`` reads or writes the untyped ``app.state``."""
    untyped = [
        module_name(path)
        for path in modules_under("api")
        if path.name != "state.py" and any(form in path.read_text(encoding="utf-8") for form in UNTYPED_STATE)
    ]
    assert untyped == []


def test_only_llm_and_offline_import_litellm() -> None:
    """Litellm (and the OpenAI SDK under it) is imported by ``llm/`` and the offline provider alone."""
    outside = [path for path in modules_under() if not module_name(path).startswith(LITELLM_DOORS)]
    assert offenders(outside, ("litellm", "openai")) == []


def test_steps_never_reach_a_model_or_a_store() -> None:
    """Steps are pure: no llm, offline model, prompts, stores or pipeline."""
    forbidden = ("service.llm", "service.offline", "service.stores", "service.pipeline", "service.prompts")
    assert offenders(modules_under("steps"), forbidden) == []


def test_observability_sits_under_every_room() -> None:
    """Logs, metrics and traces are used from the API down to the model client, so they import none of those."""
    rooms = tuple(f"service.{room}" for room in ROOMS if room != "observability")
    assert offenders(modules_under("observability"), rooms) == []


def test_exports_read_the_contract_only() -> None:
    """ClaimReview and CSV are renderings of the reply: they import the schemas and no room of the service."""
    rooms = tuple(f"service.{room}" for room in ROOMS if room != "exports")
    assert offenders(modules_under("exports"), rooms) == []


def test_schemas_depend_on_nothing_of_ours() -> None:
    """The contract imports no module of the service."""
    schemas = sorted((ROOT / "schemas").rglob("*.py"))
    assert schemas
    assert offenders(schemas, ("service",)) == []


@pytest.mark.parametrize(
    ("source", "forbidden", "expected"),
    [
        ("import litellm\n", ("litellm",), ["service.steps.probe -> litellm"]),
        (
            "def f():\n    from litellm import acompletion\n",
            ("litellm",),
            ["service.steps.probe -> litellm", "service.steps.probe -> litellm.acompletion"],
        ),
        (
            "from ..api import routes\n",
            ("service.api",),
            ["service.steps.probe -> service.api", "service.steps.probe -> service.api.routes"],
        ),
        ("from service.steps.text import Sentence\n", ("service.api",), []),
    ],
    ids=["top-level", "lazy", "relative", "allowed"],
)
def test_the_rules_see_every_kind_of_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, forbidden: tuple[str, ...], expected: list[str]
) -> None:
    """The checker catches top-level, lazy and relative imports, and passes an allowed one: the rules can fail."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    probe = tmp_path / "service" / "steps" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(source, encoding="utf-8")
    assert offenders([probe], forbidden) == expected


def test_each_module_of_the_pipeline_llm_and_steps_has_its_test_file() -> None:
    """``service/<room>/<module>.py`` is tested in ``tests/<room>/test_<module>.py`` for these three rooms."""
    tests = ROOT / "tests"
    untested = [
        f"{room}/{path.name}"
        for room in ("pipeline", "llm", "steps")
        for path in sorted((SERVICE / room).glob("*.py"))
        if path.name != "__init__.py" and not (tests / room / f"test_{path.name}").is_file()
    ]
    assert untested == []
