"""The offline model's decontextualisation: what a sentence leans on, filled in from the sentences before it.

Fact-checkers quote a sentence that leans on its article with the missing context in square brackets: "He
noted that import prices had fallen by 1.9%" becomes "[Christine Lagarde] noted that import prices had fallen
by 1.9%". The offline model does the same with what the chunk's earlier sentences name, and only where the
referent is plain: a sentence-opening "He"/"She" (and "his"/"her"/"him" after it) is the person named most
recently; "They"/"The pair" opening a sentence is the last two people named together ("Trump and Musk");
"the company"/"the firm" is the last organisation named. What it cannot resolve it leaves, and the
service's standalone check (``service.steps.standalone``) then says the claim does not stand alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from service.offline.claimants import TITLE_WORDS

_CAP = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
CAPITALISED_RUN = re.compile(rf"\b(?:{_CAP}\s+|[A-Z]\.\s+)*{_CAP}\b")
# a company: a name with a company word ("Acme Corp."), the name after "company" ("its company, Tesla"), or the
# name before a chief executive or shares ("Tesla CEO", "Boeing shares")
COMPANY = re.compile(
    r"\b((?:[A-Z][\w&-]*\s+){1,3}(?:Corp\.?|Corporation|Inc\.?|Co\.|Company|Ltd\.?|plc|Group|Motors|Airlines"
    r"|Technologies|Holdings|Industries|Systems|Pharmaceuticals|Bank))"
    r"|\b(?:company|firm|maker|giant|retailer|carmaker|manufacturer|group),?\s+((?:[A-Z][\w&-]*\s?)+?)(?=[\s,.;:]|$)"
    r"|\b([A-Z][\w&-]*)(?:[’']s)?\s+(?:CEO|chief executive|shares|stock|executives|workers|employees)\b"
)
PAIRED = re.compile(r"\s+and\s+(?:[A-Z][\w.]*\s+){0,4}?")
_TITLE_LIKE = frozenset(TITLE_WORDS) | frozenset(["Former", "Tesla", "Twitter", "House", "Senate", "Congress", "White"])
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
    )
)
_LEAD = r"(?P<lead>(?:(?:But|And|So|Yet|Still|Also|However|Meanwhile|Then|Later),?\s+)?)"
OPENING_PERSONAL = re.compile(rf"^{_LEAD}(?P<pronoun>(?i:he|she))\b")
LATER_PERSONAL = re.compile(r"\b(?P<pronoun>his|him|her)\b")
OPENING_GROUP = re.compile(rf"^{_LEAD}(?P<pronoun>(?i:they|the pair|the two men|the two leaders|the two))\b")
THE_COMPANY = re.compile(r"\b(?P<pronoun>[Tt]he (?:company|firm))(?P<possessive>[’']s)?\b")
HER_BEFORE_NOUN = re.compile(r"\s+(?!(?:and|or|to|in|on|at|for|with|that|as|of|from|by|was|is|had|has)\b)[a-z]")


@dataclass(frozen=True, slots=True)
class Referents:
    """Who the sentences before one name, and the companies they name, most recent last."""

    people: tuple[str, ...]
    pairs: tuple[str, ...]
    companies: tuple[str, ...]


def _person_names(sentence: str) -> list[tuple[int, str]]:
    """Return the people a sentence names, with where: a run of capitalised words less its titles, two or three left."""
    names: list[tuple[int, str]] = []
    for match in CAPITALISED_RUN.finditer(sentence):
        words = match.group(0).split()
        while words and (words[0] in _TITLE_LIKE or words[0] in NOT_PERSON_WORDS):
            words = words[1:]
        if 2 <= len(words) <= 3 and not any(word in NOT_PERSON_WORDS for word in words):
            names.append((match.start() + match.group(0).index(words[0]), " ".join(words)))
    return names


def referents(earlier: Sequence[str]) -> Referents:
    """Read the people, pairs of people and companies the earlier sentences name, in order of mention.

    A person named again by surname alone ("Musk said …") is mentioned again, so "he" in the next sentence is them.
    """
    people: list[str] = []
    pairs: list[str] = []
    companies: list[str] = []
    for sentence in earlier:
        named = _person_names(sentence)
        again = [(match.start(), full) for full in people for match in _surname(full).finditer(sentence)]
        people += [name for _, name in sorted({*again, *named})]
        pairs += [
            f"{first} and {second}"
            for (at, first), (_, second) in pairwise(named)
            if PAIRED.match(sentence, at + len(first))
        ]
        companies += [next(name for name in match.groups() if name) for match in COMPANY.finditer(sentence)]
    return Referents(tuple(people), tuple(pairs), tuple(companies))


def _surname(name: str) -> re.Pattern[str]:
    """Return the pattern of a person's surname alone, as a later sentence mentions them."""
    return re.compile(rf"\b{re.escape(name.split()[-1])}\b")


def resolve_references(sentence: str, earlier: Sequence[str]) -> str:
    """Return the sentence with what it leans on filled in, in brackets, from the earlier sentences."""
    if not earlier:
        return sentence
    known = referents(earlier)
    resolved = _resolve_person(sentence, known)
    resolved = _resolve_group(resolved, known)
    return _resolve_company(resolved, known)


def _resolve_person(sentence: str, known: Referents) -> str:
    """Replace an opening "He"/"She" by the last person named, and "his"/"her"/"him" after it likewise."""
    opening = OPENING_PERSONAL.match(sentence)
    if opening is None or not known.people:
        return sentence
    person = known.people[-1]
    rest = sentence[opening.end() :]
    if any(name != person for _, name in _person_names(rest)):
        return sentence  # another person named after: "his"/"her" may be theirs
    rest = LATER_PERSONAL.sub(lambda match: _later(match, rest, person), rest)
    return f"{opening.group('lead')}[{person}]{rest}"


def _later(match: re.Match[str], rest: str, person: str) -> str:
    """Return the bracket for a later "his", "him" or "her": possessive before a noun, else the person."""
    pronoun = match.group("pronoun")
    if pronoun == "his" or (pronoun == "her" and HER_BEFORE_NOUN.match(rest, match.end())):
        return f"[{person}’s]"
    return f"[{person}]"


def _resolve_group(sentence: str, known: Referents) -> str:
    """Replace an opening "They"/"The pair" by the last two people named together."""
    opening = OPENING_GROUP.match(sentence)
    if opening is None or not known.pairs:
        return sentence
    return f"{opening.group('lead')}[{known.pairs[-1]}]{sentence[opening.end() :]}"


def _resolve_company(sentence: str, known: Referents) -> str:
    """Replace "the company"/"the firm" by the last organisation named."""
    mention = THE_COMPANY.search(sentence)
    if mention is None or not known.companies:
        return sentence
    possessive = mention.group("possessive") or ""
    return f"{sentence[: mention.start()]}[{known.companies[-1].strip()}]{possessive}{sentence[mention.end() :]}"
