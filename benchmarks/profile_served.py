"""A sampling CPU profile of the served process (uvicorn, every thread, logging as configured), with py-spy.

``benchmarks.profile_paths`` profiles the app in-process with cProfile: one thread, no uvicorn, no sockets.
What it cannot see, this does: ``python -m benchmarks.profile_served`` starts the fake provider and
``claims serve`` exactly as the benchmark does (its ``claims.yaml``, INFO logging), warms it up, then
samples the service's process with ``py-spy record --threads`` while it sends distinct one-chunk articles
(~250 words, one model call each) one at a time, and prints where the CPU went: each thread's share, each
package's share of the frames on top (C code is charged to the Python frame calling it), and the heaviest
frames including what they call. py-spy is a separate binary (``pip install py-spy``, not a dependency of
the service); it reads the process from outside, so the service runs unmodified. Proportions hold on a
loaded machine; absolute times do not (the CPU per request printed is the process's own, from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from subprocess import DEVNULL, PIPE

from benchmarks.articles import article_of_words
from benchmarks.client import Connection
from benchmarks.processes import cpu_seconds, service_config, start_provider, start_service, wait_ready
from benchmarks.scenarios import EXTRACTIONS, request_body

LATENCY_MS = 50
SAMPLES_A_SECOND = 500
_LINE = re.compile(r":\d+\)$")
OURS = ("service", "schemas")


def frame_name(frame: str) -> str:
    """Return a py-spy frame (``function (module/path.py:line)``) without its line number."""
    return _LINE.sub(")", frame.strip())


def package_of(frame: str) -> str:
    """Name the package of a py-spy frame: the first part of its module path (``service``, ``litellm``...)."""
    path = re.sub(r"(:\d+)?\)$", "", frame.rpartition(" (")[2])
    return path.split("/")[0] if "/" in path else path.removesuffix(".py").removeprefix("<frozen ").rstrip(">")


def summarise(raw: str, top: int) -> str:
    """Return the report of py-spy's raw (collapsed) stacks: threads, packages on top, heaviest frames."""
    threads: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples, frames = int(count), [frame_name(frame) for frame in stack.split(";")]
        total += samples
        threads[frames[0]] += samples
        packages[package_of(frames[-1])] += samples
        own[frames[-1]] += samples
        for name in {frame for frame in frames[1:] if package_of(frame) in OURS}:
            ours[name] += samples
    total = total or 1

    def shares(counter: Counter[str], count: int) -> list[str]:
        return [f"  {n / total:6.1%}  {name}" for name, n in counter.most_common(count)]

    lines = [f"{total} samples", "", "threads:", *shares(threads, 8)]
    lines += ["", "package of the frame on top (C code is charged to its caller):", *shares(packages, 15)]
    lines += ["", "frames on top:", *shares(own, top)]
    lines += ["", "our frames, with what they call:", *shares(ours, top)]
    return "\n".join(lines)


async def drive(requests: int, out: Path, py_spy: str) -> tuple[float, str]:
    """Start the provider and the service, warm up, send ``requests`` articles while py-spy samples.

    Return the service's CPU ms a request, and what py-spy said on stderr.
    """
    with tempfile.TemporaryDirectory(prefix="claims-served-") as folder:
        workdir = Path(folder)
        provider = start_provider(LATENCY_MS, workdir, 600)
        service = start_service("service", service_config(provider.port, workdir / "cache", 10, 64), workdir)
        connection = Connection(service.port)
        spy: asyncio.subprocess.Process | None = None
        try:
            await wait_ready(service)
            for seed in range(5):
                await connection.post_json(EXTRACTIONS, request_body(article_of_words(9_100 + seed, 250)))
            command = [py_spy, "record", "--pid", str(service.pid), "--threads", "--format", "raw"]
            command += ["--rate", str(SAMPLES_A_SECOND), "--nonblocking", "--output", str(out)]
            spy = await asyncio.create_subprocess_exec(*command, stdout=DEVNULL, stderr=PIPE)
            await asyncio.sleep(1.0)  # py-spy attaches
            before = cpu_seconds(service.pid)
            for index in range(requests):
                reply = await connection.post_json(EXTRACTIONS, request_body(article_of_words(20_000 + index, 250)))
                if reply.status != 200:
                    raise RuntimeError(f"extraction failed: {reply.status} {reply.body[:300]!r}")
            cpu = cpu_seconds(service.pid) - before
            spy.send_signal(signal.SIGINT)
            _, errors = await asyncio.wait_for(spy.communicate(), timeout=30)
        finally:
            if spy is not None and spy.returncode is None:
                spy.kill()
            await connection.close()
            service.stop()
            provider.stop()
    return cpu / requests * 1000, errors.decode(errors="replace")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, profile the served process and print the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_served", description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=300, help="articles sent while sampling (300)")
    parser.add_argument("--top", type=int, default=60, help="heaviest frames shown (60)")
    parser.add_argument("--out", type=Path, default=Path("served.pyspy.txt"), help="py-spy's raw stacks (kept)")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    args.out.unlink(missing_ok=True)  # never a report of an earlier run's stacks
    cpu_ms, said = asyncio.run(drive(args.requests, args.out, py_spy))
    if not args.out.is_file():
        print(f"py-spy wrote no profile: {said[-2000:]}", file=sys.stderr)
        return 1
    print(f"service CPU {cpu_ms:.2f} ms a request ({args.requests} requests, provider latency {LATENCY_MS} ms)")
    print(summarise(args.out.read_text(encoding="utf-8"), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
