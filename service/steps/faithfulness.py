"""Faithfulness: a claim's words must not say more than the text the model was shown.

Grounding pins a claim's quote to the article; it does not stop a model from attaching an invented claim
text ("Vaccines cause autism", claimant "Anthony Fauci") to a real quote. Here every number (figures,
years, dates), every proper name of a claim's ``text`` and every name and number of its ``claimant`` must
be supported by what the model saw for that chunk: any sentence of the chunk (a good model carries
"Elon Musk" over from an earlier sentence to stand a claim alone), its read-only context, the title, or
the transcript's speakers. The comparison is deterministic and tolerant of what rewording changes: case,
possessives ("Musk's"), plural and demonym endings ("Americans", "Venezuelan"), abbreviations ("Jan."),
dots in acronyms ("U.S."), thousands separators ("1,324,994"), "percent" for "%", and numbers spelled out
("forty-two", "two million"). A claim that fails names what was unsupported.

A claim must also say what its own quote says (issue 21): outside its square brackets (context filled in
from the article, which the names check above covers), at least half of its content words and figures must
come from the sentences its quote lies in (a name the chunk supports is a referent carried over, counted on
neither side), a figure another sentence of the chunk states and its own does not is a paste, and its
polarity must match ("was not …" or "It is false that …" on a quote that says otherwise, or a quote's "not"
dropped). A claim that copies its quote, the usual case, is not read again.

Texts are read (tokens, comparable words, figures) by ``service.steps.words``, a chunk's texts together in
one pass; a claim whose text is one of the texts read needs no reading (all of it is supported). What is
read is memoised, bounded: a chunk's support, a claim's (or quote's) words and numbers and its terms are each
worked out once per distinct string (least recently used dropped first), so a chunk read again, or a
claimant named in every claim, is read once. The gate's cost a chunk is measured by
``benchmarks/faithfulness_speed.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from schemas import Notice
from service.steps.chunking import Chunk
from service.steps.grounding import GroundedClaim
from service.steps.standalone import BRACKETED, unbracketed
from service.steps.words import NUMBER_WORDS, REMEMBERED_CHARS, SCALES, TENS, TEXTS_REMEMBERED, UNITS, read_together
from service.steps.words import forget as forget_words
from service.steps.words import read as read_text
from service.steps.words import stem as comparable_form

FaithfulnessMode = Literal["drop", "warn", "off"]

_OPENER_WORDS = """
    a an the this that these those there here it its he she they we i you his her their our my your
    in on at by for from of to with without within into onto under over after before during while when
    whenever where as since until despite although though if unless because but and or nor so yet however
    also then now still even only just both each every all some many most more less few several no not
    according meanwhile instead overall currently recently previously later earlier
"""
OPENERS = frozenset(_OPENER_WORDS.split())
NOT_NAMES = OPENERS | UNITS.keys() | TENS.keys() | SCALES.keys()  # "One of the largest", "Two people": numbers
NEGATIONS = frozenset(
    ["not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot", "false", "untrue", "incorrect"]
)
NOT_NEGATING = frozenset({"until", "till", "only", "just", "merely"})  # after a negation: a positive idiom
# words that frame a claim without being its content: function words, auxiliaries, speech verbs
_FRAME = """
    is are was were be been being am has have had do does did will would can could may might shall should must
    said says say saying told tells according added noted stated claimed argued reported reports announced
    that which who whom whose what than to of the about also per cent percent s
"""
FRAME_WORDS = OPENERS | frozenset(_FRAME.split())
CONTENT_FROM_QUOTE = 0.5  # at least this share of a claim's own content words must come from its quote
YEARS = (1800, 2100)  # whole numbers in this range may be years
MIN_STEM_FOR_PREFIX = 4
MAX_SUFFIX = 3
CLAIM_TEXTS_REMEMBERED = 1_024  # distinct claim texts and claimants, ~0.5 MB at most
CHUNKS_REMEMBERED = 16  # the supports of the last chunks read, ~1 MB at most


@dataclass(frozen=True, slots=True)
class Support:
    """What a chunk's model saw, as comparable words and numbers."""

    words: frozenset[str]
    numbers: frozenset[float]
    sentences: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)
    texts: frozenset[str] = field(default=frozenset(), compare=False, hash=False)  # what was read

    @classmethod
    def of(cls, texts: Iterable[str], sentences: Mapping[int, str] | None = None) -> Support:
        """Read the words and numbers of the texts the model was shown (``sentences``: the citable ones, by id).

        The texts are read together, as one text in which the separator ends each (a few C calls for the
        whole chunk instead of a few a text); a text holding the separator itself is read alone.
        """
        texts = list(texts)
        comparable, numbers = read_together(texts)
        return cls(comparable, numbers, dict(sentences or {}), frozenset(texts))

    def has_word(self, word: str) -> bool:
        """Say whether a word, or a form of it that differs only by an ending, is supported."""
        stem = comparable_form(word)
        if stem in self.words:
            return True
        if len(stem) < MIN_STEM_FOR_PREFIX:
            return False
        return any(_same_root(stem, known) for known in self.words if known[:MIN_STEM_FOR_PREFIX] == stem[:4])


def chunk_support(chunk: Chunk, title: str | None) -> Support:
    """Return what the model was shown for a chunk: its sentences, their context, the title and the speakers."""
    shown = [*chunk.context, *chunk.sentences]
    speakers = {sentence.speaker for sentence in shown if sentence.speaker}
    citable = tuple((sentence.id, sentence.text) for sentence in chunk.sentences)
    return _remembered_support((*(sentence.text for sentence in shown), *speakers, title or ""), citable)


def _support(texts: tuple[str, ...], citable: tuple[tuple[int, str], ...]) -> Support:
    """Read a chunk's support from its texts and its citable sentences (memoised: a chunk read again is not)."""
    return Support.of(texts, dict(citable))


def _same_root(stem: str, known: str) -> bool:
    """Say whether two stems differ only by a short ending (plural, demonym): "americans" / "america"."""
    shorter, longer = sorted((stem, known), key=len)
    return longer.startswith(shorter) and len(longer) - len(shorter) <= MAX_SUFFIX


def _claim_terms(text: str) -> tuple[tuple[str, ...], tuple[frozenset[float], ...]]:
    """Return the names (capitalised words that are not sentence openers) and the numbers a text states.

    A text with brackets is read as its own words and each bracket's (the quote check reads its own words
    too, so it is read once): the names and numbers (each with its readings) of all of them.
    """
    if "[" in text:
        pieces = [_unbracketed(text), *(bracket.group(0)[1:-1] for bracket in BRACKETED.finditer(text))]
        terms = [_claim_terms(piece) for piece in pieces]
        names = tuple(dict.fromkeys(name for piece_names, _ in terms for name in piece_names))
        return names, tuple(dict.fromkeys(number for _, numbers in terms for number in numbers))
    return _remembered_terms(text) if len(text) <= REMEMBERED_CHARS else _terms(text)


def _terms(text: str) -> tuple[tuple[str, ...], tuple[frozenset[float], ...]]:
    """Read the names and the numbers (each with its readings) of a claim's text or claimant."""
    reading = read_text(text)  # a claim often copies a sentence of its chunk: tokenised already
    names = [token for token in reading.tokens if token[0].isupper() and token.casefold() not in NOT_NAMES]
    return tuple(dict.fromkeys(names)), tuple(dict.fromkeys(reading.figures))


def unsupported_terms(text: str, claimant: str | None, support: Support, *, names: bool = True) -> list[str]:
    """Return the names (unless ``names`` is false) and numbers of a claim's text and claimant its support lacks."""
    missing: list[str] = []
    for source in (text, claimant or ""):
        if source in support.texts and "[" not in source:
            continue  # a text the support was read from (a claim copying its sentence): all of it is supported
        named, numbers = _claim_terms(source)
        missing += [name for name in named if names and not support.has_word(name)]
        missing += [_show(max(number)) for number in numbers if number.isdisjoint(support.numbers)]
    return list(dict.fromkeys(missing))


def _said(grounded: GroundedClaim, support: Support) -> str:
    """Return what a claim's quote says, in full: its cited sentences (the quote alone when they are not known).

    A quote may be the span of a sentence that states one fact; the sentence's own frame ("…, a spokesman
    said") is part of what it says.
    """
    cited = [support.sentences.get(sentence_id) for sentence_id in grounded.sentence_ids]
    return " ".join(text for text in cited if text) or grounded.quote


@dataclass(frozen=True, slots=True)
class _Against:
    """A claim's own text read against what its quote says (independent of the chunk, so memoised).

    ``counted`` content words and figures, names aside; ``unsaid`` those the quote does not say, in order;
    ``names`` the capitalised words the quote does not say (unsaid unless the chunk supports them: a referent
    carried over is neither said nor unsaid); ``figures`` the numbers the quote does not state.
    """

    counted: int
    unsaid: tuple[str, ...]
    names: tuple[str, ...]
    figures: frozenset[float]
    flipped: bool


def _against(text: str, said: str, quote: str) -> _Against:
    """Read a claim's own text (outside brackets) against its quote's sentences: content and polarity.

    Content is compared as sets of comparable words (each distinct word once), so that the work is a few set
    operations whatever the length; only the words the quote lacks are looked at one by one.
    """
    own_text = _unbracketed(text)
    if own_text.strip() in (said.strip(), quote.strip()):  # the usual case: the claim copies its quote
        return _Against(0, (), (), frozenset(), flipped=False)
    own = read_text(own_text)
    quoted = read_text(said)
    figures = own.numbers - quoted.numbers
    content = own.words - FRAME_WORDS - NUMBER_WORDS
    said_support = Support(quoted.words, quoted.numbers)
    lacking = {stem for stem in content - quoted.words if not said_support.has_word(stem)}  # endings: "Venezuelans"
    capitalised = {comparable_form(token) for token in own.tokens if token[0].isupper()} & lacking
    folded = own_text.casefold()
    in_order = sorted(lacking, key=folded.find)
    unsaid = [_show(number) for number in sorted(figures)] + [stem for stem in in_order if stem not in capitalised]
    names = tuple(
        token for token in dict.fromkeys(own.tokens) if token[0].isupper() and comparable_form(token) in capitalised
    )
    counted = len(own.numbers) + len(content) - len(capitalised)
    flipped = _polarity_flipped(own_text, said, quote, own.words)
    return _Against(counted, tuple(unsaid), names, frozenset(figures), flipped)


def _figures_from_elsewhere(figures: Set[float], cited: Sequence[int], support: Support) -> list[str]:
    """Return the figures (years aside) a claim states that another citable sentence states, not its quote.

    A model that needs a figure of another sentence of its chunk cites that sentence too; one that does not has
    pasted it. Years are left to the share of content words: a model may name the year "last year" means.
    """
    figures = {number for number in figures if not (number == int(number) and YEARS[0] <= number <= YEARS[1])}
    if not figures:
        return []  # the usual case: every figure is its quote's (or a year)
    others = [text for sentence_id, text in support.sentences.items() if sentence_id not in cited]
    found = [number for number in figures if any(number in read_text(text).numbers for text in others)]
    return [_show(number) for number in sorted(found)]


def _negations(text: str) -> int:
    """Return how many negations a text states: "not", "no", "never", "n't", "false", "untrue" and the like.

    "Not until" (only after) and "not only" (as well as) are no negation.
    """
    reading = read_text(text)
    if NEGATIONS.isdisjoint(reading.words) and "n't" not in text and "n’t" not in text:
        return 0  # the usual case: found with one set operation
    tokens = [token.casefold() for token in reading.tokens]
    return sum(
        1
        for index, token in enumerate(tokens)
        if (token in NEGATIONS or token.endswith(("n't", "n’t")))
        and not (index + 1 < len(tokens) and tokens[index + 1] in NOT_NEGATING)
    )


def _polarity_flipped(own: str, said: str, quote: str, words: Set[str]) -> bool:
    """Tell whether a claim negates what its quote says, or states what its quote negates.

    A negation the claim adds ("was not", "It is false that") is one its quote's sentences do not hold; a
    negation it removes is one in the quote whose negated word ("not *rise*") the claim states without one.
    """
    added = _negations(own)
    if added > _text_negations(said):
        return True
    if added >= _text_negations(quote):
        return False
    return any(negated in words for negated in _negated_words(quote))


@lru_cache(maxsize=TEXTS_REMEMBERED)
def _text_negations(text: str) -> int:
    """Return how many negations a text states (memoised: a sentence is the quote of several claims)."""
    return _negations(text)


def _negated_words(quote: str) -> list[str]:
    """Return the comparable form of the content word each negation of a quote bears on ("never *met*")."""
    tokens = read_text(quote).tokens
    negated: list[str] = []
    for index, token in enumerate(tokens):
        folded = token.casefold()
        idiom = index + 1 < len(tokens) and tokens[index + 1].casefold() in NOT_NEGATING
        if (folded in NEGATIONS or folded.endswith(("n't", "n’t"))) and not idiom:
            following = [
                comparable_form(word)
                for word in tokens[index + 1 : index + 4]
                if comparable_form(word) not in FRAME_WORDS
            ]
            negated += following[:1]
    return negated


def _show(number: float) -> str:
    """Write a number as a reader would: 15.2, 1324994, 2024."""
    return str(int(number)) if number == int(number) else str(number)


def check_faithfulness(
    claims: Sequence[GroundedClaim], support: Support, mode: FaithfulnessMode, chunk: int, *, names: bool = True
) -> tuple[list[GroundedClaim], list[Notice]]:
    """Keep the claims whose names and numbers the support holds; drop (or only warn about) the others.

    ``names`` false checks numbers only: claims translated into another language than the article's name
    people and places in that language's spelling or script ("Путин" as "Putin"), which no word of the
    article can confirm; their figures, read in every script and convention, still can.
    """
    if mode == "off":
        return list(claims), []
    kept: list[GroundedClaim] = []
    notices: list[Notice] = []
    for grounded in claims:
        fault = unfaithfulness(grounded, support, names=names)
        if fault and mode == "drop":
            notices.append(_notice(grounded, fault, chunk, "unfaithful_claim_dropped"))
            continue
        if fault:
            notices.append(_notice(grounded, fault, chunk, "unfaithful_claim_kept"))
        kept.append(grounded)
    return kept, notices


def unfaithfulness(grounded: GroundedClaim, support: Support, *, names: bool = True) -> str | None:
    """Say what makes a claim unfaithful to what it was shown and to its quote, or None when nothing does.

    ``names`` false (a claim translated into another language than its quote's): only its numbers are
    checked against what it was shown; its words cannot be compared with its quote's.
    """
    claim = grounded.claim
    missing = unsupported_terms(claim.text, claim.claimant, support, names=names)
    if missing:
        return f"names what the text it was shown does not support: {', '.join(repr(term) for term in missing)}"
    if not names:
        return None  # translated: content and polarity are in another language than the quote
    if claim.text == grounded.quote:
        return None  # a claim that copies its quote says what its quote says
    read = _remembered_against(claim.text, _said(grounded, support), grounded.quote)
    elsewhere = _figures_from_elsewhere(read.figures, grounded.sentence_ids, support)
    if elsewhere:
        return f"states a figure another sentence says, not its quote: {', '.join(repr(f) for f in elsewhere)}"
    unsupported = [name for name in read.names if not support.has_word(name)]
    counted, unsaid = read.counted + len(unsupported), [*read.unsaid, *unsupported]
    if counted and len(unsaid) > counted * (1 - CONTENT_FROM_QUOTE):
        return f"says what its quote does not: {', '.join(repr(word) for word in unsaid)}"
    if read.flipped:
        return "negates what its quote says, or states what its quote negates"
    return None


def _notice(grounded: GroundedClaim, fault: str, chunk: int, code: str) -> Notice:
    """Say which claim is unfaithful, and why."""
    return Notice(chunk=chunk, code=code, detail=f"claim {grounded.claim.text[:80]!r} {fault}")


_remembered_support = lru_cache(maxsize=CHUNKS_REMEMBERED)(_support)
_remembered_terms = lru_cache(maxsize=CLAIM_TEXTS_REMEMBERED)(_terms)
_remembered_against = lru_cache(maxsize=CLAIM_TEXTS_REMEMBERED)(_against)
_unbracketed = lru_cache(maxsize=CLAIM_TEXTS_REMEMBERED)(unbracketed)  # a claim's own words: read twice


def forget() -> None:
    """Drop every memoised reading (benchmarks measure a first reading with it; nothing else needs it)."""
    for memo in (_remembered_terms, _remembered_against, _text_negations, _unbracketed, _remembered_support):
        memo.cache_clear()
    forget_words()
