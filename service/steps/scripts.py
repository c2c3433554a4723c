"""Sentence ends where sentencex has no rules (Thai, Lao, Khmer, Myanmar), and cuts it makes inside a sentence.

- **Thai and Lao** write no sentence punctuation: a space between two words of the script ends a sentence
  (or a clause the model can read alone), while a space beside a figure ("ร้อยละ 2.7", "10,000 บาท") or a
  short word (the acronym "ສປປ ລາວ") does not. pythainlp, the maintained Thai toolkit, was measured first:
  67 MB installed, and its ``crfcut`` engine found 2 of the 4 sentences of our Thai test article; these
  rules find the 4.
- **Khmer** ends a sentence with ``។`` or ``៕`` and **Myanmar** with ``။`` (sentencex knows neither, and
  cuts Myanmar after ``၏``, a possessive); not inside a quotation.
- **Mending** what sentencex cuts in any script: never inside a number written with a dot ("३.२", "৯.৯৩":
  digits of a script it does not know), never after an initial ("M. Le Maire", "J. Smith"), never after a
  full stop followed by a lower-case word ("1,2 mld. di euro": an abbreviation, since no sentence in Latin,
  Greek or Cyrillic starts in lower case).
- **Cutting** after an acronym that ends a sentence, where sentencex took it for an abbreviation ("4,3% del
  PIL. Le esportazioni": Italian "PIL.", the GDP): a word of two or more capitals and nothing else, its full
  stop, a space, a capital. Acronyms are mostly written without a full stop of their own, so one there ends
  the sentence; not after Roman numerals ("Ludwig II. war König": German ordinals), dotted acronyms ("U.S.
  Senate"), Spanish doubled plurals ("EE. UU."), abbreviations in capitals ("MR. SMITH", "ST. LOUIS"), in a
  shouted span, or inside a quotation. A Polish "proc." before an acronym ("5 proc. PKB") still ends a
  sentence: a known miss.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

Span = tuple[int, int]

SPACED_SCRIPTS = {"th": "\u0e00-\u0e7f", "lo": "\u0e80-\u0eff"}  # Unicode blocks of Thai and Lao
TERMINATORS = {"km": "។៕?!", "my": "။?!"}
MIN_WORD_RUN = 4  # a shorter run of the script (an acronym, a particle) beside a space does not end a sentence
OPENING_QUOTES = "«“„‘「『《(\"'"
CLOSING_QUOTES = "»”’」』》)\"'"
CASED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")  # scripts whose sentences start with a capital
_NUMBER_CUT = re.compile(r"\d[.,]$")
_INITIAL_CUT = re.compile(r"(?:^|\s)[A-ZÀ-Ý]\.$")
_QUOTATION_OPENS = re.compile('[«“„‘「『《"]')  # not ', which is an apostrophe too
# an acronym's full stop before a capital: two or more capitals standing alone, not a Roman numeral, nor the first
# half of a Spanish doubled plural ("EE. UU.", "FF. AA."), whose second half follows
_CAPITAL = "A-ZÀ-ÖØ-Ý"
_ACRONYM_END = re.compile(
    rf"(?<![\w.])(?![IVXLCDM]+\.)([{_CAPITAL}]{{2,}})\.(?=\s+[«“„\"'(]?[{_CAPITAL}])(?!\s+[{_CAPITAL}]{{2,}}\.)"
)
# written abbreviations in capitals, in shouted text or not ("MR. SMITH", "ST. LOUIS"): never an acronym's end
CAPITAL_ABBREVIATIONS = frozenset(
    str.split("MR MRS MS DR ST SEN REP GOV GEN LT COL CAPT SGT PROF REV JR SR CO CORP INC LTD NO MT FT VS")
)
_ASCII_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = b"abcdefghijklmnopqrstuvwxyz"
SHOUTED_SHARE = 0.5  # a span whose Latin letters are mostly capitals is shouted: its capitals say nothing


def rule_spans(language: str, text: str) -> tuple[Span, ...] | None:
    """Return the sentence spans of a paragraph in a script with rules of its own; None for sentencex to do."""
    if language in SPACED_SCRIPTS:
        return _spaced_spans(text, SPACED_SCRIPTS[language])
    if language in TERMINATORS:
        return _terminated_spans(text, TERMINATORS[language])
    return None


def _spaced_spans(text: str, letters: str) -> tuple[Span, ...]:
    """Cut at each space between two runs of the script's letters both at least ``MIN_WORD_RUN`` long."""
    gap = re.compile(rf"(?<=[{letters}])\s+(?=[{letters}])")
    cuts = [match for match in gap.finditer(text) if _long_runs_beside(text, match.start(), match.end())]
    starts = [0, *(match.end() for match in cuts)]
    ends = [*(match.start() for match in cuts), len(text)]
    return tuple(zip(starts, ends, strict=True))


def _long_runs_beside(text: str, gap_start: int, gap_end: int) -> bool:
    """Say whether the runs of non-space characters on both sides of a space are long enough to be clauses."""
    before = text[:gap_start].rsplit(maxsplit=1)[-1]
    after = text[gap_end:].split(maxsplit=1)[0]
    return len(before) >= MIN_WORD_RUN and len(after) >= MIN_WORD_RUN


def _terminated_spans(text: str, terminators: str) -> tuple[Span, ...]:
    """Cut after each terminator (and the closing quotes after it) that stands outside a quotation."""
    spans: list[Span] = []
    start = depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char in OPENING_QUOTES and (char not in CLOSING_QUOTES or depth == 0):
            depth += 1
        elif char in CLOSING_QUOTES and depth:
            depth -= 1
        elif char in terminators and depth == 0:
            end = index + 1
            while end < len(text) and text[end] in CLOSING_QUOTES:
                end += 1
            spans.append((start, end))
            start = index = end
            continue
        index += 1
    if text[start:].strip():
        spans.append((start, len(text)))
    return tuple(spans)


def mended(text: str, spans: Sequence[Span]) -> list[Span]:
    """Join spans a segmenter cut inside a number ("३.|२") or after an initial ("M.| Le Maire")."""
    joined: list[Span] = []
    for start, end in spans:
        if joined and _cut_inside_a_sentence(text, joined[-1], start):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def cut_after_acronyms(text: str, spans: Sequence[Span]) -> list[Span]:
    """Cut spans after an acronym's full stop before a capital ("del PIL. Le esportazioni"), which ends a sentence.

    Never after a quotation opens in the span ("‘That’s OK. You’re all gone.’" is one quoted sentence to the
    segmenter, and an apostrophe cannot be told from a closing quote to know where the quotation ends), after
    an abbreviation written in capitals ("MR.", "ST."), nor in a shouted span, where every word is capitals.
    """
    cut: list[Span] = []
    for start, end in spans:
        for match in _ACRONYM_END.finditer(text, start, end):  # most spans hold none: nothing else is read
            if _QUOTATION_OPENS.search(text, start, match.start()) or _shouted(text[start:end]):
                break
            if match.group(1) not in CAPITAL_ABBREVIATIONS and match.end() < end:
                cut.append((start, match.end()))
                start = match.end()
        cut.append((start, end))
    return cut


def _shouted(text: str) -> bool:
    """Say whether a text's Latin letters are mostly capitals (``SHOUTED_SHARE``), counted as bytes (C loops)."""
    latin = text.encode("ascii", "ignore")
    capitals = len(latin) - len(latin.translate(None, _ASCII_UPPER))
    small = len(latin) - len(latin.translate(None, _ASCII_LOWER))
    return capitals > SHOUTED_SHARE * (capitals + small)


def _starts_in_lower_case(text: str) -> bool:
    """Say whether a text starts with a lower-case Latin, Greek or Cyrillic letter (Georgian's are caseless in use)."""
    first = text[:1]
    return first.islower() and unicodedata.name(first, "").startswith(CASED_SCRIPTS)


def _cut_inside_a_sentence(text: str, previous: Span, start: int) -> bool:
    """Say whether the cut between ``previous`` and a span at ``start`` falls inside a number or after an initial."""
    before = text[previous[0] : previous[1]].rstrip()
    after = text[start:].lstrip()
    number = bool(_NUMBER_CUT.search(before)) and after[:1].isdigit() and previous[1] == start
    lower_case_next = _starts_in_lower_case(after) and before.endswith(".")  # "1,2 mld. di euro"
    return number or lower_case_next or bool(_INITIAL_CUT.search(before))
