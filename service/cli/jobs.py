"""``claims jobs``: submit articles to a running service as a job, follow it, read its results, cancel it.

These commands speak the public HTTP API (``/v1/jobs``) of the service at ``--url`` (or ``$CLAIMS_URL``),
sending the key of ``--api-key`` (or ``$CLAIMS_API_KEY``) as ``Authorization: Bearer``; they load no model
and no pipeline. An error the service answers is printed as its problem's title and detail (for a 401 or
403, with what to do about the key): exit 2 for a 4xx, 1 for a 5xx or a service that cannot be reached.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import httpx

jobs_app = typer.Typer(help="Submit articles to a running service as a job; follow, read and cancel it.")
UrlOption = Annotated[
    str, typer.Option("--url", envvar="CLAIMS_URL", help="The service (default: http://127.0.0.1:8000).")
]


def _key_to_send(value: str | None) -> str | None:
    """Return the key as it is sent (an empty one is none); refuse one no HTTP header can carry."""
    key = (value or "").strip()
    if key and not (key.isascii() and key.isprintable()):
        typer.echo(
            "error: --api-key (or CLAIMS_API_KEY) holds a character no HTTP header carries: an API key is "
            "printable ASCII, as claims keys new prints it",
            err=True,
        )
        raise typer.Exit(code=2)
    return key or None


ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="CLAIMS_API_KEY",
        callback=_key_to_send,
        help="The API key to send, for a service with api_keys (prefer the variable: it stays out of shell history).",
        show_default=False,
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL = ("succeeded", "partial", "failed", "cancelled")
POLL_S = 0.5
RECONNECTS = 5  # times the events are followed again after the connection dropped, before giving up
KEY_ADVICE = {
    401: "pass the service's API key with --api-key KEY or CLAIMS_API_KEY",
    403: "use a key holding that scope (the operator makes one: claims keys new NAME --scopes ...)",
}


@dataclass(frozen=True)
class Service:
    """The running service these commands talk to: its URL and the API key sent to it, if any."""

    url: str
    api_key: str | None = None

    def client(self) -> httpx.Client:
        """Return an HTTP client for the service, sending the key as ``Authorization: Bearer``."""
        import httpx

        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(30, read=None))


def _answer(response: httpx.Response) -> Any:
    """Return a reply's JSON, or exit printing the problem the service answered (one line)."""
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
        message = f"{problem.get('title', response.reason_phrase)}: {problem.get('detail', '')}"
    except ValueError:
        message = f"HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code in KEY_ADVICE:
        message = f"{message.rstrip('. ')}; {KEY_ADVICE[response.status_code]}"
    typer.echo("error: " + " ".join(message.split()), err=True)
    raise typer.Exit(code=2 if response.status_code < 500 else 1)


def _call(service: Service, method: str, path: str, **arguments: Any) -> Any:
    """Send one request to the service; exit 1 when it cannot be reached."""
    import httpx

    try:
        with service.client() as client:
            return _answer(client.request(method, path, **arguments))
    except httpx.TransportError as exc:
        typer.echo(f"error: cannot reach the service at {service.url}: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def _ndjson_of(sources: list[str], language: str | None) -> str:
    """Turn the sources (text files, folders, NDJSON files) into NDJSON requests; exit 2 on one that is unusable."""
    from schemas import ExtractionOptions
    from service.cli.batch import read_items

    lines = []
    for item in read_items(sources, ExtractionOptions(), language):
        if item.request is None:
            typer.echo(f"error: {item.source}: {item.problem}", err=True)
            raise typer.Exit(code=2)
        lines.append(item.request.model_dump_json(exclude_defaults=True))
    return "".join(line + "\n" for line in lines)


@jobs_app.command("submit")
def submit(
    sources: Annotated[list[str], typer.Argument(help="Text files, folders of them, or NDJSON files of requests.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    callback_url: Annotated[str | None, typer.Option(help="POST the result there when done (signed).")] = None,
    per_article: Annotated[bool, typer.Option("--per-article", help="Also POST each article's result.")] = False,
    idempotency_key: Annotated[str | None, typer.Option(help="Submit at most once under this key.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job until it finishes.")] = False,
    batch: Annotated[
        bool, typer.Option("--batch", help="Batch mode: the provider's Batch API, about half price, within 24 h.")
    ] = False,
    realtime_repairs: Annotated[
        bool,
        typer.Option(
            "--realtime-repairs",
            help="With --batch: re-ask replies not in the schema by chat calls, not in follow-up batches.",
        ),
    ] = False,
    language: Annotated[
        str | None,
        typer.Option(help="BCP 47 language tag of the text files' articles (default: detected from each text)."),
    ] = None,
) -> None:
    """Submit the articles as one job; print the job (as it ends, with --wait)."""
    params: dict[str, Any] = {"callback_per_article": per_article, "mode": "batch" if batch else "realtime"}
    if realtime_repairs:
        params["batch_repairs"] = "realtime"
    if callback_url:
        params["callback_url"] = callback_url
    headers = {"content-type": "application/x-ndjson"}
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    service = Service(url, api_key)
    job = _call(service, "POST", "/v1/jobs", content=_ndjson_of(sources, language), params=params, headers=headers)
    if wait:
        job = _follow(service, job)
    typer.echo(json.dumps(job, indent=2))


def _follow(service: Service, job: dict[str, Any]) -> dict[str, Any]:
    """Show the job's progress on stderr until it finishes; return it finished.

    The job's events (``GET /v1/jobs/{id}/events``) are followed, resumed after the last one had when the
    connection drops; a service too old to have them is polled instead.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as progress:
        task = progress.add_task(job["id"], total=job["counts"]["total"])

        def show(counts: dict[str, int]) -> None:
            progress.update(task, completed=counts["succeeded"] + counts["failed"] + counts["cancelled"])

        if job["state"] in TERMINAL:
            return job
        return _follow_events(service, job["id"], show) or _poll(service, job, show)


def _poll(service: Service, job: dict[str, Any], show: Callable[[dict[str, int]], None]) -> dict[str, Any]:
    """Ask for the job every ``POLL_S`` until it finishes; return it finished."""
    while job["state"] not in TERMINAL:
        time.sleep(POLL_S)
        job = _call(service, "GET", f"/v1/jobs/{job['id']}")
        show(job["counts"])
    return job


def _follow_events(service: Service, job_id: str, show: Callable[[dict[str, int]], None]) -> dict[str, Any] | None:
    """Follow the job's events to its end and return the job; None when the service has no events to follow."""
    import httpx
    from httpx_sse import connect_sse

    last_id: str | None = None
    for attempt in range(1, RECONNECTS + 1):
        headers = {"last-event-id": last_id} if last_id else {}
        try:
            with (
                service.client() as client,
                connect_sse(client, "GET", f"/v1/jobs/{job_id}/events", headers=headers) as source,
            ):
                if not (source.response.is_success and _is_event_stream(source.response)):
                    return None  # an older service has no events; polling tells any other problem as it is
                for event in source.iter_sse():
                    if event.event == "article":
                        show(event.json()["counts"])
                        last_id = event.id or last_id
                    elif event.event == "end":
                        ended: dict[str, Any] = event.json()
                        show(ended["counts"])
                        return ended
        except httpx.TransportError as exc:
            if attempt == RECONNECTS:
                typer.echo(f"error: lost the service at {service.url}: {exc}", err=True)
                raise typer.Exit(code=1) from exc
        time.sleep(POLL_S)  # closed before the end (a restart, a proxy): resume after the last event had
    return None


def _is_event_stream(response: httpx.Response) -> bool:
    """Say whether a reply is server-sent events."""
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip() == "text/event-stream"


@jobs_app.command("status")
def status(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Print a job: its state, counts, usage, errors and webhooks."""
    typer.echo(json.dumps(_call(Service(url, api_key), "GET", f"/v1/jobs/{job_id}"), indent=2))


@jobs_app.command("list")
def list_jobs(url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """Print the most recent jobs, one line each: id, state, articles done of total."""
    for job in _call(Service(url, api_key), "GET", "/v1/jobs")["jobs"]:
        counts = job["counts"]
        done = counts["succeeded"] + counts["failed"] + counts["cancelled"]
        typer.echo(f"{job['id']}  {job['state']:<9}  {done}/{counts['total']}  {job['created_at']}")


@jobs_app.command("results")
def results(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    order: Annotated[str, typer.Option(help="submission or completion.")] = "submission",
    out: Annotated[Path | None, typer.Option("--out", help="Write the NDJSON here (default: stdout).")] = None,
) -> None:
    """Stream the job's results as NDJSON, each as its article finishes, until the last."""
    import httpx

    stream = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with (
            Service(url, api_key).client() as client,
            client.stream(
                "GET", f"/v1/jobs/{job_id}/results", params={"order": order}, headers={"accept": "application/x-ndjson"}
            ) as response,
        ):
            if not response.is_success:
                response.read()
                _answer(response)
            for line in response.iter_lines():
                if line:
                    stream.write(line + "\n")
                    stream.flush()
    except httpx.TransportError as exc:
        typer.echo(f"error: cannot reach the service at {url}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    finally:
        if out:
            stream.close()


@jobs_app.command("cancel")
def cancel(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Cancel a job's articles not yet finished; print the job."""
    typer.echo(json.dumps(_call(Service(url, api_key), "DELETE", f"/v1/jobs/{job_id}"), indent=2))
