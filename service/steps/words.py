"""A text's words and numbers as the faithfulness gate compares them: tokens, comparable forms and figures.

A text is split into words and figures (hyphens and slashes separate: "US-Mexico", "42-minute"); a word's
comparable form is case-folded, without its possessive ("Musk's"), its acronym dots ("U.S.") and Latin,
Greek and Cyrillic accents, a month's abbreviation written in full ("Jan."); figures are read by
``service.steps.numbers`` in every script and convention and scaled by the word after them ("4 billion"),
and numbers spelled out ("forty-two", "two million", "a dozen") are read too.

Several texts (a chunk's sentences, context, title and speakers) are read together as one text in which a
separator token ends each (``read_together``): tokenising, folding and finding the figures are then a few C
calls a chunk, not a few a text. A plain text (ASCII, curly quotes) is tokenised with a pattern equal to the
full one on it and three times faster. A single text's reading (``read``) and a word's form (``stem``) are
memoised, bounded (least recently used dropped first).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache

from service.steps.numbers import FIGURE, readings, scale_of, with_ascii_digits
from service.steps.speakers import MARKS

_SEPARATOR = "\x00"  # never inside a token
_WORD = re.compile(
    rf"(?:[A-Za-z]\.){{2,}}|[^\W\d_]+(?:[{MARKS}]+[^\W\d_]*)*(?:['’][^\W\d_]+)*|{FIGURE}", re.UNICODE
)  # a word keeps its vowel signs (Devanagari, Thai); figures are read by ``service.steps.numbers``
# The same tokens of a plain text (most texts), three times faster: every alternative opens with a class (an
# acronym "U.S.", a word, a figure as FIGURE reads it), so most characters fail at the first test. A plain text
# is ASCII but for curly quotes and a few marks that no token holds or that a word holds as ``_WORD`` does (’).
_PLAIN_WORD = (
    r"[A-Za-z](?:[A-Za-z]+(?:['’][A-Za-z]+)*|(?:\.[A-Za-z])+\.|(?:['’][A-Za-z]+)*)"
    r"|\d(?:\d{0,2}(?: \d{3})+(?!\d)|[\d,.]*\d|)"
)
_NOT_PLAIN = re.compile("[^\x00-\x7f“”‘’—–…«»•]")  # nor does it hold a digit of another script
# Texts read together are joined by the separator, which the patterns then match as a token of its own: it
# ends a text's last figure (no scale after it) and spelled-out run as the end of that text does.
_JOINED_WORD = re.compile(f"{_WORD.pattern}|{_SEPARATOR}", re.UNICODE)
_JOINED_PLAIN_WORD = re.compile(f"{_PLAIN_WORD}|{_SEPARATOR}")
_TOKENISERS = {False: (_WORD, re.compile(_PLAIN_WORD)), True: (_JOINED_WORD, _JOINED_PLAIN_WORD)}  # [joined][plain]
_DIGIT = re.compile(r"\d")
# a figure (a token opening with a digit, after a separator) and the token after it
_FIGURE_AND_NEXT = re.compile(f"{_SEPARATOR}(\\d[^{_SEPARATOR}]*)(?={_SEPARATOR}([^{_SEPARATOR}]*)|\\Z)")
_ACCENTS = re.compile("[\u0300-\u036f]")  # the combining accents NFD splits off Latin, Greek and Cyrillic letters
_POSSESSIVE = re.compile(r"['’]s?$")
_POSSESSIVE_AT_END = re.compile(r"['’]s?(?=\x00|\Z)")
UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"dozen": 12, "hundred": 100, "thousand": 1_000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
ARTICLES = frozenset({"a", "an"})  # "a million", "a dozen": one of the scale, only before a scale word
MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}  # fmt: skip
# Capitalised words that open a sentence (or a clause) without naming anything; any other is a name.

NUMBER_WORDS = frozenset(UNITS.keys() | TENS.keys() | SCALES.keys())  # a spelled-out run holds one of these
_RUN_OPENERS = frozenset(UNITS.keys() | TENS.keys())

STEMS_REMEMBERED = 4_096  # distinct names in claims, ~0.5 MB at most
TEXTS_REMEMBERED = 512  # distinct texts: a few chunks' sentences and context, ~1.8 MB at most

FIGURES_REMEMBERED = 2_048  # distinct figures, and distinct words after one, ~0.3 MB at most

REMEMBERED_CHARS = 1_000  # longer texts are read each time, so the memories stay small whatever comes in
REMEMBERED_WORD_CHARS = 40


@dataclass(frozen=True, slots=True)
class Reading:
    """One text read: its tokens, the comparable forms of its words, and the numbers it states."""

    tokens: tuple[str, ...]
    words: frozenset[str]
    numbers: frozenset[float]  # every reading of every number stated
    figures: tuple[frozenset[float], ...] = ()  # each number stated, with its readings ("12.000": 12 or 12000)


def read(text: str) -> Reading:
    """Return one text's reading (memoised: a sentence, or a claim copying it, is tokenised once)."""
    return _remembered_reading(text) if len(text) <= REMEMBERED_CHARS else _reading(text)


def _reading(text: str, *, joined_texts: bool = False) -> Reading:
    """Read the tokens, the comparable words and the numbers of one text (digits of every script as ASCII).

    ``joined_texts``: the text is several joined by the separator, each read as if alone.
    """
    plain = text.isascii() or _NOT_PLAIN.search(text) is None
    tokens = _tokens(text if plain else with_ascii_digits(text), joined=joined_texts, plain=plain)
    joined = _SEPARATOR.join(tokens)
    words = _stems(tokens, joined)
    figures = _numbers(joined, words)
    return Reading(tuple(tokens), words, frozenset().union(*figures), tuple(figures))


def _stems(tokens: list[str], joined: str | None = None) -> frozenset[str]:
    """Return the comparable forms of the word tokens (not the figures): ``_stemmed`` of each, done all at once.

    The tokens are joined (``joined``, when the caller has joined them already) and folded as one string (case,
    possessives at each token's end, dots), which is what folding each does, in a few C calls instead of a few
    Python calls a token.
    """
    joined = _SEPARATOR.join(tokens) if joined is None else joined
    joined = _without_accents(_POSSESSIVE_AT_END.sub("", joined.casefold()).replace(".", ""))
    stems = {stem for stem in set(joined.split(_SEPARATOR)) if stem and not stem[0].isdigit()}  # each once
    for short in stems & MONTHS.keys():
        stems.discard(short)
        stems.add(MONTHS[short])
    return frozenset(stems)


def _tokens(text: str, *, joined: bool = False, plain: bool | None = None) -> list[str]:
    """Split text into words and figures; hyphens and slashes separate ("US-Mexico", "42-minute").

    ``joined``: the text is several joined by the separator, which is kept as a token between them; ``plain``:
    whether the text is plain, when the caller knows.
    """
    if plain is None:
        plain = text.isascii() or _NOT_PLAIN.search(text) is None
    text = text.replace("-", " ").replace("–", " ").replace("/", " ")
    return _TOKENISERS[joined][plain].findall(text)


def stem(word: str) -> str:
    """Return the comparable form of a word: case folded, possessive and acronym dots off, months in full."""
    return _remembered_stem(word) if len(word) <= REMEMBERED_WORD_CHARS else _stemmed(word)


def _stemmed(word: str) -> str:
    """Fold a word to its comparable form."""
    folded = _without_accents(_POSSESSIVE.sub("", word.casefold()).replace(".", ""))
    return MONTHS.get(folded, folded)


def _without_accents(text: str) -> str:
    """Drop the accents of Latin, Greek and Cyrillic letters ("díaz" and "diaz" compare equal); other marks stay."""
    if text.isascii():
        return text
    return _ACCENTS.sub("", unicodedata.normalize("NFD", text))


def _numbers(joined: str, stems: Set[str]) -> list[frozenset[float]]:
    """Return every number the tokens state, each with its readings: figures (scaled too) and spelled-out runs.

    ``joined`` are the tokens joined by the separator. A figure is read by ``service.steps.numbers`` ("12.000"
    is 12 or 12000) and scaled by the word after it ("4 billion", "1,5 Mio.", "4.9万"). ``stems`` are the
    tokens' comparable forms: a spelled-out run is read only when one is a number word (a number word's stem
    is itself).
    """
    found: list[frozenset[float]] = []
    for figure, following in _FIGURE_AND_NEXT.findall(_SEPARATOR + joined) if _DIGIT.search(joined) else ():
        values = _figure_readings(figure)
        if not values:
            continue
        found.append(values)
        if (scale := _scale_of(following)) is not None:
            found.append(frozenset(value * scale for value in values))
    if _RUN_OPENERS.isdisjoint(stems) and (ARTICLES.isdisjoint(stems) or SCALES.keys().isdisjoint(stems)):
        return found  # a run opens with a unit, a ten, or "a" before a scale word: none, so no spelled-out run
    spelled = _spelled_numbers(joined.casefold(), NUMBER_WORDS & stems)
    return found + [frozenset({value}) for value in spelled]


def _spelled_numbers(joined: str, present: Iterable[str]) -> set[float]:
    """Return the values of spelled-out runs: "forty two", "two hundred thousand", "a million", "a dozen".

    ``joined`` are the tokens case-folded and joined by the separator, ``present`` the number words among
    their comparable forms. A lone "one" (or "a") is a word, not a figure: "one of the largest" states no
    number to check. Only the stretches of number words (and "a", "an" before a scale word) are read word by
    word, found with ``str.find``: any other word ends a run.
    """
    padded = f"{_SEPARATOR}{joined}{_SEPARATOR}"
    spans: list[tuple[int, int]] = []  # where each number word (a whole token) starts and ends
    for word in present:
        at = padded.find(f"{_SEPARATOR}{word}{_SEPARATOR}")
        while at != -1:
            spans.append((at + 1, at + 1 + len(word)))
            at = padded.find(f"{_SEPARATOR}{word}{_SEPARATOR}", at + 1 + len(word))
    for start, end in list(spans):  # "a million": an article before a scale word
        article = padded[padded.rfind(_SEPARATOR, 0, start - 1) + 1 : start - 1] if start > 1 else ""
        if padded[start:end] in SCALES and article in ARTICLES:
            spans.append((start - 1 - len(article), start - 1))
    spans.sort()
    found: set[float] = set()
    first = 0
    for position in range(1, len(spans) + 1):
        if position == len(spans) or spans[position][0] != spans[position - 1][1] + 1:
            found |= _run_values(padded[spans[first][0] : spans[position - 1][1]].split(_SEPARATOR))
            first = position
    return found


def _run_values(words: Sequence[str]) -> set[float]:
    """Return the values of the spelled-out runs of a stretch of words (ended by a word that is no number)."""
    found: set[float] = set()
    total = current = 0.0
    run: list[str] = []
    for index, word in enumerate([*words, ""]):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in UNITS or word in TENS or (word in ARTICLES and following in SCALES):
            current += UNITS.get(word, TENS.get(word, 1))
            run.append(word)
        elif word in SCALES and run:
            current = max(current, 1) * SCALES[word]
            total, current = (total + current, 0.0) if SCALES[word] > 100 else (total, current)
            run.append(word)
        else:
            if run and run not in (["one"], ["a"], ["an"]):
                found.add(total + current)
            total = current = 0.0
            run = []
    return found


def read_together(texts: list[str]) -> tuple[frozenset[str], frozenset[float]]:
    """Return the comparable words and the numbers of the texts, read as one (alone if one holds the separator)."""
    joined = _SEPARATOR.join(texts)
    if joined.count(_SEPARATOR) == len(texts) - 1:
        reading = _reading(joined, joined_texts=True)
        return reading.words, reading.numbers
    each = [read(text) for text in texts]
    return frozenset().union(*(one.words for one in each)), frozenset().union(*(one.numbers for one in each))


_remembered_reading = lru_cache(maxsize=TEXTS_REMEMBERED)(_reading)
_remembered_stem = lru_cache(maxsize=STEMS_REMEMBERED)(_stemmed)
_figure_readings = lru_cache(maxsize=FIGURES_REMEMBERED)(readings)
_scale_of = lru_cache(maxsize=FIGURES_REMEMBERED)(scale_of)  # the word after a figure: "the", "in", "percent" …


def forget() -> None:
    """Drop every memoised reading (benchmarks measure a first reading with it; nothing else needs it)."""
    for memo in (_remembered_reading, _remembered_stem, _figure_readings, _scale_of):
        memo.cache_clear()
