"""The batch loop of the jobs runner: send a batch-mode job's chunk calls as one provider batch, and poll it.

Each step takes one batch under a lease (one owner at a time, in every process; four job leases long,
renewed while the step runs, as reading and chunking a large job and uploading its input take a while) and
moves it one step on, recording where it is before giving it up: ``pending`` → input uploaded
(``uploaded``, the file id kept) → submitted (``submitted``, the provider's batch id kept) → polled, the
wait doubling from ``batch_poll_s`` to ``batch_poll_max_s`` → back (``ready``; or ``failed`` /
``cancelled``), when its answers are stored and the job's articles released to the article workers. A
process killed at any point leaves the last step recorded: the next owner polls the same batch (an
``uploaded`` batch whose submission went out unrecorded is found among the provider's batches by its input
file), so a job's batch is submitted once. A job cancelled while its batch is out has the provider's batch
cancelled (a batch already done when cancelled is simply recorded cancelled). A provider error is tried
again later; a refusal (a 4xx: the batch unknown to the provider, its input refused) is not asked again:
the batch is recorded failed and its articles run in real time, so the job always finishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from schemas import ExtractionRequest
from schemas.jobs import BatchState
from service.errors import InvalidRequest, ModelCannotBatch, StoreUnavailable, UpstreamError, UpstreamRejected
from service.llm import batch_api
from service.pipeline.batch_calls import job_calls, needs_reask
from service.pipeline.extraction import Pipeline
from service.settings import ModelEntry, Settings
from service.steps.cpu import off_the_loop
from service.stores.jobs.batch_store import BatchQueue, BatchRecord

logger = logging.getLogger("claims.jobs")
MAX_REQUESTS = 50_000  # OpenAI's limit on the calls of one batch
LEASES_A_STEP = 4  # a batch is held for this many job leases: an upload of a large input takes a while


def batch_alias(pipeline: Pipeline, requests: list[ExtractionRequest]) -> str:
    """Return the one model alias a batch-mode job's articles ask; 422 when they ask several, or it cannot batch."""
    aliases = sorted({request.options.model or pipeline.settings.default_model for request in requests})
    if len(aliases) != 1:
        raise InvalidRequest(f"a batch-mode job's articles must ask one model; these ask {', '.join(aliases)}")
    entry = pipeline.model_chain(aliases[0])[0]
    if batch_api.batch_provider(entry) is None:
        raise ModelCannotBatch(
            f"model {entry.model_name!r} ({entry.model}) has no batch endpoint litellm can use (batches go to "
            f"{' and '.join(batch_api.BATCH_PROVIDERS)} models); submit the job with mode realtime"
        )
    return entry.model_name


def _chars(lines: list[dict[str, Any]]) -> int:
    """Return the characters of a batch input's messages (what encoding it as JSON lines weighs)."""
    return sum(len(message["content"]) for line in lines for message in line["body"]["messages"])


def poll_wait_s(settings: Settings, polls: int) -> float:
    """Return how long to wait before the next poll, after ``polls`` polls: doubling, up to the maximum."""
    return float(min(settings.batch_poll_max_s, settings.batch_poll_s * 2 ** min(polls, 30)))


class Batches:
    """What the batch loop does each step: move one due batch one step on."""

    def __init__(
        self, pipeline: Pipeline, queue: BatchQueue, *, owner: str, idle: Callable[[], Awaitable[None]]
    ) -> None:
        self._pipeline = pipeline
        self._settings = pipeline.settings
        self._queue = queue
        self._owner = owner
        self._idle = idle

    async def step(self) -> None:
        """Take one due batch and move it on; with none due, wait a moment."""
        record = await self._queue.due_batch(self._owner, LEASES_A_STEP * self._settings.job_lease_s)
        if record is None:
            await self._idle()
            return
        entry = self._settings.model_entry(record.model)
        if entry is None:  # the alias left the config while its batch was out: its articles run and fail
            await self._queue.batch_answered(record.moved("failed", detail=f"model {record.model!r} is gone"), {})
            return
        lost = asyncio.Event()
        advancing = asyncio.ensure_future(self._advance(record, entry))
        renewal = asyncio.create_task(self._keep_lease(record, advancing, lost))
        try:
            await advancing
        except asyncio.CancelledError:
            if lost.is_set():  # another owner has the batch now: it records the step, not this one
                logger.warning("job %s: lost its batch's lease while it was %s", record.job_id, record.state)
                return
            advancing.cancel()
            raise
        except UpstreamRejected as refused:  # asked again, the provider would refuse again: the job goes on
            await self._give_up(record, refused)
        except UpstreamError as exc:
            wait = poll_wait_s(self._settings, record.polls)
            logger.warning("job %s: its batch is %s; trying again in %.0f s (%s)", record.job_id, record.state,
                           wait, exc.detail)  # fmt: skip
            await self._queue.save_batch(record.moved(record.state, polls=record.polls + 1), wait)
        finally:
            renewal.cancel()

    async def _keep_lease(self, record: BatchRecord, step: asyncio.Future[None], lost: asyncio.Event) -> None:
        """Renew the batch's lease every third of it while a step runs (an upload may outlast it); stop it if lost."""
        lease_s = LEASES_A_STEP * self._settings.job_lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                still_ours = await self._queue.renew_batch(record, lease_s)
            except StoreUnavailable:
                continue  # keep going: the step is recorded if the store is back in time
            if not still_ours:
                lost.set()
                step.cancel()
                return

    async def _give_up(self, record: BatchRecord, refused: UpstreamRejected) -> None:
        """Record a batch the provider refuses for good (a 4xx) as failed, and release its articles to real time."""
        if record.job_cancelled:
            await self._queue.batch_answered(record.moved("cancelled", detail="the job was cancelled"), {})
            return
        logger.warning("job %s: the provider refused its batch (%s); its articles run in real time", record.job_id,
                       refused.detail)  # fmt: skip
        left = record.requests - record.answered
        unanswered = f"{left} call(s) unanswered by the batch" if left > 0 else "its calls"
        detail = f"the provider refused the batch ({refused.detail}); {unanswered}, asked in real time"
        await self._queue.batch_answered(record.moved("failed", detail=detail), {})

    async def _advance(self, record: BatchRecord, entry: ModelEntry) -> None:
        """Do the one thing the batch needs next, and record it."""
        if record.job_cancelled:
            await self._cancel(record, entry)
        elif record.state == "pending":
            await self._upload(record, entry)
        elif record.state == "uploaded":
            await self._submit(record, entry)
        else:
            await self._poll(record, entry)

    async def _upload(self, record: BatchRecord, entry: ModelEntry) -> None:
        """Write the batch's calls (the job's uncached chunk calls; a follow-up's re-asks) and upload them."""
        lookup = partial(self._queue.batch_answer, record.job_id) if record.follow_ups else None
        requests = await self._queue.batch_requests(record.job_id)
        lines = await job_calls(self._pipeline, requests, record.follow_ups, lookup)
        if not lines:
            detail = record.detail if record.follow_ups else "every chunk was in the reply cache"
            await self._queue.batch_answered(record.moved("ready", detail=detail), {})
            return
        if len(lines) > MAX_REQUESTS:
            detail = f"{len(lines):,} chunk calls are more than a batch takes ({MAX_REQUESTS:,}); asked in real time"
            state: BatchState = "ready" if record.follow_ups else "failed"
            await self._queue.batch_answered(record.moved(state, requests=record.requests, detail=detail), {})
            return
        content = await off_the_loop(partial(batch_api.input_jsonl, lines), size=_chars(lines))
        file_id = await batch_api.upload_input(entry, content)
        which = f"follow-up batch {record.follow_ups}" if record.follow_ups else "batch"
        logger.info("job %s: uploaded %d call(s) as %s input %s", record.job_id, len(lines), which, file_id)
        uploaded = record.moved("uploaded", input_file_id=file_id, requests=record.requests + len(lines))
        await self._queue.save_batch(uploaded, 0.0, sent=[line["custom_id"] for line in lines])

    async def _submit(self, record: BatchRecord, entry: ModelEntry) -> None:
        """Submit the uploaded input, unless a batch over it was already made (its id then went unrecorded)."""
        assert record.input_file_id is not None  # noqa: S101 -- recorded with the uploaded state
        batch_id = await batch_api.submitted_batch(entry, record.input_file_id)
        if batch_id is None:
            batch_id = await batch_api.submit_batch(entry, record.input_file_id, record.job_id)
            logger.info("job %s: submitted batch %s", record.job_id, batch_id)
        else:
            logger.info("job %s: batch %s was submitted before; polling it", record.job_id, batch_id)
        submitted = record.moved("submitted", provider_batch_id=batch_id, polls=0)
        await self._queue.save_batch(submitted, poll_wait_s(self._settings, 0))

    async def _poll(self, record: BatchRecord, entry: ModelEntry) -> None:
        """Ask where the batch is; once it is done, store its answers, and send its re-asks or release the articles."""
        assert record.provider_batch_id is not None  # noqa: S101 -- recorded with the submitted state
        status = await batch_api.batch_status(entry, record.provider_batch_id)
        if not status.finished:
            polled = record.moved("submitted", polls=record.polls + 1)
            await self._queue.save_batch(polled, poll_wait_s(self._settings, record.polls + 1))
            return
        answers = await self._output(entry, status.output_file_id) if status.output_file_id else {}
        answers, strangers = await self._sent_ones(record, answers)
        state: BatchState = (
            "ready" if status.status == "completed" else "cancelled" if status.status == "cancelled" else "failed"
        )
        answered = record.answered + len(answers)
        notes = [status.detail or (f"batch {status.status}" if state != "ready" else None)]
        if strangers:
            notes.append(f"{strangers} output line(s) named a call the job did not send, ignored")
        if record.requests > answered:
            notes.append(f"{record.requests - answered} call(s) unanswered by the batch, asked in real time")
        detail = "; ".join(note for note in notes if note) or None
        logger.info("job %s: batch %s is %s with %d answer(s)", record.job_id, record.provider_batch_id,
                    status.status, len(answers))  # fmt: skip
        done = record.moved(state, answered=answered, detail=detail)
        if state == "ready" and await self._reasks_due(record, entry, answers):
            following = done.moved(
                "pending", follow_ups=record.follow_ups + 1, input_file_id=None, provider_batch_id=None, polls=0,
                earlier_batch_ids=(*record.earlier_batch_ids, record.provider_batch_id),
            )  # fmt: skip
            await self._queue.save_batch(following, 0.0, answers=answers)
            return
        await self._queue.batch_answered(done, answers)

    async def _output(self, entry: ModelEntry, file_id: str) -> dict[str, str]:
        """Read a batch's output file as it arrives, parsing each block of lines off the event loop."""
        answers: dict[str, str] = {}
        async for lines in batch_api.file_lines(entry, file_id):
            size = sum(len(line) for line in lines)
            answers.update(await off_the_loop(partial(batch_api.answered_lines, lines), size=size))
        return answers

    async def _sent_ones(self, record: BatchRecord, answers: dict[str, str]) -> tuple[dict[str, str], int]:
        """Keep the answers to calls this batch sent; return them and how many output lines named another call."""
        sent = await self._queue.batch_sent(record.job_id)
        if not sent:  # a batch uploaded before the calls sent were recorded: nothing to check them against
            return answers, 0
        strangers = [custom_id for custom_id in answers if custom_id not in sent]
        if not strangers:
            return answers, 0
        logger.warning("job %s: batch %s answered %d call(s) it was not sent (%s); ignored", record.job_id,
                       record.provider_batch_id, len(strangers), ", ".join(strangers[:3]))  # fmt: skip
        return {custom_id: body for custom_id, body in answers.items() if custom_id in sent}, len(strangers)

    async def _reasks_due(self, record: BatchRecord, entry: ModelEntry, answers: dict[str, str]) -> bool:
        """Say whether a follow-up batch may be due: re-asks go in batches, a repair is left, an answer is invalid."""
        if record.repairs != "batch" or record.follow_ups >= self._settings.repair_attempts or not answers:
            return False
        check = partial(needs_reask, entry, self._pipeline.client.mode_for(entry), answers)
        return await off_the_loop(check, size=sum(len(body) for body in answers.values()))

    async def _cancel(self, record: BatchRecord, entry: ModelEntry) -> None:
        """Cancel a cancelled job's batch at the provider (when it was submitted) and record it cancelled."""
        if record.provider_batch_id is not None:
            try:
                await batch_api.cancel_batch(entry, record.provider_batch_id)
            except UpstreamError:  # refused or failed: nothing is left to cancel if the batch is done already
                if not (await batch_api.batch_status(entry, record.provider_batch_id)).finished:
                    raise
            logger.info("job %s: cancelled batch %s", record.job_id, record.provider_batch_id)
        await self._queue.batch_answered(record.moved("cancelled", detail="the job was cancelled"), {})
