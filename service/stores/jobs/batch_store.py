"""What batch-mode jobs need from the job backend: their provider batch, held one at a time, and its answers.

A batch-mode job's articles are held back from the work queue while its provider batch is out. One worker
at a time owns the batch (a lease, like an article's): it uploads the input, submits it, records the
provider's batch id before doing anything else, and polls; a worker killed meanwhile leaves the record as
it was, and the next owner resumes it from there (polling the same batch, never submitting another). When
the batch is back its answers are stored by ``custom_id``; a job whose re-asks go in follow-up batches (its
``repairs``) may then send another batch of them, held the same way, before its articles are released to the
queue, where the article workers read their chunks' answers from here instead of asking the model. The
``custom_id`` of each call sent in the batch now out is stored with it (``sent``): an output line naming
another is no answer of this job's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from schemas.jobs import BatchRepairs, BatchState, JobBatch

OUT: tuple[BatchState, ...] = ("pending", "uploaded", "submitted")  # the articles wait while the batch is one of these


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A job's provider batch as stored: where it is, what was sent, and which claim holds it now."""

    job_id: str
    model: str  # the alias the calls go to
    state: BatchState = "pending"
    input_file_id: str | None = None
    provider_batch_id: str | None = None
    requests: int = 0  # calls sent, in every batch of the job (the first and its follow-ups)
    answered: int = 0  # calls those batches answered
    polls: int = 0
    detail: str | None = None
    owner: str = ""  # the claim that holds it ("" when none does)
    job_cancelled: bool = False  # the job was cancelled: the batch is to be cancelled at the provider
    repairs: BatchRepairs = "batch"  # re-asks go in follow-up batches, or are asked in real time
    follow_ups: int = 0  # 0 for the job's first batch; n for its n-th follow-up batch of re-asks
    earlier_batch_ids: tuple[str, ...] = ()  # the provider ids of the job's batches before this one

    def moved(self, state: BatchState, **changes: object) -> BatchRecord:
        """Return the record in ``state`` with ``changes`` (input file, batch id, counts, detail)."""
        return replace(self, state=state, **changes)  # type: ignore[arg-type]

    def view(self) -> JobBatch:
        """Return the batch as the job shows it."""
        return JobBatch(
            state=self.state, model=self.model, provider_batch_id=self.provider_batch_id, requests=self.requests,
            answered=self.answered, detail=self.detail, repairs=self.repairs, follow_ups=self.follow_ups,
            earlier_batch_ids=list(self.earlier_batch_ids),
        )  # fmt: skip


class BatchQueue(Protocol):
    """The provider batches of batch-mode jobs, handed to one owner at a time, and the answers they brought."""

    async def due_batch(self, owner: str, lease_s: float) -> BatchRecord | None:
        """Claim for ``lease_s`` a batch due now (to send, to poll, or to cancel with its job), or None."""

    async def renew_batch(self, record: BatchRecord, lease_s: float) -> bool:
        """Hold ``record.owner``'s batch ``lease_s`` longer (a step still at work); False if no longer held."""

    async def save_batch(
        self,
        record: BatchRecord,
        next_in_s: float,
        *,
        answers: dict[str, str] | None = None,
        sent: list[str] | None = None,
    ) -> bool:
        """Record where a held batch is and give it up until ``next_in_s`` from now; False if no longer held.

        ``answers`` (a batch's answers, by custom_id) are stored with it, to stay held for a follow-up batch;
        ``sent`` (the custom_ids of the batch just uploaded) replaces the custom_ids of the batch before.
        """

    async def batch_answered(self, record: BatchRecord, answers: dict[str, str]) -> bool:
        """Store a held batch's answers (by custom_id), record its final state and release the job's articles."""

    async def batch_requests(self, job_id: str) -> list[str]:
        """Return the stored request JSON of a job's articles, in submission order."""

    async def batch_sent(self, job_id: str) -> set[str]:
        """Return the custom_ids sent in the job's batch now out (empty when none were recorded)."""

    async def batch_answer(self, job_id: str, custom_id: str) -> str | None:
        """Return the provider's answer line (its response body, as JSON) for one call of a job's batch, or None."""

    async def batch_of(self, job_id: str) -> BatchRecord | None:
        """Return a job's batch record (None: a realtime job)."""
