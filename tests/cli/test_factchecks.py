"""Tests of ``service/cli/factchecks.py``: ``claims factchecks`` against real served processes, over HTTP.

The archive outlives its process (SQLite under ``data_dir``), and replicas on one Redis see each other's
imports: both shown with real ``claims serve`` processes, stopped for real.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import Process, start_service, wait_ready

REVIEWS = [
    {
        "@type": "ClaimReview",
        "url": "https://fc.example/crime",
        "claimReviewed": "The FBI says violent crime fell 15.2% in the first quarter of 2024",
        "name": "Is violent crime down 15.2%?",
        "reviewRating": {"@type": "Rating", "alternateName": "True"},
        "author": {"@type": "Organization", "name": "Snopes"},
        "inLanguage": "en",
    },
    {
        "@type": "ClaimReview",
        "url": "https://fc.example/moon",
        "claimReviewed": "The 1969 moon landing was filmed in a studio",
        "name": "Was the moon landing staged?",
        "reviewRating": {"@type": "Rating", "alternateName": "False"},
    },
    {"@type": "ClaimReview", "claimReviewed": "A review without its address"},
]


def claims(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the ``claims`` command in a process of its own."""
    return subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-m", "service", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )


def served(name: str, config: dict[str, Any], workdir: Path) -> Process:
    """Start ``claims serve`` with ``config`` and wait until it is ready."""
    process = start_service(name, config, workdir)
    asyncio.run(wait_ready(process))
    return process


@pytest.fixture
def reviews_file(tmp_path: Path) -> Path:
    """An NDJSON file of two fact-checks and one without a url."""
    path = tmp_path / "reviews.ndjson"
    path.write_text("".join(json.dumps(review) + "\n" for review in REVIEWS), encoding="utf-8")
    return path


def search(process: Process, query: str) -> list[dict[str, Any]]:
    """Return the matches ``claims factchecks search`` prints for ``query``."""
    found = claims("factchecks", "search", query, "--url", f"http://127.0.0.1:{process.port}")
    assert found.returncode == 0, found.stderr
    matches: list[dict[str, Any]] = json.loads(found.stdout)["matches"]
    return matches


def test_an_import_with_its_bar_survives_a_restart(tmp_path: Path, reviews_file: Path) -> None:
    """Imported through the CLI (bar on stderr, report on stdout); a new process on the same data_dir finds them."""
    config = {"cache_dir": str(tmp_path / "cache"), "data_dir": str(tmp_path / "data")}
    first = served("first", config, tmp_path)
    try:
        done = claims("factchecks", "import", str(reviews_file), "--url", f"http://127.0.0.1:{first.port}")
    finally:
        first.stop()
    assert done.returncode == 0, done.stderr
    assert "importing" in done.stderr
    assert json.loads(done.stdout) == {
        "imported": 2,
        "updated": 0,
        "rejected": 1,
        "rejections": [{"at": "line 3", "reason": "has no url (the fact-check's address, which identifies it)"}],
    }
    second = served("second", config, tmp_path)
    try:
        matches = search(second, "violent crime is down 15.2%, the FBI said")
    finally:
        second.stop()
    assert matches[0]["url"] == "https://fc.example/crime"
    assert (matches[0]["rating"], matches[0]["publisher"]) == ("True", "Snopes")


def test_replicas_on_one_redis_see_each_other_s_imports(tmp_path: Path, reviews_file: Path, redis_url: str) -> None:
    """Two ``claims serve`` on one Redis: what is imported through one is found by a search on the other."""
    shared = {"cache_dir": str(tmp_path / "cache"), "redis_url": redis_url, "job_workers": 0}
    one = start_service("one", {**shared, "data_dir": str(tmp_path / "one")}, tmp_path)
    other = start_service("other", {**shared, "data_dir": str(tmp_path / "other")}, tmp_path)
    try:
        asyncio.run(wait_ready(one))  # both start at once: each takes seconds to import its way up
        asyncio.run(wait_ready(other))
        assert search(other, "moon landing filmed in a studio") == []
        done = claims("factchecks", "import", str(reviews_file), "--url", f"http://127.0.0.1:{one.port}")
        assert done.returncode == 0, done.stderr
        assert [match["url"] for match in search(other, "moon landing filmed in a studio")][:1] == [
            "https://fc.example/moon"
        ]
    finally:
        one.stop()
        other.stop()


def test_a_file_of_unknown_format_is_refused_before_sending(tmp_path: Path) -> None:
    """A file whose extension says no format, without ``--format``: exit 2 saying what to pass."""
    path = tmp_path / "reviews.txt"
    path.write_text("x", encoding="utf-8")
    done = claims("factchecks", "import", str(path), "--url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "say --format jsonld, ndjson or csv" in done.stderr
