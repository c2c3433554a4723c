"""Recorded provider exchanges: record them live, store them without secrets, serve them back through respx.

One JSON file per (prompt version, model alias, case) under ``<root>/<prompt>@<version>/<alias>/<case>.json``
holds a list of ``{request: {method, url, body}, response: {status, headers, body}}``. On replay a request
is matched by the sha256 of its canonical JSON body, so the order in which concurrent chunks ask does not
matter; a request with no recorded answer is collected and fails the run (``MissingRecording``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import respx

if TYPE_CHECKING:
    from service.evaluation.golden import GoldenCase

REDACTED = "<redacted>"
SECRET_HEADER = re.compile(r"authorization|api-key|key|token|cookie", re.IGNORECASE)
SECRET_QUERY = re.compile(r"([?&][^=&]*(?:key|token)[^=&]*=)[^&]*", re.IGNORECASE)
HOP_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}
MISSING_STATUS = 400  # not retried, so a missing exchange fails fast and is reported after the run


class MissingRecording(RuntimeError):
    """A replayed request has no recorded answer: record it with ``claims eval run --record``."""


class RecordingFailed(RuntimeError):
    """The provider failed while recording, so the recordings would be incomplete; nothing was written."""


MODEL_FILE = "_model.json"  # beside the cases' files; a case id never starts with "_"


def recording_path(root: Path, prompt: str, alias: str, case_id: str) -> Path:
    """Return the file holding the exchanges of one (``name@version`` prompt, model alias, case)."""
    return root / prompt / alias / f"{case_id}.json"


def request_digest(body: bytes) -> str:
    """Return the sha256 of a request body as canonical JSON (or of the raw bytes when it is not JSON)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def public_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return the headers worth keeping: no auth, key, token or cookie header, no transport framing."""
    return {
        name.lower(): value
        for name, value in headers
        if not SECRET_HEADER.search(name) and name.lower() not in HOP_HEADERS and name.lower() != "set-cookie"
    }


def _body(content: bytes) -> Any:
    """Return a body as JSON when it parses, else as text."""
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def _content(body: Any) -> bytes:
    """Return the bytes of a stored body."""
    return body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")


def exchange_of(request: httpx.Request, response: httpx.Response) -> dict[str, Any]:
    """Return one exchange as stored: the request's method, URL and body, the response's status, headers, body."""
    return {
        "request": {
            "method": request.method,
            "url": SECRET_QUERY.sub(r"\1" + REDACTED, str(request.url)),
            "body": _body(request.content),
        },
        "response": {
            "status": response.status_code,
            "headers": public_headers(response.headers.multi_items()),
            "body": _body(response.content),
        },
    }


def save_exchanges(path: Path, exchanges: list[dict[str, Any]], secrets: Iterable[str] = ()) -> None:
    """Write exchanges as JSON, with every occurrence of each secret replaced by a placeholder."""
    text = json.dumps(exchanges, indent=2, ensure_ascii=False) + "\n"
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def save_model(directory: Path, entry: dict[str, Any], secrets: Iterable[str] = ()) -> None:
    """Write the recorded alias's model entry (keys only as ``os.environ/VAR`` references) beside its cases."""
    save_exchanges(directory / MODEL_FILE, [entry], secrets)


def recorded_models(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """Return each recorded ``(prompt, model entry)`` under ``root``, sorted by path."""
    return [
        (path.parent.parent.name, json.loads(path.read_text(encoding="utf-8"))[0])
        for path in sorted(root.glob(f"*/*/{MODEL_FILE}"))
    ]


def recorded_entry(root: Path, alias: str) -> dict[str, Any] | None:
    """Return the model entry recorded for ``alias`` under any prompt (the first by path), or None."""
    return next((entry for _, entry in recorded_models(root) if entry.get("model_name") == alias), None)


def replayable_cases(
    cases: Sequence[GoldenCase], prompts: Sequence[str], aliases: Sequence[str], root: Path
) -> tuple[list[GoldenCase], list[str]]:
    """Return the cases recorded for every (prompt, model) that has recordings, and the ids of the others.

    Recording a slow model on every case is not always worth it, so a pair may cover some cases only; a
    replay then compares versions on the cases all of them cover. A pair with no recordings at all (the
    offline model, or a model never recorded) keeps every case and fails later if it needs the network.
    """
    recorded = [root / prompt / alias for prompt in prompts for alias in aliases]
    recorded = [directory for directory in recorded if (directory / MODEL_FILE).is_file()]
    kept = [case for case in cases if all((directory / f"{case.id}.json").is_file() for directory in recorded)]
    ids = {case.id for case in kept}
    return kept, [case.id for case in cases if case.id not in ids]


def load_exchanges(path: Path) -> list[dict[str, Any]]:
    """Read the exchanges of one file; none when it does not exist."""
    if not path.is_file():
        return []
    exchanges: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return exchanges


@dataclass
class Tape:
    """The exchanges of one run: captured while recording, or served while replaying."""

    exchanges: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def check_complete(self, where: Path) -> None:
        """Raise ``MissingRecording`` when a replayed request found no recorded answer."""
        if self.missing:
            raise MissingRecording(
                f"{len(self.missing)} request(s) have no recorded answer in {where} (first: {self.missing[0]}); "
                "the prompt, model parameters or case changed: re-record with `claims eval run --record`"
            )


@contextmanager
def recording(live: httpx.AsyncBaseTransport | None = None) -> Iterator[Tape]:
    """Forward every HTTP request to ``live`` (default: the network) and capture each exchange."""
    tape = Tape()

    async def send(request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send the request upstream and read the response in full."""
        if live is not None:
            response = await live.handle_async_request(request)
            return response, await response.aread()
        async with httpx.AsyncHTTPTransport() as network:  # not the patched client: this one really sends
            response = await network.handle_async_request(request)
            content = await response.aread()
            await response.aclose()
            return response, content

    async def forward(request: httpx.Request) -> httpx.Response:
        """Send the request on, keep the exchange, and answer with the response read in full."""
        response, content = await send(request)
        headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in HOP_HEADERS]
        answer = httpx.Response(response.status_code, headers=headers, content=content)
        tape.exchanges.append(exchange_of(request, answer))
        return answer

    with respx.mock(assert_all_mocked=True, assert_all_called=False, using="httpx") as router:
        router.route().mock(side_effect=forward)
        yield tape


@contextmanager
def replaying(exchanges: list[dict[str, Any]]) -> Iterator[Tape]:
    """Answer every HTTP request from recorded exchanges, matched by request body; note the unmatched."""
    tape = Tape(exchanges=exchanges)
    answers = {request_digest(_content(item["request"]["body"])): item["response"] for item in exchanges}

    def answer(request: httpx.Request) -> httpx.Response:
        """Serve the recorded response for this request body, or a 400 noting the miss."""
        recorded = answers.get(request_digest(request.content))
        if recorded is None:
            tape.missing.append(f"{request.method} {request.url}")
            return httpx.Response(MISSING_STATUS, json={"error": {"message": "no recorded exchange", "type": "replay"}})
        return httpx.Response(recorded["status"], headers=recorded["headers"], content=_content(recorded["body"]))

    with respx.mock(assert_all_mocked=True, assert_all_called=False, using="httpx") as router:
        router.route().mock(side_effect=answer)
        yield tape
