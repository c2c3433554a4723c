"""The fake provider's Batch API, in OpenAI's shapes: files, batches, their output, cancel, listing.

``POST /v1/files`` takes a multipart upload (``purpose=batch``); ``POST /v1/batches`` makes a batch over an
uploaded JSONL input, ``in_progress`` for ``batch_seconds`` and then ``completed``, every line answered as
``/v1/chat/completions`` would answer it (one output line per input line, a ``custom_id`` each); ``GET
/v1/batches/{id}`` polls it, ``GET /v1/batches`` lists them, ``POST /v1/batches/{id}/cancel`` cancels it and
``GET /v1/files/{id}/content`` returns a file's bytes. Every batch made, and every request, is counted
(``/stats``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def multipart_file(body: bytes, content_type: str) -> tuple[str, bytes]:
    """Return the filename and bytes of the ``file`` part of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(b"content-type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return str(part.get_filename() or "input.jsonl"), bytes(part.get_payload(decode=True))
    raise ValueError("the upload has no file part")


class FakeBatches:
    """Uploaded files and batches, finishing ``batch_seconds`` after they are made."""

    def __init__(
        self, answer: Answer, batch_seconds: float, *, ending: str = "completed", answers: int | None = None
    ) -> None:
        self._answer = answer
        self.batch_seconds = batch_seconds
        self.ending = ending  # how a batch ends: completed, or expired (the 24 hours ran out), or failed
        self.answers = answers  # answer only this many lines (the rest are in the error file); None: all
        self.files: dict[str, bytes] = {}
        self.file_meta: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.created = 0  # batches made since the start
        self.lines = 0  # input lines answered in batches
        self.requests: Counter[str] = Counter()  # the Batch API and Files requests, by method and route

    def upload(self, body: bytes, content_type: str) -> dict[str, Any]:
        """Store an uploaded file; return OpenAI's file object."""
        filename, content = multipart_file(body, content_type)
        file_id = f"file-{secrets.token_hex(12)}"
        self.files[file_id] = content
        meta = {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
            "filename": filename, "purpose": "batch", "status": "processed", "expires_at": None,
            "status_details": None,
        }  # fmt: skip
        self.file_meta[file_id] = meta
        return meta

    def create(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Make a batch over an uploaded input file; return OpenAI's batch object."""
        request = json.loads(body)
        input_id = request["input_file_id"]
        if input_id not in self.files:
            return 404, {"error": {"message": f"No such File object: {input_id}", "type": "invalid_request_error",
                                   "param": "input_file_id", "code": None}}  # fmt: skip
        lines = [json.loads(line) for line in self.files[input_id].decode().splitlines() if line.strip()]
        now = int(time.time())
        batch_id = f"batch_{secrets.token_hex(12)}"
        self.created += 1
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": request["endpoint"], "errors": None,
            "input_file_id": input_id, "completion_window": request["completion_window"], "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
            "expires_at": now + 86400, "finalizing_at": None, "completed_at": None, "failed_at": None,
            "expired_at": None, "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": request.get("metadata"), "_lines": lines, "_done_at": time.time() + self.batch_seconds,
        }  # fmt: skip
        return 200, self.shown(batch_id)

    def shown(self, batch_id: str) -> dict[str, Any]:
        """Return a batch as OpenAI shows it, moved on to where the clock says it is."""
        batch = self.batches[batch_id]
        if batch["status"] in ("validating", "in_progress"):
            batch["status"] = "in_progress"
            batch["in_progress_at"] = batch["in_progress_at"] or int(time.time())
            if time.time() >= batch["_done_at"]:
                self._complete(batch)
        return {key: value for key, value in batch.items() if not key.startswith("_")}

    def _complete(self, batch: dict[str, Any]) -> None:
        """Answer the lines of a batch into an output file (those left unanswered into an error file)."""
        if self.ending == "failed":
            batch.update(status="failed", failed_at=int(time.time()))
            error = {"code": "invalid_json_line", "line": 1, "param": None, "message": "This line is not valid JSON."}
            batch["errors"] = {"object": "list", "data": [error]}
            return
        answered = batch["_lines"][: self.answers]
        unanswered = batch["_lines"][len(answered) :]
        output = []
        for number, line in enumerate(answered):
            body = self._answer(line["body"])
            output.append({
                "id": f"batch_req_{number:06d}", "custom_id": line["custom_id"],
                "response": {"status_code": 200, "request_id": f"req_{number:06d}", "body": body}, "error": None,
            })  # fmt: skip
        self.lines += len(output)
        errors = [
            {"id": f"batch_req_e{number:06d}", "custom_id": line["custom_id"], "response": None,
             "error": {"code": "batch_expired", "message": "This request could not be executed before the "
                                                           "completion window expired."}}
            for number, line in enumerate(unanswered)
        ]  # fmt: skip
        now = int(time.time())
        batch.update(status=self.ending, output_file_id=self._file(output), finalizing_at=now)
        batch.update({f"{self.ending}_at": now, "error_file_id": self._file(errors) if errors else None})
        batch["request_counts"] = {"total": len(batch["_lines"]), "completed": len(output), "failed": len(errors)}

    def _file(self, lines: list[dict[str, Any]]) -> str:
        """Store JSON lines as a file; return its id."""
        file_id = f"file-{secrets.token_hex(12)}"
        self.files[file_id] = "".join(json.dumps(line) + "\n" for line in lines).encode()
        return file_id

    def cancel(self, batch_id: str) -> dict[str, Any]:
        """Cancel a batch still running."""
        batch = self.batches[batch_id]
        if batch["status"] in ("validating", "in_progress"):
            batch.update(status="cancelled", cancelling_at=int(time.time()), cancelled_at=int(time.time()))
        return self.shown(batch_id)

    def route(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, Any] | None:
        """Answer a Batch API or Files request; None when ``path`` is neither."""
        path = path.split("?", 1)[0].rstrip("/")
        parts = path.split("/")
        named = "/".join("{id}" if part.startswith(("file-", "batch_")) else part for part in parts)
        if "/files" in path or "/batches" in path:
            self.requests[f"{method} {named}"] += 1
        if method == "POST" and path.endswith("/files"):
            return 200, self.upload(body, content_type)
        if method == "GET" and path.endswith("/content") and parts[-2] in self.files:
            return 200, self.files[parts[-2]]
        if method == "POST" and path.endswith("/batches"):
            return self.create(body)
        if method == "GET" and path.endswith("/batches"):
            data = [self.shown(batch_id) for batch_id in reversed(self.batches)]
            return 200, {"object": "list", "data": data, "first_id": None, "last_id": None, "has_more": False}
        if "batches" in parts and parts[-1] in self.batches and method == "GET":
            return 200, self.shown(parts[-1])
        if method == "POST" and path.endswith("/cancel") and parts[-2] in self.batches:
            return 200, self.cancel(parts[-2])
        return None
