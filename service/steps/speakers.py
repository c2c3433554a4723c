"""The speaker label of a transcript line, ``SPEAKER: words``: the one pattern every reader of it shares.

An upper-case label (``TRUMP:``, ``LESTER HOLT:``, ``Q:``) is what ``format: auto`` recognises in an
article, and what the offline model and the check-worthiness features take off a rendered line; a declared
transcript (``format: transcript``) also accepts mixed-case labels (``Trump:``). A label ends with a colon
followed by words on the same line, or stands alone on its line.
"""

from __future__ import annotations

import re

_LABEL_END = r":(?:[ \t]+(?=\S)|[ \t]*$)"  # words follow on the line, or the label stands alone on it
UPPER_LABEL = re.compile(r"(?P<label>[A-Z](?:[A-Z0-9 .'’-]{0,40}[A-Z0-9.])?)" + _LABEL_END)
ANY_LABEL = re.compile(r"(?P<label>[A-Z](?:[\w .'’-]{0,40}[\w.])?)" + _LABEL_END)


def split_speaker_label(line: str) -> tuple[str | None, str]:
    """Split ``SPEAKER: words`` (an upper-case label, then words) into speaker and words; else ``(None, line)``."""
    match = UPPER_LABEL.match(line)
    words = line[match.end() :] if match is not None else ""
    if match is None or not words.strip():
        return None, line
    return match.group("label").strip(), words


def strip_speaker_label(line: str) -> str:
    """Return the line without a leading upper-case speaker label such as ``TRUMP:``."""
    return split_speaker_label(line)[1]
