"""Benchmarks: the real service over loopback HTTP against a fake OpenAI-compatible provider, as ratios.

``python -m benchmarks`` starts the fake provider, the service (``claims serve``) and a bare FastAPI app
as subprocesses bound to 127.0.0.1, measures every figure of DESIGN §9 / issue 6 in one run, prints a
markdown table and writes ``benchmarks/results/latest.{json,md}``. ``--quick`` runs a reduced version
of each figure (small counts, short latency) to prove the harness works.
"""
