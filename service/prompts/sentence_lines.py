"""The sentence-line format: how a chunk's sentences are written in a prompt, and how they are read back.

Each sentence of a chunk is one line, ``[S<n>] text``, numbered within the chunk (the service maps the
numbers back to global sentence ids); a prompt version that shows speakers writes ``[S<n>] SPEAKER: text``.
The shipped templates write this format (a test renders each and reads it back with ``parse_sentence_lines``),
the offline model reads it, and so do the test providers and the benchmark's fake provider: all of them
import it from here.
"""

from __future__ import annotations

import re

SENTENCE_LINE = re.compile(r"^\[S(\d+)\] (.*)$", re.MULTILINE)


def sentence_line(number: int, text: str, speaker: str | None = None) -> str:
    """Write one sentence as a prompt line: ``[S<n>] text``, or ``[S<n>] SPEAKER: text``."""
    return f"[S{number}] {speaker}: {text}" if speaker else f"[S{number}] {text}"


def parse_sentence_lines(content: str) -> list[tuple[int, str]]:
    """Return the ``(n, text)`` of every ``[S<n>] text`` line of a prompt message, in order."""
    return [(int(match.group(1)), match.group(2)) for match in SENTENCE_LINE.finditer(content)]


def last_sentence_lines(texts: list[str]) -> list[tuple[int, str]]:
    """Return the sentence lines of the last text that has any (a repair re-ask follows the prompt without them)."""
    for text in reversed(texts):
        sentences = parse_sentence_lines(text)
        if sentences:
            return sentences
    return []
