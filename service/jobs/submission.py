"""Reading a job submission: one request, a batch, or NDJSON, each request checked before anything is stored.

Every request of a submission is validated as a synchronous extraction would be (schema, configured model
and prompt, article size), so a job never accepts what would fail for certain. Invalid lines (or batch
entries) are reported by their 1-based number: the whole job is a 422 unless ``skip_invalid`` is asked,
and then they are listed on the job as ``rejected``. A callback URL, in the body or the query string, is
checked whole (no control character or whitespace anywhere in it, one reading of its host and port). The
body's sha256 (with the callback settings) is what an ``Idempotency-Key`` is checked against.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas import ExtractionRequest
from schemas.jobs import JobCallback, RejectedLine
from service.errors import ClaimServiceError, InvalidRequest, validation_summary
from service.jobs.webhooks import check_callback_characters
from service.stores.jobs.job_store import NewArticle, NewJob, new_job_id

NDJSON = "application/x-ndjson"
JOB_SETTINGS = ("callback_url", "callback_per_article", "mode", "batch_repairs")  # the job's, not a request's
CONTAINERS_A_REQUEST = 64  # JSON objects and arrays a request may hold on average (a request itself has 2 to 4)
STRING_OR_CONTAINER = re.compile(rb'"(?:[^"\\\n]++|\\.)*+(?:"|(?=\n)|\Z)|[\[{]')  # a string always matches: linear


@dataclass(frozen=True, slots=True)
class Submission:
    """What a POST /v1/jobs asked for, before validation of its requests."""

    entries: list[tuple[int, Any]]  # (1-based line or position, parsed JSON or the reason it is not JSON)
    callback: JobCallback
    body: bytes


def read_submission(body: bytes, content_type: str, query_callback: JobCallback, max_articles: int) -> Submission:
    """Parse a JSON (one request, or ``{"requests": [...]}``) or NDJSON body into numbered entries."""
    check_structure(body, CONTAINERS_A_REQUEST * max_articles + 1_000)
    if content_type == NDJSON:
        return Submission(_ndjson_entries(body), _one_callback(JobCallback(), query_callback), body)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidRequest('the body must be a JSON object: one extraction request, or {"requests": [...]}')
    callback = _one_callback(_callback_of(document), query_callback)
    if "requests" in document:
        unknown = sorted(set(document) - {"requests"})
        if unknown:
            raise InvalidRequest(f"{', '.join(unknown)}: extra fields of a batch are not permitted")
        requests = document["requests"]
        if not isinstance(requests, list) or not requests:
            raise InvalidRequest("requests: a batch holds a non-empty list of extraction requests")
        return Submission(list(enumerate(requests, start=1)), callback, body)
    return Submission([(1, document)], callback, body)


def check_structure(body: bytes, max_containers: int) -> None:
    """Refuse a body of more JSON objects and arrays than its requests can need, before parsing it (422).

    Parsed, ``[]`` costs 64 bytes for its 3: 40 MB of nested empty lists would take 1.4 GB. Strings are passed
    over (an article's brackets are text), and the count stops at the limit.
    """
    containers = 0
    for token in STRING_OR_CONTAINER.finditer(body):
        if token.group() in (b"[", b"{"):
            containers += 1
            if containers > max_containers:
                raise InvalidRequest(
                    f"the body holds more than {max_containers:,} JSON objects and arrays; "
                    f"a job's requests may hold {CONTAINERS_A_REQUEST} each on average"
                )


def _one_callback(in_body: JobCallback, in_query: JobCallback) -> JobCallback:
    """Return the job's callback: what the JSON body says, and the query string's where the body says nothing.

    Both callback URLs are checked for what the contract's pattern refuses, the one not taken too: a character
    a URL may not hold is a 422 wherever it is given (the one taken is checked whole by ``check_callback``).
    """
    for url in (in_body.callback_url, in_query.callback_url):
        if url is not None:
            check_callback_characters(url)
    given = in_query.model_dump(exclude_defaults=True) | in_body.model_dump(exclude_unset=True)
    return JobCallback.model_validate(given)


def _callback_of(document: dict[str, Any]) -> JobCallback:
    """Take the job's settings (callback, mode) out of a JSON submission (they are the job's, not a request's)."""
    fields = {key: document.pop(key) for key in JOB_SETTINGS if key in document}
    try:
        return JobCallback.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(validation_summary(exc.errors(), root="body")) from exc


def _ndjson_entries(body: bytes) -> list[tuple[int, Any]]:
    """Return each non-blank NDJSON line parsed, or the reason it is not JSON, with its 1-based number."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the NDJSON body is not UTF-8 text") from exc
    entries: list[tuple[int, Any]] = []
    lines = text.removeprefix("\ufeff").split("\n")  # JSON strings may hold U+2028 or U+0085: lines end at LF only
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entries.append((number, json.loads(line)))
        except (ValueError, RecursionError) as exc:
            entries.append((number, _NotJson(str(exc))))
    if not entries:
        raise InvalidRequest("the NDJSON body holds no request (one JSON extraction request a line)")
    return entries


@dataclass(frozen=True, slots=True)
class _NotJson:
    """A line that did not parse."""

    reason: str


def build_job(
    submission: Submission,
    check: Callable[[ExtractionRequest], str],
    *,
    max_articles: int,
    skip_invalid: bool,
    idempotency_key: str | None,
    key_name: str | None = None,
    batch_model: Callable[[list[ExtractionRequest]], str] | None = None,
) -> NewJob:
    """Validate every request (``check`` raises a 4xx or returns the article id); return the job to store."""
    if len(submission.entries) > max_articles:
        raise InvalidRequest(f"the job has {len(submission.entries):,} requests; the limit is {max_articles:,}")
    articles: list[NewArticle] = []
    requests: list[ExtractionRequest] = []
    rejected: list[RejectedLine] = []
    for number, entry in submission.entries:
        try:
            request = _request_of(entry)
            article_id = check(request)
        except (ValidationError, ClaimServiceError) as exc:
            rejected.append(RejectedLine(line=number, detail=_why(exc)))
            continue
        requests.append(request)
        articles.append(NewArticle(index=len(articles), article_id=article_id, request_json=request.model_dump_json()))
    if rejected and (not skip_invalid or not articles):  # skipping every request would leave nothing to run
        details = "; ".join(f"line {line.line}: {line.detail}" for line in rejected[:20])
        more = f"; and {len(rejected) - 20} more" if len(rejected) > 20 else ""
        problem = InvalidRequest(
            f"{len(rejected)} of {len(submission.entries)} requests are invalid"
            f"{'' if skip_invalid else ' (add ?skip_invalid=true to run the others)'}: {details}{more}",
            extensions={"rejected": [line.model_dump() for line in rejected]},
        )
        raise problem
    batched = submission.callback.mode == "batch"
    if batched and batch_model is None:
        raise InvalidRequest("mode: batch is not available here")
    return NewJob(
        id=new_job_id(),
        articles=articles,
        body_sha256=_fingerprint(submission),
        idempotency_key=idempotency_key,
        callback_url=submission.callback.callback_url,
        callback_per_article=submission.callback.callback_per_article,
        rejected_json=json.dumps([line.model_dump() for line in rejected]),
        key_name=key_name,
        batch_model=batch_model(requests) if batched and batch_model is not None else None,
        batch_repairs=submission.callback.batch_repairs,
    )


def _request_of(entry: Any) -> ExtractionRequest:
    """Validate one entry as an extraction request (a line that was not JSON fails here)."""
    if isinstance(entry, _NotJson):
        raise InvalidRequest(f"not JSON: {entry.reason}")
    return ExtractionRequest.model_validate(entry)


def _why(exc: ValidationError | ClaimServiceError) -> str:
    """Say in one line why a request was refused."""
    if isinstance(exc, ValidationError):
        return validation_summary(exc.errors(), root="request", limit=5)
    return exc.detail


def _fingerprint(submission: Submission) -> str:
    """Return what an Idempotency-Key is bound to: the body and the callback settings."""
    digest = hashlib.sha256(submission.body)
    callback = submission.callback
    # a key binds what it bound before modes and batch_repairs were taken, unless they say otherwise
    ignored = {"mode", "batch_repairs"} if callback.mode == "realtime" else set()
    if callback.batch_repairs == "batch":
        ignored.add("batch_repairs")
    digest.update(callback.model_dump_json(exclude=ignored or None).encode())
    return digest.hexdigest()
