"""The provider's Batch API through litellm: upload the calls as JSONL, submit, poll, read the output, cancel.

A batch's input is one JSONL line per chunk call, ``{"custom_id", "method", "url", "body"}`` in OpenAI's
shape, the body exactly what a realtime call would send (messages, prompt params, structured output). The
``custom_id`` hashes the alias, the structured-output mode and the messages, so the article workers find a
chunk's answer by asking the same question, and two identical chunks make one line. Which providers can
batch is what litellm 1.106.2 can upload a file to, create, retrieve, list and cancel a batch on, and read
its output from, through one API shape: OpenAI's (``openai``, and ``azure``'s OpenAI-compatible batches).
litellm's own retries are off here too; every litellm error is translated as for a chat call.

A batch's output file is read as it arrives (litellm's ``afile_content(stream=True)``, 1 MB at a time, for
``openai``), a block of whole lines at a time, so it is never held whole, nor twice (bytes and text). For
``azure`` litellm 1.106.2 does not stream a file's content: the body is read whole (once, as bytes) and
its lines are still decoded one at a time. litellm's own logging of a poll that finds a batch done would
download the whole output again to price it (when an operator registered a litellm callback): it is told
not to (``batch_ignore_default_logging``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from service.errors import UpstreamError
from service.llm.client import OUR_PARAMS, configure_litellm
from service.llm.secrets import resolve_secrets
from service.llm.structured_output import request_arguments
from service.llm.upstream_errors import our_own_bug, translate_error, upstream_error_types
from service.offline import OFFLINE_PROVIDER
from service.settings import ModelEntry, StructuredOutput

BATCH_PROVIDERS = ("openai", "azure")
ENDPOINT = "/v1/chat/completions"
CONNECTION_PARAMS = ("api_key", "api_base", "api_version", "organization")
UNFINISHED = ("validating", "in_progress", "finalizing", "cancelling")  # the provider is still at it
LIST_PAGE, LIST_PAGES = 100, 50  # an unrecorded submit is looked for among the 5,000 newest batches
TIMEOUT_S = 600.0  # an upload of a large batch input takes a while
OUTPUT_CHUNK = 1024 * 1024  # a batch's output is read this many bytes at a time
# with a litellm callback registered, litellm's logging of a poll that finds the batch done downloads its whole
# output (and error) file again to price it; the service prices the lines it reads, so that logging is skipped
NO_BATCH_COST_LOG = {"batch_ignore_default_logging": True}


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """Where the provider says a batch is, and where its output and errors are once it is done."""

    status: str  # validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled
    output_file_id: str | None
    error_file_id: str | None
    detail: str | None  # why it failed, when it did

    @property
    def finished(self) -> bool:
        """Say whether the provider is done with it (completed, failed, expired or cancelled)."""
        return self.status not in UNFINISHED


def batch_provider(entry: ModelEntry) -> str | None:
    """Return the litellm provider that can run ``entry``'s calls as a batch, or None when none can."""
    if entry.model.startswith(OFFLINE_PROVIDER + "/"):
        return None
    try:
        _, provider, _, _ = configure_litellm().get_llm_provider(model=entry.model)
    except Exception:  # litellm raises for a model string it cannot place
        return None
    return str(provider) if provider in BATCH_PROVIDERS else None


def batch_prices(entry: ModelEntry) -> tuple[float, float] | None:
    """Return what a prompt and a completion token cost in a batch, from litellm's map (None: no batch price)."""
    try:
        info = configure_litellm().get_model_info(model=entry.model)
    except Exception:  # litellm raises for models missing from its price map
        return None
    prompt, completion = info.get("input_cost_per_token_batches"), info.get("output_cost_per_token_batches")
    if prompt is None or completion is None:
        return None
    return float(prompt), float(completion)


def custom_id_for(alias: str, mode: StructuredOutput, messages: list[dict[str, str]]) -> str:
    """Return the custom_id of asking ``alias`` these messages in ``mode`` (the same question, the same id)."""
    asked = json.dumps([alias, mode, messages], ensure_ascii=False, separators=(",", ":"))
    return "chunk-" + hashlib.sha256(asked.encode("utf-8")).hexdigest()[:40]


def _body_params(entry: ModelEntry, mode: StructuredOutput, prompt_params: dict[str, Any]) -> dict[str, Any]:
    """Return the chat body's parameters: the model's own (no connection or secret) and the prompt's, as JSON."""
    litellm = configure_litellm()
    model_params = {
        key: value
        for key, value in entry.litellm_params.items()
        if key not in (*CONNECTION_PARAMS, *OUR_PARAMS, "model", "timeout") and not isinstance(value, dict)
    }
    structured = request_arguments(mode, entry)
    if isinstance(structured.get("response_format"), type):  # a pydantic model: OpenAI's json_schema shape
        structured["response_format"] = litellm.utils.type_to_response_format_param(structured["response_format"])
    return {**model_params, **prompt_params, **structured}


def batch_line(
    entry: ModelEntry, mode: StructuredOutput, messages: list[dict[str, str]], prompt_params: dict[str, Any]
) -> dict[str, Any]:
    """Return one line of a batch's input: the chat call a realtime extraction would make for these messages."""
    model_name = entry.model.split("/", 1)[1] if "/" in entry.model else entry.model
    body = {"model": model_name, "messages": messages, **_body_params(entry, mode, prompt_params)}
    return {
        "custom_id": custom_id_for(entry.model_name, mode, messages),
        "method": "POST",
        "url": ENDPOINT,
        "body": body,
    }


def _connection(entry: ModelEntry) -> dict[str, Any]:
    """Return the provider, credentials and base URL of ``entry``'s batch calls, litellm's retries off."""
    provider = batch_provider(entry)
    if provider is None:
        raise UpstreamError(f"model {entry.model_name!r} cannot be sent a batch", model_alias=entry.model_name)
    params = resolve_secrets(entry)
    connection = {key: params[key] for key in CONNECTION_PARAMS if key in params}
    return {**connection, "custom_llm_provider": provider, "max_retries": 0, "timeout": TIMEOUT_S}


async def _call(entry: ModelEntry, name: str, **arguments: Any) -> Any:
    """Make one litellm batch or file call, translating the provider's errors (never our own bugs)."""
    litellm = configure_litellm()
    try:
        return await getattr(litellm, name)(**arguments, **_connection(entry))
    except upstream_error_types() as exc:
        bug = our_own_bug(exc)
        if bug is not None:
            raise bug from None
        raise translate_error(exc, entry, "prompt") from exc


def input_jsonl(lines: list[dict[str, Any]]) -> bytes:
    """Return a batch's input file: one JSON line per call (CPU work: megabytes for a large job)."""
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


async def upload_input(entry: ModelEntry, content: bytes) -> str:
    """Upload a batch's input (``input_jsonl``'s bytes); return the provider's file id."""
    created = await _call(entry, "acreate_file", file=("claims-batch.jsonl", content), purpose="batch")
    return str(created.id)


async def submit_batch(entry: ModelEntry, input_file_id: str, job_id: str) -> str:
    """Create the batch over an uploaded input, naming the job in its metadata; return the provider's batch id."""
    batch = await _call(
        entry, "acreate_batch", completion_window="24h", endpoint=ENDPOINT, input_file_id=input_file_id,
        metadata={"claims_job": job_id},
    )  # fmt: skip
    return str(batch.id)


async def submitted_batch(entry: ModelEntry, input_file_id: str) -> str | None:
    """Return the id of a batch already made over ``input_file_id`` (a submit whose reply was never recorded)."""
    after: dict[str, str] = {}
    for _ in range(LIST_PAGES):  # newest first: a batch made after ours pushes it down the list
        listed = await _call(entry, "alist_batches", limit=LIST_PAGE, **after)
        batches = getattr(listed, "data", None) or []
        for batch in batches:
            if getattr(batch, "input_file_id", None) == input_file_id:
                return str(batch.id)
        if not batches or not getattr(listed, "has_more", False):
            return None
        after = {"after": str(batches[-1].id)}
    return None


async def batch_status(entry: ModelEntry, batch_id: str) -> BatchStatus:
    """Ask the provider where a batch is."""
    batch = await _call(entry, "aretrieve_batch", batch_id=batch_id, litellm_metadata=NO_BATCH_COST_LOG)
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    detail = "; ".join(str(getattr(error, "message", error)) for error in errors) or None
    return BatchStatus(
        status=str(batch.status), output_file_id=getattr(batch, "output_file_id", None),
        error_file_id=getattr(batch, "error_file_id", None), detail=detail,
    )  # fmt: skip


async def _chunks(entry: ModelEntry, stream: Any) -> AsyncIterator[bytes]:
    """Yield a streamed file's byte chunks, translating an error met while reading as a call's would be."""
    try:
        async for chunk in stream:
            yield bytes(chunk)
    except upstream_error_types() as exc:
        raise translate_error(exc, entry, "prompt") from exc


async def file_lines(entry: ModelEntry, file_id: str) -> AsyncIterator[list[bytes]]:
    """Yield a batch output (or error) file's lines in blocks of whole lines, as the provider sends them."""
    content = await _call(entry, "afile_content", file_id=file_id, stream=True, chunk_size=OUTPUT_CHUNK)
    stream = getattr(content, "stream_iterator", None)
    if stream is None:  # a provider litellm does not stream files of (azure): read whole, once, as bytes
        yield list(content.response.iter_lines())  # decoded line by line, never as one text
        return
    rest = b""
    async for chunk in _chunks(entry, stream):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()  # the start of a line the next chunk ends
        if lines:
            yield lines
    if rest:
        yield [rest]


async def cancel_batch(entry: ModelEntry, batch_id: str) -> None:
    """Ask the provider to cancel a batch."""
    await _call(entry, "acancel_batch", batch_id=batch_id)


def answered_lines(lines: Iterable[bytes | str]) -> dict[str, str]:
    """Return the successful lines of (part of) a batch output file: custom_id -> the chat completion body, as JSON.

    A line the provider could not answer (a non-200 ``response`` or an ``error``) is left out: its chunk is
    asked in real time. CPU work: run it off the event loop for a large block.
    """
    answers: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        response = record.get("response") or {}
        if record.get("error") is None and response.get("status_code") == 200 and "custom_id" in record:
            answers[str(record["custom_id"])] = json.dumps(response.get("body"))
    return answers
