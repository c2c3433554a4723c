"""The ``claims eval`` commands: check-worthiness on transcripts and the labelled sample, table and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.main import app
from tests.conftest import DATA_DIR

FIXTURES = DATA_DIR / "clef-fixture"
LABELLED = Path(__file__).parents[1] / "labelled" / "types-attribution.yaml"


@pytest.fixture
def small_sample(tmp_path: Path) -> Path:
    """A labelled sample of two sentences."""
    path = tmp_path / "sample.yaml"
    path.write_text(
        "- {text: 'Unemployment fell to 3.9% in March.', type: quantity, attribution: author}\n"
        "- {text: 'Taxes rose 5% last year.', type: quantity, attribution: quoted, claimant: LEE, speaker: LEE}\n",
        encoding="utf-8",
    )
    return path


def test_checkworthiness_prints_the_table_and_writes_json(tmp_path: Path, small_sample: Path) -> None:
    """``claims eval checkworthiness`` prints a row per transcript and the means, and writes the same as JSON."""
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(
        app,
        ["eval", "checkworthiness", "--data", str(FIXTURES), "--json", str(out), "--labelled", str(small_sample)],
    )
    assert result.exit_code == 0, result.output
    assert "debate-a" in result.stdout
    assert "mean (MAP)" in result.stdout
    assert "Labelled sample: 2 sentences" in result.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["coefficients"] == "shipped"
    assert set(document["summary"]) == {
        "transcripts",
        "in_sample",
        "map",
        "r_precision",
        "p@10",
        "p@20",
        "p@50",
        "claimant_accuracy",
    }
    assert [row["name"] for row in document["transcripts"]] == ["debate-a", "debate-b"]
    assert document["types"]["sentences"] == 2


def test_checkworthiness_can_score_with_other_coefficients(tmp_path: Path, small_sample: Path) -> None:
    """``--coefficients`` scores with another file: a flat model ranks the lines in document order."""
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"format": 1, "weights": {"bias": 0.0}}), encoding="utf-8")
    out = tmp_path / "eval.json"
    arguments = ["eval", "checkworthiness", "--data", str(FIXTURES), "--json", str(out)]
    result = CliRunner().invoke(app, [*arguments, "--coefficients", str(flat), "--labelled", str(small_sample)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["coefficients"] == str(flat)
    assert document["summary"]["map"] < 1.0


def test_checkworthiness_refuses_a_directory_without_transcripts(tmp_path: Path) -> None:
    """A directory with no transcript is a usage error with a one-line message."""
    result = CliRunner().invoke(app, ["eval", "checkworthiness", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "no *.tsv or *.txt transcript" in result.stderr


def test_checkworthiness_refuses_a_malformed_transcript(tmp_path: Path) -> None:
    """A malformed transcript is reported with its line, not a traceback."""
    (tmp_path / "bad.tsv").write_text("1\tA\tno label\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "checkworthiness", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad line 1" in result.stderr


def test_types_prints_the_labelled_sample_figures() -> None:
    """``claims eval types`` prints coverage and accuracies on the shipped labelled sample."""
    result = CliRunner().invoke(app, ["eval", "types", "--labelled", str(LABELLED)])
    assert result.exit_code == 0, result.output
    assert "type accuracy" in result.stdout
    assert "attribution accuracy" in result.stdout


def test_eval_is_listed_in_the_help() -> None:
    """``claims --help`` lists the eval family."""
    result = CliRunner().invoke(app, ["--help"])
    assert "eval" in result.stdout


def test_eval_refuses_a_report_path_it_cannot_write_before_running(tmp_path: Path) -> None:
    """A --report in a directory that does not exist is a usage error (exit 2), found before any case runs."""
    report = tmp_path / "no-such-directory" / "report.html"
    result = CliRunner().invoke(app, ["eval", "--prompt", "extract_claims@2", "--report", str(report)])
    assert result.exit_code == 2
    assert f"cannot write the report: {report.parent} is not a directory" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (["eval", "--prompt", "extract_claims@2", "--baseline", "extract_claims@1"], "--cases"),
        (["eval", "types"], "--labelled"),
    ],
    ids=["golden-cases", "labelled-sample"],
)
def test_eval_data_missing_outside_a_checkout_is_a_clear_usage_error(
    arguments: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run where the repository's tests/ data is not (as from a wheel): exit 2 naming the option to pass."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert option in result.output
    assert "pass" in result.output
    assert "Traceback" not in result.output


def test_eval_recordings_given_but_missing_are_named(tmp_path: Path) -> None:
    """A --recordings directory that does not exist is a usage error naming it, before anything runs."""
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(app, ["eval", "--prompt", "extract_claims@1", "--recordings", str(missing)])
    assert result.exit_code == 2
    assert "nowhere" in result.output
