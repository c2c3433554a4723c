"""Standalone: whether a claim's text can be understood without the article it came from.

A claim stands alone when nothing in its text leans on the article: no third-person pronoun ("he", "their",
"it"), no demonstrative ("this", "those", "that's"), no anaphoric description ("the company", "the former",
"the pair"), no unnamed time ("last month", "that year", "on Monday", "yesterday"). What fact-checkers write
in square brackets is context supplied from the article ("[Christine Lagarde] noted …", "he [Joe Biden]
said"): a bracketed part, and the word just before a bracket it explains, count as resolved. A first-person
pronoun ("I", "we", "our") is resolved by the claim's claimant; with none, it is not.

The reading is a handful of regular expressions over the text, memoised per distinct text and claimant: it
runs on every claim of every reply, whatever the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

BRACKETED = re.compile(r"\[[^\[\]]{1,200}\]")
# what a bracket right after explains: "he [Joe Biden]", "the company [Tesla]", "last year [2023]" (searched in the
# few characters before each bracket)
_EXPLAINED = re.compile(
    r"(?:\b(?:he|she|it|they|him|her|his|its|their|them|we|us|our|me|my|you|your|i|there|then)"
    r"|\b(?:the|this|that|these|those|last|next)\s+[\w’'-]+(?:\s+[\w’'-]+)?)\s*$",
    re.IGNORECASE,
)
_BEFORE_BRACKET = 40  # characters before a bracket where what it explains may be
_TIME_UNIT = (
    r"year|years|month|months|week|weeks|quarter|day|days|decade|century|spring|summer|autumn|fall|winter"
    r"|season|term|session|night|morning|evening|weekend|time"
)
_WEEKDAY = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_DESCRIPTION = (
    r"company|firm|group|pair|former|latter|couple|bill|plan|deal|agreement|move|measure|proposal|scheme"
    r"|policy|decision|announcement|incident|attack|programme|program|project|organisation|organization"
    r"|man|woman|men|women|businessman|businesswoman|official|spokesman|spokeswoman|spokesperson|candidate"
    r"|lawmaker|politician|leader|report|study|survey|figure|figures|above|following|two|three|both"
    r"|conversation|discussion|interview|meeting|talks|stream|speech|event|rally|summit|call|visit|trip"
    r"|judge|judges|court|minister|ministry|president|government|administration|agency|bank|lender|insurer"
    r"|airline|carmaker|automaker|chipmaker|retailer|manufacturer|startup|club|team|party"
)
# a place or organisation described after the sentence names one ("Arizona … fled the state") is that one
_PLACE = r"country|city|town|region|state|province|nation"
PERSONAL = re.compile(
    r"\b(?:he|him|his|himself|she|her|hers|herself|they|them|their|theirs|themselves|its|itself)\b", re.IGNORECASE
)
CAPITALISED = re.compile(r"\b[A-Z][\w’'.-]*")
UNRESOLVED = re.compile(
    r"\b(?:this|these|those)\b"
    r"|^(?:[\"“‘']?(?:and|but|so|yet|still|also|however),?\s+)?that\b(?!\s+(?:is|was)\s+(?:why|how|what|when))"
    r"|\b(?:in|on|at|by|for|from|with|of|after|before|since|until|like|about)\s+that\b"
    r"|\bthat(?:[’']s)\b"
    rf"|\b(?:last|next|this|that|the\s+same|the\s+previous|the\s+following)\s+(?:{_TIME_UNIT})\b"
    r"|\b(?:yesterday|today|tomorrow|tonight)\b|\b(?:\w+)\s+(?:days?|weeks?|months?|years?)\s+ago\b"
    rf"|\b(?:on|last|next|this)\s+(?:{_WEEKDAY})\b(?!\s*,?\s*(?:\d|January|February|March|April|May|June|July"
    r"|August|September|October|November|December))"
    rf"|\bthe\s+(?:{_DESCRIPTION})\b(?!\s+(?:of|in|for|by|between|with)\b)"
    r"|\b(?:at|by|until|since|back)\s+(?:that\s+|the\s+)?(?:then|time)\b",
    re.IGNORECASE,
)
PLACE = re.compile(rf"\bthe\s+(?:{_PLACE})\b(?!\s+(?:of|in)\b)", re.IGNORECASE)
# "there" where it is a place, not the subject of "there is": after a word that is neither a conjunction nor a verb
# of saying or thinking ("said there were …")
LOCATIVE_THERE = re.compile(
    r"\b(?!(?:and|but|or|that|if|when|because|so|where|while|as|since|whether|is|was|are|were|then|now|yet|said"
    r"|says|say|think|thinks|believe|believes|know|knows|claimed|argued|found|shows|showed|estimated|is|be)\b)"
    r"[a-z]+\s+there\b"
)
# "it" leans on the article unless it is a placeholder subject: "it is estimated that", "it was not until"
IT_REFERENCE = re.compile(
    r"\bit\b(?!\s+(?:is|was|has been|had been|will be|would be|seems|seemed|appears|appeared|remains|takes|took"
    r"|costs?|means)\s+(?:\w+\s+){0,3}?(?:that|to|for|when|until|whether|if|how)\b)",
    re.IGNORECASE,
)
FIRST_PERSON = re.compile(r"\b(?:I|(?i:me|my|mine|myself|we|us|our|ours|ourselves))\b")
SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.IGNORECASE)
_FIXED_YOU = re.compile(r"\byou (?:know|see)\b|\bmind you\b|\bthank you\b", re.IGNORECASE)
# capitalised words that open a sentence or clause without naming anyone ("However, he …" names no one)
OPENERS = frozenset(
    str.split(
        "a an the this that these those there here it its he she they we i you his her their our my your in on at"
        " by for from of to with after before during while when as since until but and or so yet however also then"
        " now still even only according meanwhile instead earlier later last next if because although though"
    )
)
# The words each pattern needs, one of which any match holds as a whole word: a pattern runs only on a text that
# holds one (lower-cased ASCII words; most sentences hold none of several patterns' words).
_NEEDS = {
    UNRESOLVED: frozenset(
        str.split("this these those that yesterday today tomorrow tonight ago then time")
        + f"{_TIME_UNIT}|{_WEEKDAY}|{_DESCRIPTION}".lower().split("|")
    ),
    LOCATIVE_THERE: frozenset({"there"}),
    PERSONAL: frozenset(PERSONAL.pattern[5:].split(")")[0].split("|")),
    PLACE: frozenset(_PLACE.split("|")),
    IT_REFERENCE: frozenset({"it"}),
    FIRST_PERSON: frozenset(str.split("i me my mine myself we us our ours ourselves")),
    SECOND_PERSON: frozenset(str.split("you your yours yourself yourselves")),
    _FIXED_YOU: frozenset({"you"}),
}
_ASCII_RUN = re.compile("[a-z]+")
_LIKE_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")  # İ ı ſ K: the letters IGNORECASE matches with ASCII ones
RESOLVED = " Named "  # what a bracket stands for when reading the rest: a name ("[Musk] said he …")
TEXTS_REMEMBERED = 4_096  # distinct (text, claimant) pairs, ~4 MB at most
REMEMBERED_CHARS = 1_000  # longer texts are read each time


def unbracketed(text: str, placeholder: str = " ") -> str:
    """Return the text without its bracketed context, nor the words the brackets explain (``placeholder`` instead)."""
    if "[" not in text:
        return text  # the usual case, and the cheap one
    pieces: list[str] = []
    done = 0
    for bracket in BRACKETED.finditer(text):
        window = max(done, bracket.start() - _BEFORE_BRACKET)
        explained = _EXPLAINED.search(text, window, bracket.start())
        pieces += [text[done : explained.start() if explained else bracket.start()], placeholder]
        done = bracket.end()
    return "".join([*pieces, text[done:]])


def unresolved_references(text: str, claimant: str | None = None) -> list[str]:
    """Return what in a claim's text leans on the article (empty when it stands alone), in order."""
    return [words for _, words in sorted(_references(text, claimant))]


def _references(text: str, claimant: str | None) -> Iterator[tuple[int, str]]:
    """Yield where and what in a claim's text leans on the article, lazily: the likeliest patterns first.

    Lazy so that ``is_standalone`` stops at the first (most claims that lean on their article say "he" or
    "the company"); ``unresolved_references`` sorts them all by where they are.
    """
    own = unbracketed(text, RESOLVED)
    words = None if _LIKE_ASCII.search(own) else frozenset(_ASCII_RUN.findall(own.lower()))

    def matches(pattern: re.Pattern[str], in_text: str) -> Iterator[re.Match[str]]:
        """Yield the pattern's matches, none without looking when the text lacks every word it needs."""
        return pattern.finditer(in_text) if words is None or not _NEEDS[pattern].isdisjoint(words) else iter(())

    own = _FIXED_YOU.sub(" ", own) if words is None or "you" in words else own
    for pattern in (PERSONAL, PLACE):  # "Musk said he would help": the sentence names whom "he" means
        yield from ((match.start(), match.group(0)) for match in matches(pattern, own) if not _named_before(own, match))
    yield from ((match.start(), match.group(0)) for match in matches(UNRESOLVED, own))
    yield from ((match.start(), match.group(0).split()[-1]) for match in matches(LOCATIVE_THERE, own))
    bare = own.replace(RESOLVED, " ")  # a bracket names a person more often than a thing: "[Newsom] said it …"
    yield from ((m.start(), m.group(0)) for m in matches(IT_REFERENCE, bare) if not _named_before(bare, m))
    yield from ((match.start(), match.group(0)) for match in matches(SECOND_PERSON, own))
    if not (claimant and claimant.strip()):
        yield from ((match.start(), match.group(0)) for match in matches(FIRST_PERSON, own))


def _named_before(text: str, match: re.Match[str]) -> bool:
    """Tell whether the text names someone or something (a capitalised word, not an opener) before a pronoun."""
    return any(word.casefold().rstrip(".") not in OPENERS for word in CAPITALISED.findall(text, 0, match.start()))


def is_standalone(text: str, claimant: str | None = None) -> bool:
    """Tell whether a claim's text can be understood without its article (its claimant given; memoised)."""
    if len(text) > REMEMBERED_CHARS:
        return _stands_alone(text, claimant)  # read each time: the memory stays small
    return _remembered_standalone(text, claimant)


@lru_cache(maxsize=TEXTS_REMEMBERED)
def _remembered_standalone(text: str, claimant: str | None) -> bool:
    """Return ``is_standalone`` of a short text, remembered."""
    return _stands_alone(text, claimant)


def _stands_alone(text: str, claimant: str | None) -> bool:
    """Say whether nothing in the text leans on the article: stop at the first thing that does."""
    return next(_references(text, claimant), None) is None
