"""Damaged job stores, made the way a bad disk or a bad hand makes them: pages overwritten, a file emptied."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from schemas import ExtractionRequest
from service.stores.jobs.job_store import NewArticle, NewJob
from service.stores.jobs.sqlite_jobs import DATABASE, SqliteJobs

PAGE = 4096
ARTICLE_TEXT = "Prices rose 3% in May, the statistics office said. " * 40  # ~2 KB a request


def filled_job_store(data_dir: Path, jobs: int = 60) -> Path:
    """Write ``jobs`` jobs of five articles each into a fresh job store under ``data_dir``; return its file."""

    async def fill() -> None:
        store = SqliteJobs(data_dir, lease_s=30.0, retention_s=3600.0)
        request = ExtractionRequest.model_validate({"article": {"text": ARTICLE_TEXT}}).model_dump_json()
        for number in range(jobs):
            job_id = f"job_{number:028x}"
            articles = [NewArticle(index=n, article_id=f"a{n}", request_json=request) for n in range(5)]
            job = NewJob(
                id=job_id, articles=articles, body_sha256="b", idempotency_key=None, callback_url=None,
                callback_per_article=False, rejected_json="[]",
            )  # fmt: skip
            await store.create(job)
        await store.close()

    with ThreadPoolExecutor(max_workers=1) as thread:  # callable from a test that runs an event loop itself
        thread.submit(asyncio.run, fill()).result()
    return data_dir / DATABASE


def scribble(database: Path, first_page: int = 20, pages: int = 20) -> None:
    """Overwrite ``pages`` pages of ``database`` from ``first_page`` on with random bytes, in place."""
    noise = random.Random(20).randbytes(PAGE * pages)  # noqa: S311 -- noise, the same in every run
    descriptor = os.open(database, os.O_WRONLY)
    try:
        os.pwrite(descriptor, noise, PAGE * first_page)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def announce_change(database: Path) -> None:
    """Commit a change through another connection, as another process sharing the file would.

    A connection that has read the file keeps its pages cached until the file changes under its lock; after
    this, its next query reads the pages from disk, the scribbled ones included.
    """
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
