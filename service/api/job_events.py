"""A job's progress as server-sent events: each article as it finishes, with the counts, then the job's end.

The events come from polling the job store, every ``POLL_S`` while nothing is new, rather than from Redis
pub/sub: it reads the same on both stores (embedded SQLite has no pub/sub), a replica that never ran the job
streams it as well as the one that did, and nothing is lost while no one listens, which resuming needs
anyway. An article's event id is its place in completion order (1 for the first article to finish), which
both stores keep as a sequence that only grows: a client that reconnects with ``Last-Event-ID: n`` is sent
the articles after the n-th, and never one twice. The end event (``event: end``, the job whole) carries no
id, so a client reconnecting after it is told the end again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi.sse import ServerSentEvent

from schemas.jobs import Job, JobResult
from schemas.streaming import ArticleFinished
from service.stores.jobs.job_store import RESULTS_PAGE_BYTES, JobStore

POLL_S = 0.5
PAGE = 100
RUNNING = frozenset({"queued", "running"})


async def follow_job(jobs: JobStore, job_id: str, finished_before: int = 0) -> AsyncIterator[ServerSentEvent]:
    """Yield an event for each article finished after the first ``finished_before``, then the job's end."""
    sent = finished_before
    while True:
        job = await jobs.get(job_id)
        if job is None:  # purged meanwhile
            return
        page = await jobs.results(job_id, "completion", sent, PAGE, RESULTS_PAGE_BYTES)  # read after the job's state
        if page:
            counted = await jobs.get(job_id) or job  # counts as fresh as the page
            for result in page:
                sent += 1
                yield ServerSentEvent(event="article", id=str(sent), data=_finished(sent, result, counted))
        elif job.state not in RUNNING:  # over before the page was read: the page held all there was
            yield ServerSentEvent(event="end", data=job)
            return
        else:
            await asyncio.sleep(POLL_S)


def _finished(sequence: int, result: JobResult, job: Job) -> ArticleFinished:
    """Describe one finished article, with the job's counts."""
    return ArticleFinished(
        sequence=sequence,
        index=result.index,
        article_id=result.article_id,
        state=result.state,
        claims=0 if result.result is None else len(result.result.claims),
        counts=job.counts,
    )
