"""Tests of ``service/steps/cpu.py``: large CPU work runs beside the event loop, small work inline."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas import Article
from service.pipeline import extraction
from service.steps.cpu import OFF_LOOP_CHARS, off_the_loop, on_the_cpu_thread


def thread_name() -> str:
    """Return the name of the thread this runs on."""
    return threading.current_thread().name


async def test_large_work_runs_on_the_cpu_thread_and_small_work_inline() -> None:
    """Past ``OFF_LOOP_CHARS`` the work goes to the one ``claims-cpu`` thread; below, the loop's own thread runs it."""
    loop_thread = thread_name()
    assert (await off_the_loop(thread_name, size=OFF_LOOP_CHARS + 1)).startswith("claims-cpu")
    assert await off_the_loop(thread_name, size=OFF_LOOP_CHARS) == loop_thread


async def test_the_event_loop_keeps_running_while_the_cpu_thread_works() -> None:
    """Work that can only finish once the loop has run another task does finish: the loop was never held."""
    loop_ran = threading.Event()

    async def answer_meanwhile() -> None:
        await asyncio.sleep(0.01)
        loop_ran.set()

    other_task = asyncio.create_task(answer_meanwhile())
    assert await on_the_cpu_thread(lambda: loop_ran.wait(timeout=10))
    await other_task


def test_a_large_article_is_read_segmented_and_chunked_off_the_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline reads a large article on the CPU thread, a short one inline on the loop."""
    threads: list[str] = []
    read = extraction.Pipeline._read

    def recording_read(self: extraction.Pipeline, article: Article) -> Any:
        threads.append(thread_name())
        return read(self, article)

    monkeypatch.setattr(extraction.Pipeline, "_read", recording_read)
    paragraph = "Prices rose 3% in May, the statistics office said. "
    for text in (paragraph, paragraph * (OFF_LOOP_CHARS // len(paragraph) + 1)):
        assert client.post("/v1/extractions", json={"article": {"text": text}}).status_code == 200
    assert not threads[0].startswith("claims-cpu")
    assert threads[1].startswith("claims-cpu")
