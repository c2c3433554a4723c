"""Run an import: entries read from the body, stored a batch at a time, the report kept as it goes.

A small import runs while its request waits (``run``); a large one (more entries than ``sync_limit``, or a
client asking ``Prefer: respond-async``) runs as a task of this process (``start``), its state saved in the
archive's store after every batch, so any replica answers ``GET /v1/factchecks/imports/{id}``. Import jobs
are their own small resource rather than ``/v1/jobs``: those are extraction jobs (articles, models, results,
webhooks, quotas), and an import has none of them; it has a count, progress and rejections.

What a batch stored stays when a later one fails or the process stops: imports are upserts by URL, so sending
the file again finishes the work and duplicates nothing. A job whose process died stays ``running`` with an
``updated_at`` that stops moving; one whose process was shut down is marked ``failed`` saying so.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

from schemas.factcheck_archive import REJECTIONS_LISTED, ImportJob, ImportReport, Rejection
from schemas.factchecks import FactCheck
from service.errors import ClaimServiceError
from service.factchecks.archive import FactCheckArchive, fact_check_of
from service.factchecks.importing import Entry, Reading

BATCH = 256
logger = logging.getLogger("claims.factchecks")


def _now() -> datetime:
    """Return the time now, in UTC."""
    return datetime.now(UTC)


def new_import_id() -> str:
    """Return a new import job id: ``imp_`` and 24 hex digits."""
    return "imp_" + secrets.token_hex(12)


def _reject(report: ImportReport, rejection: Rejection) -> None:
    """Count a rejection, listing it while the list has room."""
    report.rejected += 1
    if len(report.rejections) < REJECTIONS_LISTED:
        report.rejections.append(rejection)


async def _store_batch(archive: FactCheckArchive, entries: list[Entry], report: ImportReport) -> None:
    """Store one batch's fact-checks and add what happened to ``report``."""
    accepted: list[FactCheck] = []
    for entry in entries:
        made = fact_check_of(entry.fields) if entry.fields is not None else entry.reason or "refused"
        if isinstance(made, FactCheck):
            accepted.append(made)
        else:
            _reject(report, Rejection(at=entry.at, reason=made))
    if accepted:
        written = await archive.upsert(accepted)
        report.imported += written.imported
        report.updated += written.updated


class Importer:
    """Imports into one archive: run now, or started as a job that any replica can show."""

    def __init__(self, archive: FactCheckArchive) -> None:
        self.archive = archive
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def run(self, reading: Reading, job: ImportJob | None = None) -> ImportReport:
        """Import every entry a batch at a time; with ``job``, save its progress after each batch."""
        report = job.report if job is not None else ImportReport()
        entries: Iterator[Entry] = reading.entries
        processed = 0
        while batch := list(islice(entries, BATCH)):
            await _store_batch(self.archive, batch, report)
            processed += len(batch)
            if job is not None:
                job.processed, job.total = processed, max(job.total, processed)
                job.updated_at = _now()
                await self.archive.store.save_import(job)
        return report

    async def start(self, reading: Reading) -> ImportJob:
        """Save a new import job and run it in the background; return it as it starts."""
        now = _now()
        job = ImportJob(
            id=new_import_id(), state="running", total=reading.total, processed=0, report=ImportReport(),
            created_at=now, updated_at=now,
        )  # fmt: skip
        await self.archive.store.save_import(job)
        task = asyncio.create_task(self._run_job(reading, job.model_copy(deep=True)), name=f"import {job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return job

    async def _run_job(self, reading: Reading, job: ImportJob) -> None:
        """Run the job to its end and save how it ended (a failure saved with its reason)."""
        try:
            await self.run(reading, job)
            job.state, job.total = "succeeded", job.processed
        except asyncio.CancelledError:
            job.state, job.error = "failed", "the service stopped during the import; send the file again to finish it"
            await self._save_end(job)
            raise
        except ClaimServiceError as exc:
            job.state, job.error = "failed", f"{exc.title}: {exc.detail}"
        except Exception as exc:  # our bug: the job says it failed rather than stay running for ever
            logger.exception("import %s failed", job.id)
            job.state, job.error = "failed", f"internal error ({type(exc).__name__})"
        await self._save_end(job)

    async def _save_end(self, job: ImportJob) -> None:
        """Save a job's final state, logging when the store cannot take it."""
        job.updated_at = _now()
        try:
            await self.archive.store.save_import(job)
        except ClaimServiceError as exc:
            logger.error("import %s ended %s but its state could not be saved: %s", job.id, job.state, exc.detail)

    async def stop(self) -> None:
        """Cancel the imports running in this process (each is saved as failed, saying why)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
