"""What a sentence's passage tells about it: its neighbours, its speaker, and whether that speaker moderates.

A debate's moderators and questioners say almost nothing worth checking, and a line that answers a question
or opens a turn reads differently from one in the middle of a speech. These cues are computed the same way
from a transcript (lines with speakers, as ``service.steps.transcript`` reads them) and from an article
(no speakers: only the neighbours' cues fire), and added to ``service.offline.features``' own features:

- ``c:after_question`` / ``c:before_question``: the previous / next line is a question;
- ``c:vocative``: the line opens by addressing someone ("Governor, …", "Senator Sanders, …", "Mr. Trump, …");
- ``s:moderator``: the speaker's label says they moderate (``MODERATOR``, ``QUESTION``, ``Q``…) or the
  speaker asks questions in short turns (at least two, 0.35 or more a turn, turns of 3 lines or fewer);
- ``s:turn_start`` / ``s:turn_end``: the first / last line of a speaker's turn.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from service.offline.features import sentence_features

MODERATOR_LABELS = frozenset(
    (
        "MODERATOR",
        "MODERATORS",
        "QUESTION",
        "QUESTIONER",
        "Q",
        "AUDIENCE",
        "AUDIENCE MEMBER",
        "AUDIENCE QUESTION",
        "PANELIST",
        "ANNOUNCER",
        "INTERVIEWER",
        "HOST",
        "UNIDENTIFIED MALE",
        "UNIDENTIFIED FEMALE",
    )
)
TITLES = (
    r"Mr|Mrs|Ms|Dr|Governor|Gov|Senator|Sen|Secretary|President|Vice President|Madam Secretary|Madam Speaker"
    r"|Speaker|Congressman|Congresswoman|Mayor|Minister|Prime Minister|General|Director|Chairman|Judge"
)
VOCATIVE = re.compile(rf"^(?:(?:{TITLES})\.?(?:\s+[A-Z][\w'’-]+){{0,2}}|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\s*,\s")
NOT_VOCATIVE = frozenset(("Yes", "No", "Well", "Now", "So", "And", "But", "Look", "Okay", "OK", "Again", "First"))
# in the training debates, moderators ask 0.4 to 0.7 questions a turn of 2 or 3 lines; candidates far fewer, in
# longer turns (a speech's rhetorical questions come in turns of many lines)
MIN_QUESTIONS = 2
QUESTIONS_PER_TURN = 0.35
LINES_PER_TURN = 3.0

Line = tuple[str | None, str]


def is_question(text: str) -> bool:
    """Tell whether a line ends with a question mark (closing quotes and brackets aside)."""
    return text.rstrip(" \"”’')]").endswith("?")


def is_vocative(text: str) -> bool:
    """Tell whether a line opens by addressing someone by name or title ("Governor, your response.")."""
    match = VOCATIVE.match(text.strip())
    return match is not None and match.group(0).rstrip(" ,") not in NOT_VOCATIVE


def moderators(lines: Sequence[Line]) -> frozenset[str]:
    """Return the speakers who moderate: by their label, or because they ask questions in short turns."""
    said: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    turns: Counter[str] = Counter()
    previous: str | None = None
    for speaker, text in lines:
        if speaker is not None:
            said[speaker] += 1
            asked[speaker] += is_question(text)
            turns[speaker] += speaker != previous
        previous = speaker
    return frozenset(
        speaker
        for speaker in said
        if speaker.strip().upper().rstrip(":") in MODERATOR_LABELS
        or (
            asked[speaker] >= MIN_QUESTIONS
            and asked[speaker] >= QUESTIONS_PER_TURN * turns[speaker]
            and said[speaker] <= LINES_PER_TURN * turns[speaker]
        )
    )


def context_features(lines: Sequence[Line], index: int, moderating: frozenset[str]) -> dict[str, float]:
    """Return the cues line ``index`` takes from its neighbours and its speaker."""
    speaker, text = lines[index]
    features: dict[str, float] = {}
    if index > 0 and is_question(lines[index - 1][1]):
        features["c:after_question"] = 1.0
    if index + 1 < len(lines) and is_question(lines[index + 1][1]):
        features["c:before_question"] = 1.0
    if is_vocative(text):
        features["c:vocative"] = 1.0
    if speaker is not None:
        if speaker in moderating:
            features["s:moderator"] = 1.0
        if index == 0 or lines[index - 1][0] != speaker:
            features["s:turn_start"] = 1.0
        if index + 1 == len(lines) or lines[index + 1][0] != speaker:
            features["s:turn_end"] = 1.0
    return features


def passage_features(lines: Sequence[Line]) -> list[dict[str, float]]:
    """Return every line's features: its own (``sentence_features``) and those its passage gives it."""
    moderating = moderators(lines)
    return [
        {**sentence_features(text), **context_features(lines, index, moderating)}
        for index, (_, text) in enumerate(lines)
    ]
