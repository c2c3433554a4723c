"""The speaker label of a transcript line, ``SPEAKER: words``: the one pattern every reader of it shares.

An upper-case label (``TRUMP:``, ``LESTER HOLT:``, ``Q:``, and in any cased script ``ÉMILE ZOLA:``,
``ПУТИН:``, ``ΤΣΙΠΡΑΣ:``) is what ``format: auto`` recognises in an article, and what the offline model and
the check-worthiness features take off a rendered line; so is a short label (three words at most) in a
script without case (``特朗普：``, ``ترامب:``, ``मोदी:``, ``ทักษิณ:``). A declared transcript (``format:
transcript``) also accepts mixed-case labels (``Trump:``). A label ends with a colon (or a full-width
``：``) followed by words on the same line, or stands alone on its line.
"""

from __future__ import annotations

import re
import unicodedata

BASIC_PLANE = 0x10000  # every living script's letters; reading all 1.1 million code points costs 0.5 s at import


def _character_class(*categories: str) -> str:
    """Return a regular-expression class body of the Basic Multilingual Plane's characters in the categories given."""
    ranges: list[tuple[int, int]] = []
    for code in range(BASIC_PLANE):
        if unicodedata.category(chr(code)) in categories:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


_UPPER = _character_class("Lu", "Lt")  # capitals of every cased script
_CASELESS = _character_class("Lo")  # letters of scripts without case: CJK, Arabic, Hebrew, Indic, Thai …
MARKS = _character_class("Mn", "Mc")  # vowel signs and viramas that Indic and Thai words hold
_LABEL_END = r"(?::(?:[ \t]+(?=\S)|[ \t]*$)|：[ \t]*)"  # words follow on the line, or the label stands alone
_CASELESS_LABEL = (
    rf"[{_CASELESS}][{_CASELESS}{MARKS}.'’-]{{0,20}}(?: [{_CASELESS}][{_CASELESS}{MARKS}.'’-]{{0,20}}){{0,2}}"
)
UPPER_LABEL = re.compile(
    rf"(?P<label>[{_UPPER}](?:[{_UPPER}{MARKS}0-9 .'’-]{{0,40}}[{_UPPER}0-9.])?|{_CASELESS_LABEL})" + _LABEL_END
)
ANY_LABEL = re.compile(rf"(?P<label>[{_UPPER}](?:[\w{MARKS} .'’-]{{0,40}}[\w.])?|{_CASELESS_LABEL})" + _LABEL_END)


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
