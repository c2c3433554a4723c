"""Where CPU work runs: one worker thread beside the event loop, for every piece too large to run inline.

Segmenting, chunking, the offline model's rules, grounding, checking faithfulness and de-duplicating are
pure CPU. On a large article (or a reply with many claims) each can take tens to hundreds of milliseconds,
which on the event loop would stall every other request, ``/healthz`` included. A piece whose input is
larger than ``OFF_LOOP_CHARS`` runs on the one CPU thread; a small one runs inline, since a thread hop
(~0.1 ms) would cost more than the work.

One thread, not a pool: threads share the GIL, so more of them make nothing faster, and when several
compete for it the interpreter may hand it from worker to worker while the event loop waits (200 ms
stalls, measured with the default pool). With one worker the loop is the only other taker of the GIL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

OFF_LOOP_CHARS = 20_000  # about 5 ms of the slowest step; below it, inline costs less than a thread hop
CHARS_A_CLAIM = 300  # what a claim weighs in the steps after the model (grounding, dedupe), counted as text

R = TypeVar("R")
_CPU = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-cpu")


async def on_the_cpu_thread(work: Callable[[], R]) -> R:
    """Run ``work`` on the one CPU thread and wait for it without holding the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_CPU, work)


async def off_the_loop(work: Callable[[], R], *, size: int) -> R:
    """Run ``work`` on the CPU thread when ``size`` (characters of input) is large, else inline."""
    return await on_the_cpu_thread(work) if size > OFF_LOOP_CHARS else work()
