"""Tests of ``service/cli/batch.py``: ``claims extract`` over files, folders and NDJSON, as NDJSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.main import app


def test_many_sources_give_one_ndjson_line_per_article_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder, a file and an NDJSON file of requests: one line each, in order; a bad line is its own error."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "b.txt").write_text("Wages rose 2% in June.", encoding="utf-8")
    (folder / "a.txt").write_text("Prices rose 3% in May.", encoding="utf-8")
    (folder / "ignored.json").write_text("{}", encoding="utf-8")
    single = tmp_path / "single.txt"
    single.write_text("Rents rose 7% in July.", encoding="utf-8")
    requests = tmp_path / "requests.ndjson"
    requests.write_text(
        json.dumps({"article": {"id": "n1", "text": "Taxes rose 1%."}}) + "\n\nnot json\n"
        + json.dumps({"article": {"id": "n2", "text": "Fares rose 4%."}, "options": {"model": "nope"}}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "out.ndjson"
    result = CliRunner().invoke(app, ["extract", str(folder), str(single), str(requests), "--out", str(out)])
    assert result.exit_code == 1  # two of the articles failed
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(line["index"], line["article_id"], line["state"]) for line in lines] == [
        (0, "a", "succeeded"), (1, "b", "succeeded"), (2, "single", "succeeded"), (3, "n1", "succeeded"),
        (4, None, "failed"), (5, "n2", "failed"),
    ]  # fmt: skip
    assert lines[4]["source"] == f"{requests}:3"
    assert lines[5]["error"]["type"] == "/problems/unknown-model"
    assert [claim["source"]["quote"] for claim in lines[0]["result"]["claims"]] == ["Prices rose 3% in May."]
    assert "2 of 6 articles failed" in result.stderr


def test_one_text_file_still_prints_one_json_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A single article keeps the one-document output (and ``--format table``)."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    article = tmp_path / "one.txt"
    article.write_text("Prices rose 3% in May.", encoding="utf-8")
    result = CliRunner().invoke(app, ["extract", str(article)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["claims"][0]["source"]["quote"] == "Prices rose 3% in May."
