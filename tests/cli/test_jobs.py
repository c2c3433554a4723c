"""Tests of ``service/cli/jobs.py``: ``claims jobs`` against a real served process, over HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import Process, start_service, wait_ready


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """``claims serve`` on the offline model."""
    workdir = tmp_path_factory.mktemp("served")
    service = start_service(
        "service", {"cache_dir": str(workdir / "cache"), "data_dir": str(workdir / "data")}, workdir
    )
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


def claims(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the ``claims`` command in a process of its own."""
    return subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-m", "service", *arguments], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A folder of three short articles."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for number in range(3):
        (folder / f"a{number}.txt").write_text(f"Prices rose {number + 2}% in May.", encoding="utf-8")
    return folder


def test_submit_wait_status_results_and_list(served: Process, articles: Path) -> None:
    """A folder submitted as a job and followed to the end; its status, streamed results and listing agree."""
    url = f"http://127.0.0.1:{served.port}"
    submitted = claims("jobs", "submit", str(articles), "--wait", "--url", url)
    assert submitted.returncode == 0, submitted.stderr
    job: dict[str, Any] = json.loads(submitted.stdout)
    assert (job["state"], job["counts"]["succeeded"]) == ("succeeded", 3)
    status = json.loads(claims("jobs", "status", job["id"], "--url", url).stdout)
    assert status["id"] == job["id"]
    results = [json.loads(line) for line in claims("jobs", "results", job["id"], "--url", url).stdout.splitlines()]
    assert [result["article_id"] for result in results] == ["a0", "a1", "a2"]
    assert job["id"] in claims("jobs", "list", "--url", url).stdout
    cancelled = json.loads(claims("jobs", "cancel", job["id"], "--url", url).stdout)
    assert cancelled["state"] == "succeeded"  # a finished job is left as it is


def test_an_error_the_service_answers_is_one_line_and_exit_2(served: Process) -> None:
    """An unknown job: the problem's title and detail on stderr, exit 2."""
    result = claims("jobs", "status", "job_nope", "--url", f"http://127.0.0.1:{served.port}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Not found: no job 'job_nope'")


def test_a_service_that_cannot_be_reached_is_exit_1(tmp_path: Path) -> None:
    """Nothing listening at the URL: a clear one-line error, exit 1."""
    result = claims("jobs", "list", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the service at http://127.0.0.1:9")
