"""Whose voice a sentence is in: the offline model's attribution and claimant, from the sentence alone.

The claimant is the source the sentence names for what it states, whatever the article's author: "X said",
"said X", "…, X said", "according to X", "X told …", "X's forecast shows", "in a statement, X said", "a survey
by X", "figures released by X", "analysts at X estimate". A named person is given without their title or role
("Commissioner Paolo Gentiloni" gives "Paolo Gentiloni"); a role without a name by the role ("the housing
minister said" gives "housing minister"). Pronouns, conjunctions and adverbs ("he", "but", "however") are
never a claimant; a direct quote with no speaker of its own inherits the previous quote's speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.claim_types import Attribution
from service.offline.reported_speech import find_speaker

# --- word lists -------------------------------------------------------------------------------------
SPEECH_VERBS = (
    "said|says|told|added|wrote|tweeted|posted|declared|stated|explained|argued|claimed|insisted|noted"
    "|warned|announced|replied|reported|reports|recalled|testified|expects|predicts|forecasts|forecast"
    "|predicted|estimate|estimates|estimated|confirmed|revealed|cautioned|acknowledged|projected|projects"
)
# a verb whose object is the listener, not the speaker: "…, told MPs" names no source
NOT_AFTER_VERB = "told|tell"
# never a claimant: pronouns, and conjunctions or adverbs that stand where a subject would
NOT_SOURCES = frozenset(
    str.split(
        "he she they it we i you who which that one this these those there here but however and yet so still also"
        " meanwhile nevertheless then now instead though although while"
    )
)
REPORT_NOUNS = (
    "report|study|survey|data|analysis|figures|poll|statement|review|audit|records|estimates?|forecasts?|outlook"
    "|projections?|assessment|index|research"
)
REPORT_VERBS = (
    "indicates?|shows?|showed|found|finds|says|said|suggests?|suggested|reveals?|revealed|estimates?|states?"
    "|puts|put|sees|saw|projects|projected|predicts|predicted|expects"
)
# the role words of a named person, dropped before the name ("Health Minister Ana Silva")
TITLE_WORDS = frozenset(
    str.split(
        "President Vice Prime Minister Secretary Commissioner Senator Sen. Representative Rep. Congressman"
        " Congresswoman Governor Gov. Mayor Chancellor Chairman Chairwoman Chair Director Judge Justice Ambassador"
        " General Gen. Professor Prof. Dr. Mr. Mrs. Ms. Dr Mr Mrs Ms Speaker Spokesman Spokeswoman Spokesperson"
        " Chief Executive Officer CEO Economist Analyst Leader Deputy Attorney King Queen Pope Sheriff"
    )
)
# the last word of a role or institution named without a name ("the housing minister", "the central bank")
ROLES = (
    "minister|ministers|ministry|secretary|mayor|president|governor|chancellor|senator|commissioner|spokesman"
    "|spokeswoman|spokesperson|executive|director|chairman|chairwoman|economist|economists|analyst|analysts"
    "|official|officials|police|prosecutors?|regulators?|bank|department|agency|office|government|commission"
    "|council|court|judge|treasury|organisers|organizers|researchers|scientists|experts|authorities|union"
    "|watchdog|inspectorate|auditors?|ombudsman|statistics office|white house|kremlin|pentagon"
)
NOT_NAMES = frozenset(("The", "A", "An", "It", "He", "She", "They", "We", "I", "You", "This", "That", "These", "Those"))

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"

# --- patterns ---------------------------------------------------------------------------------------
_NAME_WORD = r"[A-Z][\w&-]*(?:\.(?=\s[A-Z]))?"
_CONNECTOR = r"(?:\s+(?:of|for|on|de|von|van|der|den|da|di|du|la|le)){1,2}(?:\s+the)?"
_NOT_NAME_WORD = rf"(?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|{MONTHS})\b)"
NAME = rf"{_NAME_WORD}(?:(?:{_CONNECTOR})?\s+{_NOT_NAME_WORD}{_NAME_WORD}){{0,5}}"
POSSESSIVE_NAME = rf"{NAME}(?:['’]s(?=\s+(?:{SPEECH_VERBS})\b))?"  # "Moody's expects"
ROLE = rf"(?:[a-z][\w-]*\s+){{0,2}}?(?:{ROLES})"  # "housing minister", "central bank", "chief executive"
ADVERB = r"(?:also|later|then|again|once|previously|\w+ly)"
OPENING_QUOTE = re.compile(r"^[“\"‘']")
# "the mayor’s spokesman" before a name; "the head of" is not a descriptor of the name that follows
DESCRIPTOR = r"(?:(?:the|a|an)\s+(?:(?!of\b|for\b|at\b|from\b)[a-z][\w’'-]*\s+){1,4})"
SPEAKER_AFTER_QUOTE = re.compile(
    rf"[”\"’'][\s,]*(?:{DESCRIPTOR}?(?P<who>{NAME})(?:\s+{ADVERB})?\s+(?:{SPEECH_VERBS})"
    rf"|(?:{SPEECH_VERBS})\s+{DESCRIPTOR}?(?P<who2>{NAME})"
    rf"|(?:the|an?)\s+(?P<role>{ROLE})(?:\s+{ADVERB})?\s+(?:{SPEECH_VERBS}))\b"
)
_LEADING_OPENERS = r"(?:[^,“”\"]{0,60},\s+)?(?i:(?:and|but|so|yet|still|also|however|meanwhile)\s+)*"
LEADING_SPEAKER = re.compile(
    rf"^{_LEADING_OPENERS}(?:(?:the\s+|The\s+)?(?P<who>{POSSESSIVE_NAME})|(?i:the|an?)\s+(?P<role>{ROLE})"
    rf"|(?i:the|an?)\s+(?P<named_role>{NAME}\s+{ROLE}))"  # "A Treasury spokesperson said"
    rf"(?:\s+{ADVERB})?\s+(?:{SPEECH_VERBS})\b(?P<rest>.*)$"
)
# "Maria Lopez, the chief executive, said" / "The company's chief executive, Maria Lopez, told analysts"
APPOSITION_SPEAKER = re.compile(
    rf"^(?:(?P<who>{NAME}),\s+[^,“”\"]{{1,60}}|[^,“”\"]{{1,60}},\s+(?P<who2>{NAME})),\s+(?:{ADVERB}\s+)?"
    rf"(?:{SPEECH_VERBS})\b(?P<rest>.*)$"
)
TRAILING_SPEAKER = re.compile(
    rf",\s+(?:(?:(?:the\s+)?(?P<who>{NAME})|(?:an?|the)\s+(?:(?P<role>{ROLE})|[a-z][\w\s-]{{0,40}}?)"
    rf"|(?P<noun>[a-z]+))(?:\s+{ADVERB})?\s+(?:{SPEECH_VERBS})"
    rf"|(?!(?:{NOT_AFTER_VERB})\b)(?:{SPEECH_VERBS})\s+(?:the\s+)?(?P<who2>{NAME}))\b[^,“”\"]*$"
)
ACCORDING_TO = re.compile(
    rf"\b(?i:according\s+to)\s+(?:(?:an?|the)\s+[\w\s-]{{0,40}}?\bby\s+)?(?:the\s+)?"
    rf"(?:(?P<who>{NAME})|(?P<role>{ROLE})\b)?"
)
REPORT_SOURCE = re.compile(
    rf"(?P<who>{NAME})(?:[’']s?)?\s+(?:[\w-]+\s+){{0,5}}?(?i:{REPORT_NOUNS})\s+(?:{REPORT_VERBS})\b"
)
BY_SOURCE = re.compile(
    rf"\b(?:released|published|compiled|issued|conducted|commissioned|(?:{REPORT_NOUNS}))\s+by\s+(?:the\s+)?"
    rf"(?P<who>{NAME})"
)
STAFF_OF_SOURCE = re.compile(
    rf"\b(?i:spokes(?:man|woman|person)|analysts?|economists?|officials?|researchers?|experts?)\s+(?:at|for|from|of)"
    rf"\s+(?:the\s+)?(?P<who>{NAME})\s+(?:{ADVERB}\s+)?(?:{SPEECH_VERBS})\b"
)
# "The bank held rates at 4.5%, but warned that …": the sentence's subject is the speaker of its second half
SHARED_SUBJECT = re.compile(
    rf"^(?:(?i:the)\s+)?(?:(?P<who>{NAME})|(?P<role>{ROLE}))\s+[a-z]+\b[^,“”\"]*,\s+(?:but|and|yet)\s+"
    rf"(?:{ADVERB}\s+)?(?:{SPEECH_VERBS})\b"
)
DIRECT_QUOTE_START = re.compile(r"^\s*[:,]?\s*[“\"‘]")
LEADING_FUNCTION_WORDS = re.compile(r"^(?:(?:The|A|An|But|And|So|Yet|However|Also|Then|Now|There|Here)\s+)+")
# searched in this order; the first that names a claimant wins
REPORTED_PATTERNS = (ACCORDING_TO, STAFF_OF_SOURCE, BY_SOURCE, REPORT_SOURCE, TRAILING_SPEAKER, SHARED_SUBJECT)


@dataclass(frozen=True, slots=True)
class Source:
    """Whose voice a sentence is in: the attribution and, when the sentence names one, the claimant."""

    attribution: Attribution
    claimant: str | None


AUTHOR = Source("author", None)


def without_title(name: str) -> str:
    """Return a person's name without the role words before it ("Prime Minister Keir Starmer" -> "Keir Starmer")."""
    words = name.split()
    last_title = max((i for i, word in enumerate(words[:-1]) if word in TITLE_WORDS), default=-1)
    rest = words[last_title + 1 :]
    if last_title < 0 or not rest or rest[0] in ("of", "for", "on", "the"):
        return name
    return " ".join(rest)


def clean_name(name: str | None) -> str | None:
    """Return a claimant without a leading article or title, or None for a pronoun or a bare function word."""
    if not name:
        return None
    name = LEADING_FUNCTION_WORDS.sub("", name.strip())
    if not name or name in NOT_NAMES or name.casefold() in NOT_SOURCES:
        return None
    return without_title(name)


def match_name(match: re.Match[str] | None) -> str | None:
    """Return the claimant a pattern captured: a name (``who``, ``who2``), a role (``role``, ``named_role``), a noun."""
    if match is None:
        return None
    groups = match.groupdict()
    named = clean_name(groups.get("who") or groups.get("who2"))
    if named:
        return named
    for key in ("role", "named_role", "noun"):
        value = (groups.get(key) or "").strip()
        if value and value.casefold() not in NOT_SOURCES:
            return value
    return None


def is_pure_quote(sentence: str) -> bool:
    """Tell whether the sentence opens with a quotation mark (a direct quote, maybe with its speaker)."""
    return bool(OPENING_QUOTE.match(sentence))


def find_source(sentence: str, previous_speaker: str | None = None) -> Source:
    """Work out the attribution and claimant of a sentence; a bare quote inherits the previous speaker.

    English first; where it names no claimant, the reported speech of the other languages
    (``service.offline.reported_speech``: es, de, fr, it, pt, nl, pl).
    """
    source = _english_source(sentence, previous_speaker)
    if source.claimant is not None:
        return source
    speaker, quoted = find_speaker(sentence)
    if speaker is None:
        return source
    return Source("quoted" if quoted or source.attribution == "quoted" else "reported", speaker)


def _english_source(sentence: str, previous_speaker: str | None) -> Source:
    """Work out a sentence's attribution and claimant by the English rules."""
    if is_pure_quote(sentence):
        speaker = match_name(SPEAKER_AFTER_QUOTE.search(sentence))
        return Source("quoted", speaker or previous_speaker)
    reported = False
    for pattern in REPORTED_PATTERNS:
        match = pattern.search(sentence)
        claimant = match_name(match)
        if claimant:
            return Source("reported", claimant)
        reported = reported or (match is not None and pattern is not SHARED_SUBJECT)
    for pattern in (APPOSITION_SPEAKER, LEADING_SPEAKER):
        leading = pattern.match(sentence)
        if leading and match_name(leading):
            kind: Attribution = "quoted" if DIRECT_QUOTE_START.match(leading.group("rest")) else "reported"
            return Source(kind, match_name(leading))
    return Source("reported", None) if reported else AUTHOR
