"""A CPU profile (cProfile) of one hot path, in-process, so a regression is found in minutes.

``python -m benchmarks.profile_paths cached-8`` starts the fake provider, builds the real app (every
middleware, the routes, the pipeline, litellm) and drives it through httpx's ASGI transport: no uvicorn,
no sockets on the service's side, so the profile shows the service's own code. Paths:

* ``cached-8``: the sample article eight times (eight chunks), cached, re-POSTed;
* ``cached-1``: the sample article, cached, re-POSTed;
* ``uncached-1``: distinct one-chunk articles (~250 words), each a cache miss: one model call each.

It prints the top entries by own time and by cumulative time, and the share of own time by package
(ours, litellm, the OpenAI SDK, httpx, pydantic, the standard library...). Proportions stay valid on a
loaded machine; absolute times do not. CPU steps that the service runs on its CPU thread for large
inputs run inline here, since cProfile sees only the thread it was enabled in (litellm's own logging
threads stay unseen). ``--out FILE`` keeps the raw profile for ``snakeviz`` or pstats.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from benchmarks.articles import article_of_words
from benchmarks.processes import service_config, start_provider

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLE = ROOT / "tests" / "data" / "article-trump-musk-x-stream.txt"
SAMPLE_TITLE = "Trump and Musk hold live-streamed conversation on X"
PATHS = ("cached-8", "cached-1", "uncached-1")
PACKAGES = (
    ("service", "/service/"),
    ("schemas", "/schemas/"),
    ("litellm", "/litellm/"),
    ("openai SDK", "/openai/"),
    ("httpx/httpcore", "/httpx/"),
    ("httpx/httpcore", "/httpcore/"),
    ("pydantic", "/pydantic"),
    ("fastapi/starlette", "/fastapi/"),
    ("fastapi/starlette", "/starlette/"),
    ("opentelemetry", "/opentelemetry/"),
    ("prometheus", "/prometheus_client/"),
    ("diskcache/sqlite", "/diskcache/"),
)


def sample_body(copies: int) -> dict[str, Any]:
    """Return the request for the sample article repeated ``copies`` times (one chunk a copy)."""
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8").strip()
    return {"article": {"title": SAMPLE_TITLE, "text": "\n".join([text] * copies)}}


def fresh_body(index: int) -> dict[str, Any]:
    """Return a distinct one-chunk article (~250 words), as the benchmark's overhead figure sends."""
    article = article_of_words(10_000 + index, 250)
    return {"article": {"title": article.title, "text": article.text}}


def package_of(filename: str) -> str:
    """Name the package a profiled function's file belongs to."""
    for name, marker in PACKAGES:
        if marker in filename:
            return name
    if filename == "~":
        return "built-in (C) functions, called from any of these"
    if "/lib/python3" in filename and "site-packages" not in filename:
        return "standard library"
    return "other"


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Return each package's share of the profile's own (not cumulative) time, largest first."""
    shares: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        shares[package_of(filename)] += own
    total = sum(shares.values()) or 1.0
    return [(name, own / total) for name, own in shares.most_common()]


class _Profiled:
    """An ASGI wrapper that profiles the app's handling of each HTTP request, and nothing of the client's."""

    def __init__(self, app: Any, profile: cProfile.Profile) -> None:
        self.app = app
        self.profile = profile
        self.enabled = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Handle a request, profiled when ``enabled``."""
        if not (self.enabled and scope["type"] == "http"):
            await self.app(scope, receive, send)
            return
        self.profile.enable()
        try:
            await self.app(scope, receive, send)
        finally:
            self.profile.disable()


async def _drive(app: Any, bodies: list[bytes], warm: int, *, cpu: bool = False) -> cProfile.Profile:
    """Send the first ``warm`` bodies unprofiled, then the others profiled; return the profile.

    ``cpu``: time with the process's CPU clock, so that waiting (the socket to the provider) counts for nothing.
    """
    import httpx

    profiled = _Profiled(app, cProfile.Profile(time.process_time) if cpu else cProfile.Profile())
    headers = {"content-type": "application/json"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=profiled)
        async with httpx.AsyncClient(transport=transport, base_url="http://service", headers=headers) as client:
            for index, body in enumerate(bodies):
                profiled.enabled = index >= warm
                if index == warm:
                    started = time.perf_counter()
                (await client.post("/v1/extractions", content=body)).raise_for_status()
            elapsed = time.perf_counter() - started
    print(f"{len(bodies) - warm} requests, {elapsed / (len(bodies) - warm) * 1000:.2f} ms each under the profiler")
    return profiled.profile


def _bodies(path: str, requests: int) -> tuple[list[bytes], int]:
    """Return the request bodies for ``path`` (built before any is sent), and how many warm it up unprofiled."""
    if path.startswith("cached-"):
        body = json.dumps(sample_body(int(path.removeprefix("cached-")))).encode()
        return [body] * (2 + requests), 2
    return [json.dumps(fresh_body(index)).encode() for index in range(3 + requests)], 3


def profile_path(path: str, requests: int, top: int, out: Path | None, *, cpu: bool = False) -> str:
    """Profile ``requests`` requests of ``path``; return the report."""
    from service.api.app import create_app
    from service.settings import get_settings
    from service.steps import cpu

    cpu.OFF_LOOP_CHARS = sys.maxsize  # cProfile sees one thread: run the CPU steps inline, where it looks

    with tempfile.TemporaryDirectory(prefix="claims-profile-") as folder:
        workdir = Path(folder)
        provider = start_provider(0, workdir, 600)
        try:
            config_path = workdir / "claims.yaml"
            config = service_config(provider.port, workdir / "cache", 10, 64) | {"log_level": "WARNING"}
            config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
            app = create_app(get_settings(config_path))
            bodies, warm = _bodies(path, requests)
            profile = asyncio.run(_drive(app, bodies, warm, cpu=cpu))
        finally:
            provider.stop()
    if out is not None:
        profile.dump_stats(str(out))
    report = io.StringIO()
    stats = pstats.Stats(profile, stream=report)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    shares = "\n".join(f"  {share:6.1%}  {name}" for name, share in by_package(stats))
    return f"{report.getvalue()}\nown time by package:\n{shares}\n"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, profile the path and print the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_paths", description=__doc__.split("\n")[0])
    parser.add_argument("path", choices=PATHS)
    parser.add_argument("-n", "--requests", type=int, default=100, help="profiled requests (100)")
    parser.add_argument("--top", type=int, default=25, help="entries shown per ordering (25)")
    parser.add_argument("--out", type=Path, default=None, help="write the raw profile here (pstats format)")
    parser.add_argument("--cpu", action="store_true", help="CPU time, not wall time (waits count for nothing)")
    args = parser.parse_args(argv)
    print(profile_path(args.path, args.requests, args.top, args.out, cpu=args.cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
