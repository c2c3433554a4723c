"""Tests of ``service/cli/batch.py``: ``claims extract`` over files, folders and NDJSON, as NDJSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.main import app
from service.exports.csv_rows import COLUMNS


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


def batch_sources(tmp_path: Path) -> list[str]:
    """A folder of two articles and an NDJSON file of one good request and one bad line."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "b.txt").write_text("Wages rose 2% in June. Rents rose 7% in July.", encoding="utf-8")
    (folder / "a.txt").write_text("Prices rose 3% in May.", encoding="utf-8")
    requests = tmp_path / "requests.ndjson"
    requests.write_text(json.dumps({"article": {"id": "n1", "text": "Taxes rose 1%."}}) + "\nnot json\n")
    return [str(folder), str(requests)]


def test_many_articles_as_csv_give_one_header_and_the_rows_of_every_article(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--format csv`` over a folder and NDJSON: one header, a row a claim of each article, its id in a column."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    out, sources = tmp_path / "claims.csv", batch_sources(tmp_path)
    result = CliRunner().invoke(app, ["extract", *sources, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 1  # the bad line
    written = out.read_bytes().decode("utf-8")
    assert written.count("article_id,claim_id,") == 1
    assert written.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(written, newline="")))
    assert [(row["article_id"], row["quote"]) for row in rows] == [
        ("a", "Prices rose 3% in May."), ("b", "Wages rose 2% in June."), ("b", "Rents rose 7% in July."),
        ("n1", "Taxes rose 1%."),
    ]  # fmt: skip
    assert list(rows[0]) == list(COLUMNS)
    assert f"error: {tmp_path / 'requests.ndjson'}:2: " in result.stderr
    assert "1 of 4 articles failed; said above" in result.stderr
    assert CliRunner().invoke(app, ["extract", *sources, "--format", "csv"]).stdout_bytes.decode() == written  # stdout


def test_many_articles_as_claimreview_give_one_json_ld_document_of_every_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--format claimreview`` over many articles: one JSON-LD document, a ClaimReview of each claim of each."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["extract", *batch_sources(tmp_path), "--format", "claimreview"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["@context"] == "https://schema.org"
    assert [review["itemReviewed"]["appearance"]["text"] for review in document["@graph"]] == [
        "Prices rose 3% in May.", "Wages rose 2% in June.", "Rents rose 7% in July.", "Taxes rose 1%.",
    ]  # fmt: skip
    assert all(review["@type"] == "ClaimReview" for review in document["@graph"])
    empty = tmp_path / "empty.ndjson"
    empty.write_text("not json\n", encoding="utf-8")
    nothing = CliRunner().invoke(app, ["extract", str(empty), "--format", "claimreview"])
    assert json.loads(nothing.stdout) == {"@context": "https://schema.org", "@graph": []}


def test_many_articles_as_tables_print_one_table_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--format table`` over many articles prints a table an article, not NDJSON."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["extract", *batch_sources(tmp_path), "--format", "table"])
    assert result.exit_code == 1
    assert [line.strip() for line in result.stdout.splitlines() if "claims from" in line] == [
        "1 claims from a (complete)", "2 claims from b (complete)", "1 claims from n1 (complete)",
    ]  # fmt: skip
    assert not result.stdout.lstrip().startswith("{")


def test_each_file_s_language_is_detected_unless_language_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --language each text file's language is detected (and in the CSV); --language names it for all."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "de.txt").write_text("Die Verbraucherpreise stiegen im Mai um 2,9 Prozent.", encoding="utf-8")
    (folder / "es.txt").write_text("La economía española creció un 2,5 % en 2023.", encoding="utf-8")
    detected = CliRunner().invoke(app, ["extract", str(folder), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(detected.stdout)))
    assert {(row["article_id"], row["language"]) for row in rows} == {("de", "de"), ("es", "es")}
    named = CliRunner().invoke(app, ["extract", str(folder), "--language", "pt"])
    assert [json.loads(line)["result"]["article"]["language"] for line in named.stdout.splitlines()] == ["pt", "pt"]
