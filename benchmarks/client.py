"""A small HTTP/1.1 keep-alive client on asyncio streams, so the load generator costs little CPU.

httpx spends more CPU per request than the service under test does on a cached path; on a 2-core machine
that would measure the client, not the service. This client speaks just what the benchmarks need:
one request at a time per connection, ``Content-Length`` or chunked replies, JSON bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP reply with how long it took, end to end, in seconds."""

    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body)


class Connection:
    """One keep-alive connection to ``127.0.0.1:port``."""

    def __init__(self, port: int, timeout: float = 120.0) -> None:
        self._port = port
        self._timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect if not connected; return the streams."""
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, body: bytes = b"") -> Reply:
        """Send one request and read the whole reply."""
        started = time.perf_counter()
        try:
            status, payload = await asyncio.wait_for(self._exchange(method, path, body), self._timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            raise
        return Reply(status, payload, time.perf_counter() - started)

    async def post_json(self, path: str, document: Any) -> Reply:
        """POST a JSON document."""
        return await self.request("POST", path, json.dumps(document).encode("utf-8"))

    async def _exchange(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """Write the request, read status, headers and body."""
        reader, writer = await self._open()
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{self._port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode("ascii") + body)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers = await _read_headers(reader)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            payload = await _read_chunked(reader)
        else:
            payload = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, payload

    async def close(self) -> None:
        """Close the connection, if open."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):  # the peer went first; nothing left to release
                await writer.wait_closed()


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    """Read header lines up to the blank line; names lower-cased."""
    headers: dict[str, str] = {}
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body."""
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def get_json(port: int, path: str, limit_s: float = 10.0) -> Any:
    """GET ``path`` on a fresh connection and decode the JSON reply."""
    connection = Connection(port, limit_s)
    try:
        reply = await connection.request("GET", path)
    finally:
        await connection.close()
    return reply.json()


async def run_concurrently(
    port: int, bodies: list[bytes], concurrency: int, path: str = "/v1/extractions", limit_s: float = 120.0
) -> list[Reply | BaseException]:
    """POST every body over ``concurrency`` keep-alive connections; return replies (or errors) in order."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(bodies)):
        queue.put_nowait(index)
    results: list[Reply | BaseException] = [RuntimeError("not sent")] * len(bodies)

    async def worker() -> None:
        connection = Connection(port, limit_s)
        try:
            while not queue.empty():
                index = queue.get_nowait()
                try:
                    results[index] = await connection.request("POST", path, bodies[index])
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                    results[index] = exc
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(bodies)))))
    return results
