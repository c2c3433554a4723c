"""The offline model's decontextualisation: what a sentence leans on, filled in from the sentences before it.

Fact-checkers quote a sentence that leans on its article with the missing context in square brackets: "He
noted that import prices had fallen by 1.9%" becomes "[Christine Lagarde] noted that import prices had fallen
by 1.9%". The offline model does the same from the chunk's earlier sentences, and only where the referent is
plain, read from the latest sentence that offers one:

* a sentence-opening "He"/"She" (and a later "his"/"him" or "her" of the same gender) is the first person
  that sentence names (its subject, most often: "Christine Lagarde, the president of …");
* "The pair"/"The two leaders" are the first two people it names; "They" the two it names joined by "and";
* "It"/"Its" opening a sentence (not "it is … that"), and "the company"/"the firm", are the organisation it
  opens with ("Pfizer reported …") or names as a company ("Acme Corp.", "Tesla CEO", "its company, Tesla").

A contraction ("He's", "They're") is left as written, as is what cannot be resolved: the service's standalone
check (``service.steps.standalone``) then says the claim does not stand alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.offline.claimants import TITLE_WORDS
from service.steps.standalone import OPENERS

_CAP = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
CAPITALISED_RUN = re.compile(rf"\b(?:{_CAP}\s+|[A-Z]\.\s+)*{_CAP}\b")
# a company: a name with a company word ("Acme Corp."), the name after "company" ("its company, Tesla"), or the
# name before a chief executive or shares ("Tesla CEO", "Boeing shares")
COMPANY = re.compile(
    r"\b((?:[A-Z][\w&-]*\s+){1,3}(?:Corp\.?|Corporation|Inc\.?|Co\.|Company|Ltd\.?|plc|Group|Motors|Airlines"
    r"|Technologies|Holdings|Industries|Systems|Pharmaceuticals|Energy|Bank))"
    r"|\b(?:company|firm|maker|giant|retailer|carmaker|manufacturer|group),?\s+((?:[A-Z][\w&-]*\s?)+?)(?=[\s,.;:]|$)"
    r"|\b([A-Z][\w&-]*)(?:[’']s)?\s+(?:CEO|chief executive|shares|stock|executives|workers|employees)\b"
    r"|\b[Ss]hares (?:of|in) ((?:[A-Z][\w&.-]*\s?)+?)(?=[\s,.;:]|$)"
)
# a sentence that opens with an organisation doing something: "Pfizer reported …", "Volkswagen announced …"
SUBJECT = re.compile(
    r"^(?:(?:So|And|But|Now),?\s+)?((?:[A-Z][\w&.-]*\s+){0,2}[A-Z][\w&-]*|[Tt]he\s+[a-z]+(?:\s+[a-z]+)?)"
    r"\s+(?:is|was|has|had|[a-z]+ed)\b"
)
PAIRED = re.compile(r"\s+and\s+")
_TITLE_LIKE = frozenset(TITLE_WORDS) | frozenset(["Former", "Finance", "Health", "Foreign", "Interior", "Defence"])
NOT_PERSON_WORDS = frozenset(
    str.split(
        "The A An In On At By For From Of To With After Before During While When Where But And Or So Yet However"
        " Also Then Now Still Even Only This That These Those There Here It Its He She They We I You His Her Their"
        " Our My Your Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May"
        " June July August September October November December United States Kingdom Nations Union European"
        " America American North South East West New Street Road Court Act Bill Department Ministry Bank Office"
        " According Mr Mrs Ms Dr Last Next Since Until As If Because Although Though Meanwhile Earlier Later"
        " Vice Prime Minister President Secretary Governor Senator Commissioner Chancellor Mayor Republican"
        " Republicans Democrat Democrats Democratic National Federal Labor Labour Party Quarterly Report Crime"
        " Partnership Agreement Treaty Accord Center Centre Tech University College School Hospital Institute"
        " Energy Group Corp Inc Company Fund Council Committee Board Agency Service Services Airlines Motors Trade"
        " World Grand Slam Holocaust Prize Award Cup League Championship Games Olympics Day Week Avenue Square Park"
        " River Lake Island Islands City County State Province Republic Union Parliament Congress Senate House"
        " Assembly Commission Authority Police Army Navy Force Forces Guard Security Health Care Media News Times"
        " Post Journal Press Tesla Twitter White Reserve Central Supreme Circuit Border Patrol Trans Pacific"
    )
)
_LEAD = r"(?P<lead>(?:(?:But|And|So|Yet|Still|Also|However|Meanwhile|Then|Later),?\s+)?)"
_NO_CONTRACTION = r"(?![’'])"
OPENING_PERSONAL = re.compile(rf"^{_LEAD}(?P<pronoun>(?i:he|she))\b{_NO_CONTRACTION}")
HIS = re.compile(r"\b(?:his|him)\b")
HER = re.compile(r"\bher\b")
OPENING_PAIR = re.compile(rf"^{_LEAD}(?P<pronoun>(?i:the pair|the two men|the two women|the two leaders))\b")
OPENING_THEY = re.compile(rf"^{_LEAD}(?P<pronoun>(?i:they|their))\b{_NO_CONTRACTION}")
OPENING_POSSESSIVE = re.compile(rf"^{_LEAD}(?P<pronoun>(?i:his|her))\b")
OPENING_IT = re.compile(
    rf"^{_LEAD}(?P<pronoun>(?i:its?))\b{_NO_CONTRACTION}(?!\s+(?:is|was|will be|would be|has been|seems|appears)\b)"
)
THE_COMPANY = re.compile(
    r"\b(?P<pronoun>[Tt]he (?:company|firm|airline|carmaker|automaker|chipmaker|retailer|lender|insurer))"
    r"(?P<possessive>[’']s)?\b"
)
HER_BEFORE_NOUN = re.compile(r"\s+(?!(?:and|or|to|in|on|at|for|with|that|as|of|from|by|was|is|had|has)\b)[a-z]")


@dataclass(frozen=True, slots=True)
class Referents:
    """What the latest earlier sentences offer: a person, two people, two people joined by "and", a company."""

    person: str | None = None
    two: str | None = None
    joined: str | None = None
    company: str | None = None
    subject: str | None = None


def _person_names(sentence: str) -> list[tuple[int, str]]:
    """Return the people a sentence names, with where: a run of capitalised words after its titles, two or three.

    A title with a single name after it stays with it ("Pope Francis").
    """
    names: list[tuple[int, str]] = []
    for match in CAPITALISED_RUN.finditer(sentence):
        words = match.group(0).split()
        last_title = max((i for i, word in enumerate(words) if word in _TITLE_LIKE), default=-1)
        named = words[last_title + 1 :]
        if len(named) == 1 and last_title >= 0 and words[last_title] in TITLE_WORDS:
            named = [words[last_title], *named]
        if 2 <= len(named) <= 3 and not any(word in NOT_PERSON_WORDS for word in named[-2:]):
            names.append((match.start() + match.group(0).rindex(named[0]), " ".join(named)))
    return names


def _companies(sentence: str) -> list[str]:
    """Return the organisations a sentence names as companies."""
    return [next(name for name in match.groups() if name).strip() for match in COMPANY.finditer(sentence)]


def _subject(sentence: str) -> str | None:
    """Return what a sentence opens with when it is no person: "Pfizer reported …", "The central bank raised …"."""
    subject = SUBJECT.match(sentence)
    if subject is None or _person_names(subject.group(1)) or subject.group(1).split()[0].casefold() in OPENERS:
        return None
    return subject.group(1)


def referents(earlier: Sequence[str]) -> Referents:
    """Read what the earlier sentences offer, each kind from the latest sentence that offers one."""
    person = two = joined = company = subject = None
    for sentence in earlier:
        people = _person_names(sentence)
        if people:
            person = people[0][1]
        if len(people) >= 2:
            two = f"{people[0][1]} and {people[1][1]}"
            (at, first), (_, second) = people[0], people[1]
            joined = f"{first} and {second}" if PAIRED.match(sentence, at + len(first)) else joined
        opening = _subject(sentence)
        companies = _companies(sentence)
        subject = opening or subject
        company = (companies[0] if companies else opening if opening and opening[0].isupper() else None) or company
    return Referents(person, two, joined, company, subject)


def resolve_references(sentence: str, earlier: Sequence[str]) -> str:
    """Return the sentence with what it leans on filled in, in brackets, from the earlier sentences."""
    if not earlier:
        return sentence
    known = referents(earlier)
    resolved = _resolve_person(sentence, known.person)
    resolved = _replace_opening(resolved, OPENING_POSSESSIVE, known.person, possessive=True)
    resolved = _replace_opening(resolved, OPENING_PAIR, known.two)
    resolved = _replace_opening(resolved, OPENING_THEY, known.joined or known.subject, possessive="their")
    resolved = _resolve_it(resolved, known.subject)
    return _resolve_company(resolved, known.company)


def _replace_opening(
    sentence: str, opening: re.Pattern[str], referent: str | None, possessive: bool | str = False
) -> str:
    """Replace what ``opening`` matches at the start of the sentence by the referent, in brackets.

    ``possessive``: always (True), or when the pronoun is that word ("their"), the referent's possessive.
    """
    found = opening.match(sentence)
    if found is None or referent is None:
        return sentence
    pronoun = found.group("pronoun").casefold()
    owner = "’s" if possessive is True or (isinstance(possessive, str) and pronoun == possessive) else ""
    return f"{found.group('lead')}[{referent}{owner}]{sentence[found.end() :]}"


def _resolve_person(sentence: str, person: str | None) -> str:
    """Replace an opening "He"/"She" by the person, and a later "his"/"him" (or "her") of the same gender."""
    opening = OPENING_PERSONAL.match(sentence)
    if opening is None or person is None:
        return sentence
    rest = sentence[opening.end() :]
    if not any(name != person for _, name in _person_names(rest)):  # no one else named: the pronouns are theirs
        later = HIS if opening.group("pronoun").casefold() == "he" else HER
        rest = later.sub(lambda match: _later(match, rest, person), rest)
    return f"{opening.group('lead')}[{person}]{rest}"


def _later(match: re.Match[str], rest: str, person: str) -> str:
    """Return the bracket for a later "his", "him" or "her": possessive before a noun, else the person."""
    pronoun = match.group(0)
    if pronoun == "his" or (pronoun == "her" and HER_BEFORE_NOUN.match(rest, match.end())):
        return f"[{person}’s]"
    return f"[{person}]"


def _resolve_it(sentence: str, company: str | None) -> str:
    """Replace an opening "It" ("Its") that is no placeholder subject by the organisation (its possessive)."""
    found = OPENING_IT.match(sentence)
    if found is None or company is None:
        return sentence
    possessive = "’s" if found.group("pronoun").casefold() == "its" else ""
    return f"{found.group('lead')}[{company}{possessive}]{sentence[found.end() :]}"


def _resolve_company(sentence: str, company: str | None) -> str:
    """Replace "the company"/"the firm" by the organisation."""
    mention = THE_COMPANY.search(sentence)
    if mention is None or company is None:
        return sentence
    possessive = mention.group("possessive") or ""
    return f"{sentence[: mention.start()]}[{company}]{possessive}{sentence[mention.end() :]}"
