"""How many sentences a second the offline model's rules score, on one core (no litellm, no pipeline).

The rules run in one Python thread, so this is a single-core figure. The sentences are a realistic mix of
news copy and debate transcript lines, fed as chunks of 20, the way the pipeline hands them over.
"""

from __future__ import annotations

import json
import time
import tracemalloc

from service.offline.checkworthiness import COEFFICIENTS_PATH, load_model
from service.offline.rules import extract_offline_reply

SENTENCES = (
    "The FBI’s 2024 Quarterly Crime Report indicates violent crime is down 15.2% when comparing statistics from"
    " January through March of 2023 to the same period in 2024.",
    "The conversation at times garnered an audience as large as 1,324,994 people.",
    "“We cannot have her, she’s incompetent — she’s as bad as Biden,” Trump said.",
    "After a 42-minute delay, Musk began the stream by saying, “This massive attack illustrates there’s a lot of"
    " opposition to people just hearing what President Trump has to say.”",
    "Trump largely monopolized the conversation, with Musk only occasionally chiming in during the first hour.",
    "The National Labor Relations Board ultimately dismissed claims that Tesla illegally fired employees at one"
    " of its factories, Reuters reported last year.",
    "This is a developing story.",
    "Please check back for updates.",
    "A potential role for Musk in a second Trump administration",
    "Unemployment fell to 3.9% in March, according to the Bureau of Labor Statistics.",
    "Thank you very much.",
    "We have a trade deficit with all of the countries that we do business with, of almost $800 billion a year.",
    "I think we have to get NATO to go into the Middle East with us.",
    "You called it the gold standard of trade deals.",
    "Is violent crime really down?",
    "Independent experts have looked at what I've proposed and said we would have 10 million more new jobs.",
    "Well, let me say this.",
    "Stop-and-frisk was ruled unconstitutional in New York, because it largely singled out black and Hispanic"
    " young men.",
    "The central bank expects inflation to ease next year.",
    "I worked at the plant for most of my life.",
)
CHUNK = 20


def measure_offline_sentences_per_second(seconds: float = 2.0) -> float:
    """Return how many sentences a second the offline rules turn into a model reply, on one core."""
    batch = [(number, SENTENCES[(number - 1) % len(SENTENCES)]) for number in range(1, CHUNK + 1)]
    extract_offline_reply(batch)  # warm up: compile the patterns, load the coefficients
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        extract_offline_reply(batch)
        done += len(batch)
    return done / elapsed


def measure_scoring_lines_per_second(seconds: float = 2.0) -> float:
    """Return how many lines a second the check-worthiness model alone scores in passages of 20, on one core."""
    model = load_model(COEFFICIENTS_PATH)
    lines = [(None, SENTENCES[number % len(SENTENCES)]) for number in range(CHUNK)]
    model.score_lines(lines)
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        model.score_lines(lines)
        done += len(lines)
    return done / elapsed


def model_figures() -> dict[str, int]:
    """Return the shipped coefficients' size on disk, their number, and the memory the loaded model holds."""
    tracemalloc.start()
    model = load_model(COEFFICIENTS_PATH)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"bytes_on_disk": COEFFICIENTS_PATH.stat().st_size, "weights": len(model.weights), "bytes_in_memory": held}


if __name__ == "__main__":
    print(f"offline rules: {measure_offline_sentences_per_second():,.0f} sentences/s on one core")
    print(f"check-worthiness scoring alone: {measure_scoring_lines_per_second():,.0f} lines/s on one core")
    print(f"model: {json.dumps(model_figures())}")
