"""Tests of ``benchmarks/profile_served.py``'s reading of py-spy's raw stacks (py-spy itself is not run here)."""

from __future__ import annotations

from benchmarks.profile_served import package_of, summarise

MAIN = "thread (7): MainThread;run (uvicorn/main.py:632)"
RAW = f"""\
{MAIN};extract (service/pipeline/extraction.py:10);predict (fasttext/FastText.py:72) 6
{MAIN};extract (service/pipeline/extraction.py:12) 2
thread (9): asyncio_0;_worker (concurrent/futures/thread.py:90);completion (litellm/main.py:1) 2
"""


def test_package_of_a_frame_is_its_module_path_s_first_part() -> None:
    """py-spy names frames by module path: the package is its first part, a lone module its name."""
    assert package_of("predict (fasttext/FastText.py:72)") == "fasttext"
    assert package_of("EpollSelector.select (selectors.py:468)") == "selectors"
    assert package_of("_run_code (<frozen runpy>:88)") == package_of("_run_code (<frozen runpy>)") == "runpy"


def test_the_summary_shares_samples_by_thread_package_and_our_frames() -> None:
    """Ten samples: the shares of each thread, of each package on top, and of our frames with their callees."""
    report = summarise(RAW, top=5)
    assert "10 samples" in report
    assert " 80.0%  thread (7): MainThread" in report
    assert " 20.0%  thread (9): asyncio_0" in report
    assert " 60.0%  fasttext" in report
    assert " 20.0%  service" in report  # the frame on top is ours only when ours calls nothing sampled
    assert " 80.0%  extract (service/pipeline/extraction.py)" in report  # with what it calls, line numbers merged
    assert "completion (litellm/main.py)" in report.split("our frames")[0]  # on top, not ours
