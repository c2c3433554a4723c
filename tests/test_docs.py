"""The README and docs/ say what the code does: commands, settings, routes, problems, claim types and links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from schemas import ATTRIBUTIONS, CLAIM_TYPES
from service.settings import Settings

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(path for path in DOCS.glob("*.md") if path.name != "README.md")
MARKDOWN = [README, DOCS / "README.md", *PAGES]
SERVE = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/claims serve"
TEST = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(
    r"(?<![\w/.$-])(?:service|tests|schemas|benchmarks|training|prompts|examples|docs)/[\w./*-]*[\w/*]"
)
OTHER_MARKDOWN = [ROOT / "benchmarks" / "README.md", *sorted((ROOT / "tests").glob("*/README.md"))]
COMMAND = re.compile(r"(?:^|[\s/(])claims ([a-z][a-z-]*)((?: [^#|>]*)?)")


def text(path: Path) -> str:
    """Return a markdown file's text."""
    return path.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """Return the anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """Return the cells of each row of the table whose header row starts with ``header``."""
    lines = markdown.splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_readme_opens_with_the_two_commands_ci_runs() -> None:
    """The README's first two commands install and serve, then install and test; .ci/run runs the second."""
    commands = [block.strip() for block in FENCE.findall(text(README))[:2]]
    assert commands == [SERVE, TEST]
    assert text(README).index(SERVE) < text(README).index("\n## ")
    assert TEST in text(ROOT / ".ci" / "run").splitlines()


def test_the_readme_is_a_front_door() -> None:
    """The README stays a front door of at most 300 lines; the rest lives in docs/."""
    assert len(text(README).splitlines()) <= 300


def test_every_docs_page_is_linked_from_the_readme_and_the_index() -> None:
    """Each docs/ page is reachable from the README and from docs/README.md, the index."""
    readme_links = set(LINK.findall(text(README)))
    index_links = set(LINK.findall(text(DOCS / "README.md")))
    assert PAGES
    assert "docs/README.md" in readme_links
    for page in PAGES:
        assert f"docs/{page.name}" in readme_links, page.name
        assert page.name in index_links, page.name


@pytest.mark.parametrize("source", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(source: Path) -> None:
    """A relative link names a file that exists, and its #anchor a heading of that file."""
    for target in LINK.findall(text(source)):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path_part, _, anchor = target.partition("#")
        destination = (source.parent / path_part).resolve() if path_part else source
        assert destination.exists(), f"{source.name}: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", text(destination), re.MULTILINE)
            assert anchor in {slug(heading) for heading in headings}, f"{source.name}: {target}"


@pytest.mark.parametrize("source", MARKDOWN + OTHER_MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_file_the_docs_name_exists(source: Path) -> None:
    """A repository path written in code (`service/stores/quotas.py`, `pytest tests/golden/`) names what is there."""
    markdown = text(source)
    code = CODE_SPAN.findall(FENCE.sub("", markdown)) + FENCE.findall(markdown)
    named = {path for span in code for path in REPO_PATH.findall(span)}
    missing = sorted(path for path in named if not (any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()))
    assert not missing, f"{source.name} names {missing}"


def test_the_layout_page_names_modules_where_they_are() -> None:
    """Each module docs/layout.md names in a folder's row is in that folder, and every folder has its row."""
    rows = table_rows(text(DOCS / "layout.md"), "| folder | concern |")
    folders = {span: row[1] for row in rows for span in CODE_SPAN.findall(row[0]) if span.endswith("/")}
    rooms = {f"service/{path.name}/" for path in (ROOT / "service").iterdir() if (path / "__init__.py").exists()}
    assert rooms <= set(folders)
    for folder, concern in folders.items():
        for module in re.findall(r"`(\w+\.py)`", concern):
            assert any((ROOT / folder).rglob(module)), f"{folder} {module}"


def documented_default(field: Any) -> str | None:
    """Return how the reference writes a setting's default, or None when it is written in words."""
    default = field.get_default(call_default_factory=True)
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if isinstance(default, int | float | str) or default in ([], {}):
        return str(default)
    return None


def test_the_configuration_reference_names_every_setting_with_its_default() -> None:
    """docs/configuration.md has a row for every setting in service/settings.py, and no other, with its default."""
    rows = table_rows(text(DOCS / "configuration.md"), "| key | default |")
    documented: dict[str, str] = {}
    for keys, defaults, _meaning in rows:
        names, values = keys.split(" / "), defaults.split(" / ")
        assert len(names) == len(values) or len(values) == 1, keys
        for name, value in zip(names, values if len(values) == len(names) else values * len(names), strict=True):
            documented[name.strip("`")] = value
    assert sorted(documented) == sorted(Settings.model_fields)
    for name, field in Settings.model_fields.items():
        expected = documented_default(field)
        if expected is not None:
            assert documented[name] == f"`{expected}`", name


def test_the_readme_lists_every_claim_type_and_attribution() -> None:
    """The README's claim types are the schema's, one row each, and it names every attribution value."""
    readme = text(README)
    rows = table_rows(readme, "| type |")
    assert [row[0].strip("`") for row in rows] == list(CLAIM_TYPES)
    attribution = readme[readme.index("`attribution`, whose voice") :].split("\n\n")[0]
    assert re.findall(r"`(\w+)` \(", attribution) == list(ATTRIBUTIONS)


def test_the_api_page_lists_every_route(tmp_path: Path) -> None:
    """docs/api.md's endpoint table holds every route of the app's OpenAPI schema, and none it does not serve."""
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    with TestClient(create_app(Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data"))) as client:
        paths = client.get("/openapi.json").json()["paths"]
        desk = client.get("/")
    assert desk.status_code == 200  # the desk page, left out of the schema
    served = {f"{method.upper()} {re.sub(r'{[^}]+}', '{}', path)}" for path, item in paths.items() for method in item}
    served.add("GET /")
    rows = table_rows(text(DOCS / "api.md"), "| route | what |")
    listed = {re.sub(r"{[^}]+}", "{}", span) for row in rows for span in CODE_SPAN.findall(row[0])}
    assert {entry for entry in listed if entry.split(" ")[0] in {"GET", "POST", "DELETE"}} == served


def test_the_api_page_names_every_problem_type() -> None:
    """Every problem type an HTTP answer can carry is in docs/api.md's table of errors."""
    import service.api.app  # noqa: F401 -- imports every room, so the catalogue holds every error class
    from service.errors import problem_catalogue

    rows = table_rows(text(DOCS / "api.md"), "| status | type | when |")
    listed = {span for row in rows for span in CODE_SPAN.findall(row[1])}
    answered = set(problem_catalogue()) - {"bad-request", "config-error"}  # the CLI's and start-up's, never HTTP's
    assert "callback-not-allowed" in answered
    assert answered <= listed
    assert listed <= answered


def claims_commands() -> dict[str, Any]:
    """Return the ``claims`` command's sub-commands by name, as its ``--help`` lists them."""
    from service.cli.main import app

    commands: dict[str, Any] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    return commands


def written_commands() -> list[tuple[str, str, str]]:
    """Return each ``claims …`` command written in code in the README and docs/: (file, name, what follows)."""
    found = []
    for path in MARKDOWN:
        markdown = text(path)
        code = [line for block in FENCE.findall(markdown) for line in block.splitlines()]
        code += CODE_SPAN.findall(FENCE.sub("", markdown))
        for line in code:
            found += [(path.name, name, arguments) for name, arguments in COMMAND.findall(line)]
    return found


def test_every_claims_command_in_the_docs_exists() -> None:
    """Each `claims …` command the README and docs/ show is one `claims --help` lists, with options it takes."""
    commands = claims_commands()
    written = written_commands()
    assert len(written) > 30
    for source, name, arguments in written:
        assert name in commands, f"{source}: claims {name}"
        command = commands[name]
        if hasattr(command, "commands"):  # a group: jobs, keys, prompts, eval
            sub = arguments.split()[0] if arguments.split() else ""
            if sub in command.commands:
                command = command.commands[sub]
            elif "run" in command.commands:  # `claims eval --prompt …` means `claims eval run --prompt …`
                command = command.commands["run"]
            else:
                assert not sub, f"{source}: claims {name}{arguments}"
                continue  # a bare group prints its help
        options = {option for parameter in command.params for option in parameter.opts}
        for option in re.findall(r"(?<!\S)(--?[a-z][a-z-]*)", arguments):
            assert option in options | {"--help", "-"}, f"{source}: claims {name}{arguments}"
