"""Which fact-checks of the archive a claim repeats: lexical and embedding retrieval, fused by a re-ranker.

For each query the candidates are the ``CANDIDATES`` best by BM25 (bm25s, over the reviewed claim and,
separately, the title) and, when there are vectors, the ``CANDIDATES`` nearest by cosine. A logistic
re-ranker (``reranker.py``) orders the candidates from their features (``features.py``); the best ``limit``
are then scored by the match model, from features that do not depend on the archive (no idf, no comparison
with the other candidates), so ``MATCH_THRESHOLD`` means the same whatever the query and the archive's size.

The lexical index is rebuilt (from the words kept for each fact-check, never re-read) on the first search
after a change. Scoring runs on the CPU thread (``service.steps.cpu``); ``upsert`` is synchronous CPU work
(it reads each fact-check's words): an async caller with many fact-checks runs it there too.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from schemas.factchecks import FactCheck, FactCheckMatch
from service.errors import UpstreamError
from service.factchecks.embedders import Embedder
from service.factchecks.features import (
    DocumentSigns,
    Floats,
    TextSigns,
    content_words_shared,
    embedding_features,
    lexical_features,
    match_features,
    query_signs,
)
from service.factchecks.reranker import LogisticModel, shipped_rerankers
from service.factchecks.text import clean_query, stemmed_words
from service.multilingual.encoder import Vectors
from service.steps.cpu import on_the_cpu_thread

logger = logging.getLogger("claims.factchecks")
CANDIDATES = 30  # from each retriever; recall@30 of BM25 on the dev tweets is far above its MAP@5
BM25_K1, BM25_B = 0.9, 0.4  # chosen on the train tweets: MAP@5 0.815 with bm25s' 1.5/0.75, 0.822 with these
SIGNS_KEPT = 20_000  # fact-checks whose re-ranking signs stay cached (~6 KB each), across matchers
MATCH_THRESHOLD = 0.5  # the match model's probability; chosen on train (F0.5), dev figures in docs/factchecks.md
# A fact-check sharing fewer than MIN_CONTENT_WORDS telling words with the claim beyond names ("Trump", "Musk":
# ``content_words_shared``) scores NAMES_ONLY_PENALTY less, so it needs 0.65 where others need 0.5; with
# embeddings, only when its cosine is below NAMES_ONLY_COSINE too (a translated claim shares names alone).
# Chosen on the train tweets (F0.5 kept) and news sentences (docs/factchecks.md, Matching, step 5).
MIN_CONTENT_WORDS, NAMES_ONLY_PENALTY, NAMES_ONLY_COSINE = 2, 0.15, 0.85


def passage_text(fact_check: FactCheck) -> str:
    """Return the text of a fact-check that is embedded: its reviewed claim, then its title."""
    return fact_check.claim_reviewed if not fact_check.title else f"{fact_check.claim_reviewed} {fact_check.title}"


def primary_language(tag: str | None) -> str | None:
    """Return a BCP 47 tag's primary language, lower-cased ("en-US" → "en"), or None."""
    return tag.split("-")[0].strip().lower() or None if tag else None


@dataclass(frozen=True, slots=True, eq=False)
class _Document:
    """A fact-check as the matcher keeps it: the record, its stemmed words (to index) and its language.

    The rest of what the re-ranker reads (``DocumentSigns``) is read when the fact-check is a candidate, and
    kept in a bounded cache: at 200,000 fact-checks, keeping it for all would cost more than a gigabyte.
    """

    fact_check: FactCheck
    claim_words: tuple[str, ...]
    title_words: tuple[str, ...]
    language: str | None

    @classmethod
    def of(cls, fact_check: FactCheck) -> _Document:
        """Read a fact-check's words and language."""
        return cls(
            fact_check,
            tuple(sys.intern(word) for word in stemmed_words(fact_check.claim_reviewed)),
            tuple(sys.intern(word) for word in stemmed_words(fact_check.title or "")),
            primary_language(fact_check.language),
        )


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The searchable state at one moment: documents by slot, their BM25 indexes and vectors."""

    documents: list[_Document | None]
    claim_index: bm25s.BM25 | None
    title_index: bm25s.BM25 | None
    vectors: Vectors | None
    alive: npt.NDArray[np.bool_]
    languages: npt.NDArray[np.str_]
    idf: dict[str, float]


class FactCheckMatcher:
    """An in-memory index of fact-checks, searched by claim; the archive feeds it and keeps its vectors."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder
        self._slots: dict[str, int] = {}
        self._documents: list[_Document | None] = []
        self._free: list[int] = []
        self._vectors: Vectors | None = None
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._version = 0  # counts changes, so that a snapshot built during one is not kept
        self._build_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder | None:
        """Return the embedder the matcher compares vectors with (None: lexical only)."""
        return self._embedder

    def __len__(self) -> int:
        return len(self._slots)

    async def vectors_for(self, fact_checks: Sequence[FactCheck]) -> Vectors | None:
        """Return the fact-checks' vectors (one row each), or None without an embedder."""
        if self._embedder is None:
            return None
        return await self._embedder.passages([passage_text(fact_check) for fact_check in fact_checks])

    def upsert(self, fact_checks: Sequence[FactCheck], vectors: Vectors | None = None) -> None:
        """Add or replace fact-checks (by url), with their vectors when the matcher has an embedder."""
        if vectors is not None and len(vectors) != len(fact_checks):
            raise ValueError(f"{len(vectors)} vectors for {len(fact_checks)} fact-checks")
        documents = [_Document.of(item) for item in fact_checks]
        with self._lock:
            for row, document in enumerate(documents):
                slot = self._slot_for(document.fact_check.url)
                self._documents[slot] = document
                self._store_vector(slot, None if vectors is None else vectors[row])
            self._snapshot = None
            self._version += 1

    def remove(self, url: str) -> bool:
        """Forget the fact-check at ``url``; say whether it was there."""
        with self._lock:
            slot = self._slots.pop(url, None)
            if slot is None:
                return False
            self._documents[slot] = None
            self._free.append(slot)
            self._store_vector(slot, None)
            self._snapshot = None
            self._version += 1
            return True

    async def search(self, query: str, *, limit: int = 5, language: str | None = None) -> list[FactCheckMatch]:
        """Return the fact-checks that best match ``query``, best first, at most ``limit``."""
        return (await self._search_all([query], limit=limit, language=language))[0]

    async def search_many(self, queries: Sequence[str], *, limit: int = 5) -> list[list[FactCheckMatch]]:
        """Return the matches of each query (a whole article's claims at once: one embedding call)."""
        return await self._search_all(queries, limit=limit, language=None)

    async def _search_all(
        self, queries: Sequence[str], *, limit: int, language: str | None
    ) -> list[list[FactCheckMatch]]:
        if not queries:
            return []
        if not self._slots or limit < 1:
            return [[] for _ in queries]
        query_vectors = await self._query_vectors(queries)
        wanted = primary_language(language)
        return await on_the_cpu_thread(lambda: self._rank_all(queries, query_vectors, limit, wanted))

    async def _query_vectors(self, queries: Sequence[str]) -> Vectors | None:
        """Embed the queries; None without vectors, or when the embedding model fails (the search is lexical)."""
        if self._embedder is None or self._vectors is None:
            return None
        try:
            return await self._embedder.queries([clean_query(query) for query in queries])
        except UpstreamError as exc:
            logger.warning("fact-check search without embeddings (lexical): %s", exc.detail)
            return None

    def _rank_all(
        self, queries: Sequence[str], query_vectors: Vectors | None, limit: int, language: str | None
    ) -> list[list[FactCheckMatch]]:
        snapshot = self._current_snapshot()
        return [
            _rank(snapshot, query_signs(query), None if query_vectors is None else query_vectors[row], limit, language)
            for row, query in enumerate(queries)
        ]

    def _slot_for(self, url: str) -> int:
        slot = self._slots.get(url)
        if slot is None:
            slot = self._free.pop() if self._free else len(self._documents)
            if slot == len(self._documents):
                self._documents.append(None)
            self._slots[url] = slot
        return slot

    def _store_vector(self, slot: int, vector: Floats | None) -> None:
        if self._vectors is None:
            if vector is None:
                return
            self._vectors = np.zeros((max(1024, len(self._documents)), len(vector)), dtype=np.float32)
        if slot >= len(self._vectors):
            grown = np.zeros((max(slot + 1, 2 * len(self._vectors)), self._vectors.shape[1]), dtype=np.float32)
            grown[: len(self._vectors)] = self._vectors
            self._vectors = grown
        self._vectors[slot] = 0.0 if vector is None else vector

    def candidates(self, query: str, vector: Floats | None = None) -> Candidates | None:
        """Return one query's candidates with their scores and features (for evaluation and training)."""
        return candidates_in(self._current_snapshot(), query_signs(query), vector, None)

    def url_at(self, slot: int) -> str:
        """Return the url of the fact-check in a candidate's slot."""
        return _alive(self._current_snapshot().documents[slot]).fact_check.url

    def _current_snapshot(self) -> _Snapshot:
        """Return the searchable state, rebuilding it after a change; upserts never wait for a rebuild."""
        with self._build_lock:  # one rebuild at a time; searches meanwhile wait for it, upserts do not
            with self._lock:
                if self._snapshot is not None:
                    return self._snapshot
                version = self._version
                documents = list(self._documents)
                vectors = None if self._vectors is None else self._vectors[: len(documents)]
            snapshot = _build_snapshot(documents, vectors)
            with self._lock:
                if self._version == version:
                    self._snapshot = snapshot
            return snapshot


def _build_snapshot(documents: list[_Document | None], vectors: Vectors | None) -> _Snapshot:
    """Index the documents (BM25 of claims and of titles, idf, languages) beside their vectors."""
    alive = np.asarray([document is not None for document in documents], dtype=bool)
    languages = np.asarray([(document and document.language) or "" for document in documents], dtype=str)
    return _Snapshot(
        documents,
        _bm25([[] if document is None else list(document.claim_words) for document in documents]),
        _bm25([[] if document is None else list(document.title_words) for document in documents]),
        vectors,
        alive,
        languages,
        _inverse_document_frequencies([document for document in documents if document is not None]),
    )


def _inverse_document_frequencies(documents: Sequence[_Document]) -> dict[str, float]:
    """Return each claim word's inverse document frequency, log(1 + N / df), over the live fact-checks."""
    counts = Counter(word for document in documents for word in set(document.claim_words))
    total = len(documents)
    return {word: math.log1p(total / count) for word, count in counts.items()}


def _bm25(corpus: list[list[str]]) -> bm25s.BM25 | None:
    """Return a BM25 index of the token lists (an empty list stands for a removed or title-less fact-check).

    None when no list has a word (only title-less fact-checks, say): bm25s cannot index an empty vocabulary.
    """
    if not any(corpus):
        return None
    index = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    index.index(corpus, show_progress=False)
    return index


def _bm25_scores(index: bm25s.BM25 | None, words: Sequence[str], size: int) -> Floats:
    """Return each slot's BM25 score for the words (zeros without an index or a known word)."""
    ids = [] if index is None else index.get_tokens_ids(list(words))
    if index is None or not ids:
        return np.zeros(size, dtype=np.float32)
    return np.asarray(index.get_scores_from_ids(ids), dtype=np.float32)


def _top(scores: Floats, allowed: npt.NDArray[np.bool_], count: int) -> npt.NDArray[np.int64]:
    """Return the positions of the ``count`` best scores among the allowed positions."""
    masked = np.where(allowed, scores, -np.inf)
    count = min(count, int(allowed.sum()))
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-masked, count - 1)[:count]
    return best[np.isfinite(masked[best])]


@dataclass(frozen=True, slots=True)
class Candidates:
    """One query's candidates: their slots, lexical and cosine scores, the re-ranker's feature rows, their signs."""

    slots: npt.NDArray[np.int64]
    lexical: Floats
    cosines: Floats | None
    features: Floats
    query: TextSigns
    signs: list[DocumentSigns]

    def match_rows(self, positions: npt.NDArray[np.int64]) -> Floats:
        """Return the match model's features of the candidates at ``positions`` (with the cosine when known)."""
        cosines = None if self.cosines is None else self.cosines[positions]
        return match_features(self.query, [self.signs[position] for position in positions], cosines)

    def match_scores(self, model: LogisticModel, positions: npt.NDArray[np.int64]) -> Floats:
        """Return the scores of the candidates at ``positions``, by the match model.

        A candidate sharing under ``MIN_CONTENT_WORDS`` telling words beyond names (and, with cosines, whose
        cosine is under ``NAMES_ONLY_COSINE``) scores ``NAMES_ONLY_PENALTY`` less (never below 0).
        """
        scores = model.probabilities(self.match_rows(positions))
        thin = np.asarray(
            [content_words_shared(self.query, self.signs[position]) < MIN_CONTENT_WORDS for position in positions],
            dtype=bool,
        )
        if self.cosines is not None:
            thin &= self.cosines[positions] < NAMES_ONLY_COSINE
        return np.asarray(np.clip(scores - NAMES_ONLY_PENALTY * thin, 0.0, 1.0), dtype=np.float32)


def candidates_in(
    snapshot: _Snapshot, query: TextSigns, vector: Floats | None, language: str | None
) -> Candidates | None:
    """Return the union of the best lexical and the nearest fact-checks for one query, with their features."""
    size = len(snapshot.documents)
    allowed = snapshot.alive
    if language is not None:
        allowed = allowed & (snapshot.languages == language)
    claim = _bm25_scores(snapshot.claim_index, query.words, size)
    title = _bm25_scores(snapshot.title_index, query.words, size)
    lexical = claim + title
    chosen = set(_top(np.where(lexical > 0, lexical, -np.inf), allowed, CANDIDATES).tolist())
    cosines = None
    if vector is not None and snapshot.vectors is not None and len(vector) == snapshot.vectors.shape[1]:
        cosines = snapshot.vectors @ vector
        chosen |= set(_top(cosines, allowed, CANDIDATES).tolist())
    if not chosen:
        return None
    slots = np.asarray(sorted(chosen), dtype=np.int64)
    signs = [_signs_of(_alive(snapshot.documents[slot])) for slot in slots]
    rows = lexical_features(query, signs, claim[slots], title[slots], float(lexical[allowed].max()), snapshot.idf)
    if cosines is not None:
        rows = np.hstack([rows, embedding_features(cosines[slots], float(cosines[allowed].max()))])
    return Candidates(slots, lexical[slots], None if cosines is None else cosines[slots], rows, query, signs)


_SIGNS: LRUCache[_Document, DocumentSigns] = LRUCache(maxsize=SIGNS_KEPT)
_SIGNS_LOCK = threading.Lock()


def _signs_of(document: _Document) -> DocumentSigns:
    """Return what the re-ranker reads of a fact-check, from the cache or read now."""
    with _SIGNS_LOCK:
        signs = _SIGNS.get(document)
    if signs is None:
        signs = DocumentSigns.of(document.fact_check.claim_reviewed, document.fact_check.title)
        with _SIGNS_LOCK:
            _SIGNS[document] = signs
    return signs


def _alive(document: _Document | None) -> _Document:
    """Return the document of a slot a search chose (only live slots are ever chosen)."""
    if document is None:
        raise LookupError("a removed fact-check was chosen as a candidate")
    return document


def _rank(
    snapshot: _Snapshot, query: TextSigns, vector: Floats | None, limit: int, language: str | None
) -> list[FactCheckMatch]:
    """Return the best matches of one query in the snapshot: ordered by the re-ranker, scored by the match model."""
    models = shipped_rerankers()
    hybrid = (models.hybrid, models.match_hybrid)
    with_vectors = vector is not None and hybrid[0] is not None and hybrid[1] is not None
    found = candidates_in(snapshot, query, vector if with_vectors else None, language)
    if found is None:
        return []
    ranker, scorer = (models.lexical, models.match_lexical)
    if found.cosines is not None and hybrid[0] is not None and hybrid[1] is not None:
        ranker, scorer = hybrid[0], hybrid[1]
    order = np.argsort(-ranker.probabilities(found.features), kind="stable")[:limit]
    scores = found.match_scores(scorer, order)
    return [
        FactCheckMatch(
            **_alive(snapshot.documents[found.slots[position]]).fact_check.model_dump(),
            score=round(float(score), 4),
        )
        for position, score in zip(order, scores, strict=True)
    ]
