"""Deterministic news-like articles: paragraphs of varied sentences with numbers, quotes, names, abbreviations.

The same seed always gives the same article, so every run measures the same text. Paragraphs are lines (as
in the service's input), sentences mix figures ("15.2%", "$4.8 million", "1,324,994"), direct and reported
quotes, titles and abbreviations ("Gov.", "U.S.", "Jan.") that a sentence segmenter must not split on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

FIRST = ("Maria", "James", "Aisha", "Tomasz", "Priya", "Daniel", "Elena", "Kwame", "Sofia", "Hiroshi", "Grace", "Omar")
LAST = ("Delgado", "Whitaker", "Okafor", "Nowak", "Raman", "Hughes", "Petrova", "Mensah", "Lindqvist", "Tanaka")
ROLES = ("mayor", "chief executive", "state treasurer", "council member", "spokesperson", "economist", "director")
ORGS = ("the Harbor Transit Authority", "Northfield Energy", "the State Housing Board", "Crestline Health",
        "the City Council", "the Port Commission", "Meridian Bank", "the Department of Education")  # fmt: skip
PLACES = ("Riverton", "Lake Carver", "East Millbrook", "Port Adair", "Granite Falls", "Westhaven")
TOPICS = ("housing", "public transit", "the power grid", "hospital staffing", "school funding", "water rates")
MONTHS = ("Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
QUOTES = (
    "We are not going to balance this budget on the backs of working families",
    "The numbers speak for themselves, and they are not good",
    "This is the largest investment the region has seen in a generation",
    "Nobody should have to wait six months for a routine appointment",
    "We warned about this two years ago and nobody listened",
    "I think people are tired of promises, they want results",
)


@dataclass(frozen=True, slots=True)
class GeneratedArticle:
    """A generated article: its headline and its text (one paragraph a line)."""

    title: str
    text: str

    @property
    def words(self) -> int:
        """Return the article's word count."""
        return len(self.text.split())


def _person(rng: random.Random) -> str:
    """Return a full name."""
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _capitalized(text: str) -> str:
    """Return ``text`` with its first letter upper-cased and the rest kept."""
    return text[:1].upper() + text[1:]


def _money(rng: random.Random) -> str:
    """Return an amount of money."""
    return rng.choice([f"${rng.randint(2, 950)}.{rng.randint(1, 9)} million", f"${rng.randint(12, 990):,},000"])


def _sentences(rng: random.Random) -> list[Callable[[], str]]:
    """Return sentence makers; each call draws fresh names and numbers from ``rng``."""
    r = rng
    return [
        lambda: (
            f"{_person(r)}, the {r.choice(ROLES)} of {r.choice(ORGS)}, said the plan for {r.choice(TOPICS)} "
            f"would cost {_money(r)} over {r.randint(2, 12)} years."
        ),
        lambda: (
            f"“{r.choice(QUOTES)},” {_person(r)} said at a news conference in {r.choice(PLACES)} on {r.choice(DAYS)}."
        ),
        lambda: (
            f"{_capitalized(r.choice(ORGS))} reported that spending on {r.choice(TOPICS)} rose "
            f"{r.randint(1, 40)}.{r.randint(0, 9)}% in {r.choice(MONTHS)} compared with the same month last year."
        ),
        lambda: (
            f"According to figures released on {r.choice(DAYS)}, {r.randint(1_000, 2_000_000):,} residents "
            f"of {r.choice(PLACES)} were affected in {r.randint(2015, 2025)}, up from {r.randint(500, 900_000):,} "
            "a year earlier."
        ),
        lambda: (
            f"Critics, including {_person(r)}, argued that the proposal ignored {r.choice(TOPICS)} and would "
            "shift costs onto smaller towns."
        ),
        lambda: (
            f"The U.S. Department of Transportation is expected to publish its final rule by "
            f"{r.choice(MONTHS)} {r.randint(1, 28)}, officials said."
        ),
        lambda: (
            f"Gov. {r.choice(LAST)} signed the measure on {r.choice(DAYS)}, calling it “a promise kept to "
            f"the people of {r.choice(PLACES)}.”"
        ),
        lambda: f"It was not immediately clear whether the {r.choice(ROLES)} had seen the report before the vote.",
        lambda: (
            f"Shares of {r.choice(ORGS).removeprefix('the ')} fell {r.randint(1, 9)}.{r.randint(0, 9)}% "
            "in early trading."
        ),
        lambda: (
            f"The council approved the budget by a vote of {r.randint(5, 9)}-{r.randint(0, 4)} after "
            f"{r.randint(2, 7)} hours of debate."
        ),
        lambda: (
            f"{_person(r)} told reporters that unemployment in the county had fallen to "
            f"{r.randint(2, 8)}.{r.randint(0, 9)}%, the lowest since {r.randint(1990, 2019)}."
        ),
        lambda: "Officials did not respond to a request for comment on Tuesday evening.",
        lambda: f"Asked whether taxes would rise, {r.choice(LAST)} said only that “everything is on the table.”",
        lambda: (
            f"About {r.randint(10, 90)} people attended the hearing, many of them holding signs about "
            f"{r.choice(TOPICS)}."
        ),
        lambda: (
            f"The report, which runs to {r.randint(40, 400)} pages, blames {r.choice(ORGS)} for delays "
            f"that began in {r.choice(MONTHS)} {r.randint(2018, 2024)}."
        ),
    ]


def _paragraph(rng: random.Random, makers: list[Callable[[], str]]) -> str:
    """Return one paragraph of one to four sentences."""
    return " ".join(rng.choice(makers)() for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))


def _title(rng: random.Random) -> str:
    """Return a headline."""
    return f"{rng.choice(PLACES)} weighs {_money(rng)} plan as {rng.choice(TOPICS)} costs climb"


def paragraphs(seed: int) -> tuple[str, list[str]]:
    """Return a title and an endless-enough supply (400) of paragraphs for ``seed``."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible prose, not secrets
    makers = _sentences(rng)
    return _title(rng), [_paragraph(rng, makers) for _ in range(400)]


def _article_of(seed: int, target: int, size_of: Callable[[str], int]) -> GeneratedArticle:
    """Return whole paragraphs for ``seed`` until their total ``size_of`` reaches ``target``."""
    title, supply = paragraphs(seed)
    chosen: list[str] = []
    total = 0
    for paragraph in supply:
        if total >= target:
            break
        chosen.append(paragraph)
        total += size_of(paragraph)
    return GeneratedArticle(title, "\n".join(chosen))


def article_of_words(seed: int, words: int) -> GeneratedArticle:
    """Return an article of about ``words`` words (whole paragraphs, at least ``words``)."""
    return _article_of(seed, words, lambda paragraph: len(paragraph.split()))


def article_of_bytes(seed: int, size: int) -> GeneratedArticle:
    """Return an article of about ``size`` UTF-8 bytes (whole paragraphs, at least ``size``)."""
    return _article_of(seed, size, lambda paragraph: len(paragraph.encode("utf-8")) + 1)


def chunk_count(text: str) -> int:
    """Return how many chunks the service's default settings cut ``text`` into."""
    from service.settings import Settings
    from service.steps.chunking import chunk_sentences
    from service.steps.text import normalize_text, segment_sentences

    settings = Settings()
    sentences = segment_sentences(normalize_text(text).text)
    return len(chunk_sentences(sentences, settings.chunk_tokens, settings.context_sentences))


def article_of_chunks(seed: int, chunks: int) -> GeneratedArticle:
    """Return the shortest article from ``seed`` that the service cuts into exactly ``chunks`` chunks."""
    for attempt in range(50):
        title, supply = paragraphs(seed + attempt * 1_000)
        for end in range(1, len(supply) + 1):
            found = chunk_count("\n".join(supply[:end]))
            if found == chunks:
                return GeneratedArticle(title, "\n".join(supply[:end]))
            if found > chunks:
                break
    raise RuntimeError(f"no article of exactly {chunks} chunks")
