"""What the re-ranker reads of a (query, fact-check) pair: lexical scores, cosines, shared words, figures, names.

Each feature is computed for the candidates of one query at once, as one row a candidate, in the order
``LEXICAL_FEATURES`` (then ``EMBEDDING_FEATURES`` when the query and the fact-checks have vectors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from service.factchecks.text import clean_query, common_words, names_in, numbers_in, stemmed_words
from service.factchecks.word_weights import weight_of, word_weight

Floats = npt.NDArray[np.float32]

LEXICAL_FEATURES = (
    "bm25_claim",
    "bm25_title",
    "bm25_relative",
    "bm25_reciprocal_rank",
    "fuzz_claim",
    "fuzz_title",
    "words_covered",
    "numbers_shared",
    "numbers_unmatched",
    "names_shared",
    "idf_claim_covered",
    "idf_query_covered",
    "bigrams_shared",
    "query_words",
)
EMBEDDING_FEATURES = ("cosine", "cosine_gap", "cosine_reciprocal_rank")
# What says whether a candidate is a match at all, whatever else the archive holds: nothing here is weighted by
# the archive's idf (words weigh their idf over a fixed corpus, ``word_weights.py``) nor compared with the
# other candidates, so a score means the same with 1 fact-check or 200,000.
MATCH_FEATURES = (
    "fuzz_claim",
    "fuzz_title",
    "query_covered",
    "claim_covered",
    "words_covered",
    "bigrams_shared",
    "numbers_shared",
    "numbers_unmatched",
    "query_numbers_unmatched",
    "names_shared",
    "query_words",
    "weight_query_covered",
    "weight_claim_covered",
    "weight_shared_rarest",
    "weight_both_covered",
)
MATCH_EMBEDDING_FEATURES = ("cosine",)
CONTENT_WORD_WEIGHT = 3.0  # a shared word below this weight (president 2.4, show 2.0) tells no match (call: 3.7)


@dataclass(frozen=True, slots=True)
class TextSigns:
    """A text's parts the features compare: its stemmed words, figures, names and lower-cased form."""

    words: tuple[str, ...]
    word_set: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    names: frozenset[str]
    lower: str
    common: frozenset[str]  # the stems of words written in lower case (not names)

    @classmethod
    def of(cls, text: str) -> TextSigns:
        """Read the signs of a text."""
        words = tuple(stemmed_words(text))
        bigrams = frozenset(pairwise(words))
        return cls(words, frozenset(words), bigrams, numbers_in(text), names_in(text), text.lower(), common_words(text))


@dataclass(frozen=True, slots=True)
class DocumentSigns:
    """A fact-check's signs: its claim's and its title's."""

    claim: TextSigns
    title: TextSigns

    @classmethod
    def of(cls, claim: str, title: str | None) -> DocumentSigns:
        """Read the signs of a fact-check's claim and title."""
        return cls(TextSigns.of(claim), TextSigns.of(title or ""))


def query_signs(query: str) -> TextSigns:
    """Read the signs of a search (a claim or a tweet), cleaned of links, handles and the tweet trailer."""
    return TextSigns.of(clean_query(query))


def reciprocal_ranks(scores: Floats) -> Floats:
    """Return 1 / (1 + rank) of each score among the given ones (the best is 1)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[order] = np.arange(len(scores), dtype=np.float32)
    return np.asarray(1.0 / (1.0 + ranks), dtype=np.float32)


def lexical_features(
    query: TextSigns,
    documents: Sequence[DocumentSigns],
    bm25_claim: Floats,
    bm25_title: Floats,
    best_bm25: float,
    idf: Mapping[str, float],
) -> Floats:
    """Return the lexical features of the candidates (one row each, ``LEXICAL_FEATURES`` order)."""
    combined = bm25_claim + bm25_title
    rows = np.zeros((len(documents), len(LEXICAL_FEATURES)), dtype=np.float32)
    rows[:, 0] = bm25_claim
    rows[:, 1] = bm25_title
    rows[:, 2] = combined / best_bm25 if best_bm25 > 0 else 0.0
    rows[:, 3] = reciprocal_ranks(combined)
    query_weight = sum(idf.get(word, 0.0) for word in query.word_set)
    for row, document in enumerate(documents):
        rows[row, 4:] = _pair_features(query, document, idf, query_weight)
    return rows


def _pair_features(
    query: TextSigns, document: DocumentSigns, idf: Mapping[str, float], query_weight: float
) -> list[float]:
    """Return the fuzzy, word, figure, name and phrase overlaps of one query and one fact-check."""
    claim, title = document.claim, document.title
    doc_words = claim.word_set | title.word_set
    doc_numbers = claim.numbers | title.numbers
    doc_names = claim.names | title.names
    shared_weight = sum(idf.get(word, 0.0) for word in query.word_set & claim.word_set)
    claim_weight = sum(idf.get(word, 0.0) for word in claim.word_set)
    doc_bigrams = claim.bigrams | title.bigrams
    return [
        fuzz.token_set_ratio(query.lower, claim.lower) / 100.0,
        fuzz.token_set_ratio(query.lower, title.lower) / 100.0 if title.lower else 0.0,
        len(query.word_set & doc_words) / len(doc_words) if doc_words else 0.0,
        float(len(query.numbers & doc_numbers)),
        float(len(doc_numbers - query.numbers)),
        len(query.names & doc_names) / len(doc_names) if doc_names else 0.0,
        shared_weight / claim_weight if claim_weight else 0.0,
        shared_weight / query_weight if query_weight else 0.0,
        len(query.bigrams & doc_bigrams) / len(doc_bigrams) if doc_bigrams else 0.0,
        float(np.log1p(len(query.word_set))),
    ]


def embedding_features(cosines: Floats, best_cosine: float) -> Floats:
    """Return the embedding features of the candidates (``EMBEDDING_FEATURES`` order)."""
    rows = np.zeros((len(cosines), len(EMBEDDING_FEATURES)), dtype=np.float32)
    rows[:, 0] = cosines
    rows[:, 1] = cosines - best_cosine
    rows[:, 2] = reciprocal_ranks(cosines)
    return rows


def match_features(query: TextSigns, documents: Sequence[DocumentSigns], cosines: Floats | None) -> Floats:
    """Return the archive-independent features of the candidates (``MATCH_FEATURES``, then the cosine if given)."""
    width = len(MATCH_FEATURES) + (0 if cosines is None else len(MATCH_EMBEDDING_FEATURES))
    rows = np.zeros((len(documents), width), dtype=np.float32)
    for row, document in enumerate(documents):
        rows[row, : len(MATCH_FEATURES)] = _absolute_pair_features(query, document)
    if cosines is not None:
        rows[:, len(MATCH_FEATURES)] = cosines
    return rows


def _absolute_pair_features(query: TextSigns, document: DocumentSigns) -> list[float]:
    """Return the overlaps of one query and one fact-check, each a share of the two texts alone."""
    claim, title = document.claim, document.title
    doc_words = claim.word_set | title.word_set
    doc_numbers = claim.numbers | title.numbers
    doc_names = claim.names | title.names
    doc_bigrams = claim.bigrams | title.bigrams
    shared = query.word_set & doc_words
    query_covered = weight_of(shared) / weight_of(query.word_set) if query.word_set else 0.0
    claim_covered = weight_of(query.word_set & claim.word_set) / weight_of(claim.word_set) if claim.word_set else 0.0
    return [
        fuzz.token_set_ratio(query.lower, claim.lower) / 100.0,
        fuzz.token_set_ratio(query.lower, title.lower) / 100.0 if title.lower else 0.0,
        len(shared) / len(query.word_set) if query.word_set else 0.0,
        len(query.word_set & claim.word_set) / len(claim.word_set) if claim.word_set else 0.0,
        len(shared) / len(doc_words) if doc_words else 0.0,
        len(query.bigrams & doc_bigrams) / len(doc_bigrams) if doc_bigrams else 0.0,
        float(len(query.numbers & doc_numbers)),
        float(len(doc_numbers - query.numbers)),
        float(len(query.numbers - doc_numbers)),
        len(query.names & doc_names) / len(doc_names) if doc_names else 0.0,
        float(np.log1p(len(query.word_set))),
        query_covered,
        claim_covered,
        max((word_weight(word) for word in shared), default=0.0),
        2 * query_covered * claim_covered / (query_covered + claim_covered) if query_covered + claim_covered else 0.0,
    ]


def content_words_shared(query: TextSigns, document: DocumentSigns) -> int:
    """Return how many telling words a query and a fact-check share that are not names alone.

    A shared word counts when the query or the fact-check's claim writes it in lower case somewhere ("Trump"
    and "Musk" are always capitalised: they do not; "crime" or "launch" do; a title, in title case, says
    nothing either way) and it weighs ``CONTENT_WORD_WEIGHT`` or more ("president" and "show" do not).
    """
    shared = (
        query.word_set & (document.claim.word_set | document.title.word_set) & (query.common | document.claim.common)
    )
    return sum(word_weight(word) >= CONTENT_WORD_WEIGHT for word in shared)
