"""The files under ``examples/``: every one the README and docs name is shipped, and the requests are valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from schemas import ExtractionRequest
from schemas.export import schema_path
from service.api.app import create_app
from service.cli.main import app
from service.settings import Settings

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_PATH = re.compile(r"(?<![\w./-])examples/[\w./-]*[\w/]")  # a path as prose and commands write it
REQUEST_FILES = [EXAMPLES / "sample-request.json", EXAMPLES / "requests.ndjson"]


def documents() -> list[Path]:
    """Return the README and every page under ``docs/``."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def named_example_paths() -> list[tuple[str, str]]:
    """Return ``(document, path)`` for every ``examples/…`` path the README and the docs name."""
    return sorted(
        {
            (str(document.relative_to(ROOT)), found)
            for document in documents()
            for found in EXAMPLE_PATH.findall(document.read_text(encoding="utf-8"))
        }
    )


def requests_in(path: Path) -> list[object]:
    """Return the requests of an example file: a JSON document, or NDJSON (one request a non-blank line)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def test_the_readme_names_the_example_files_a_newcomer_runs() -> None:
    """The README's commands use the shipped requests, articles and article (so the check below covers them)."""
    named = {path for _, path in named_example_paths()}
    assert {"examples/requests.ndjson", "examples/articles/", "examples/article.txt"} <= named


@pytest.mark.parametrize(("document", "path"), named_example_paths())
def test_every_example_path_the_docs_name_is_shipped(document: str, path: str) -> None:
    """A path under ``examples/`` named in the README or a docs page exists (a folder when written with ``/``)."""
    shipped = ROOT / path
    assert shipped.is_dir() if path.endswith("/") else shipped.is_file(), f"{document} names {path}, not shipped"


def test_the_articles_folder_holds_text_and_html_articles() -> None:
    """``examples/articles/`` holds a few small articles, text and HTML, which ``claims extract`` reads."""
    articles = sorted((EXAMPLES / "articles").iterdir())
    assert {path.suffix for path in articles} == {".txt", ".html"}
    assert 3 <= len(articles) <= 6
    assert all(200 < path.stat().st_size < 20_000 for path in [*articles, EXAMPLES / "article.txt"])


@pytest.mark.parametrize("path", REQUEST_FILES, ids=lambda path: path.name)
def test_example_requests_validate_against_the_request_schema(path: Path) -> None:
    """Each request of the example files validates against the exported JSON Schema and the pydantic model."""
    schema = json.loads(schema_path("extraction-request").read_text(encoding="utf-8"))
    requests = requests_in(path)
    assert requests
    for request in requests:
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(request)
        ExtractionRequest.model_validate(request)


def test_the_example_requests_are_a_job_the_service_takes(tmp_path: Path) -> None:
    """``--data-binary @examples/requests.ndjson`` as the README posts it: a 202 job of every line."""
    body = (EXAMPLES / "requests.ndjson").read_bytes()
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d", job_workers=0))) as client:
        reply = client.post("/v1/jobs", content=body, headers={"content-type": "application/x-ndjson"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["counts"]["total"] == len(requests_in(EXAMPLES / "requests.ndjson"))


def test_the_readme_s_batch_command_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``claims extract examples/articles/ examples/article.txt examples/requests.ndjson``: every article succeeds."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)
    out = tmp_path / "claims.ndjson"
    sources = ["examples/articles/", "examples/article.txt", "examples/requests.ndjson"]
    result = CliRunner().invoke(app, ["extract", *sources, "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    articles = len(list((EXAMPLES / "articles").iterdir())) + 1 + len(requests_in(EXAMPLES / "requests.ndjson"))
    assert [line["state"] for line in lines] == ["succeeded"] * articles
    assert all(line["result"]["claims"] for line in lines)
