"""Fact-check matching on the CLEF 2020 claim-retrieval tweets: MAP@5 of each way of ranking, and the threshold.

``python -m service.evaluation.factcheck_matching --data DIR [--split dev] [--cache DIR] [--lexical-only]``
indexes the 10,375 Snopes fact-checks in a ``FactCheckMatcher`` and ranks each tweet's candidates five
ways: BM25 alone, embeddings alone (cosine), both fused by reciprocal ranks (RRF, k=60, no re-rank), and the
re-ranker over lexical features alone (the default install) and over all features (with embeddings). It
prints MAP@5 and recall@30 of each, then the precision and recall of "checked before" on positives and
negatives: each tweet's gold fact-check, and its impostor (its first match once the gold is set aside, as if
never archived), scored by the match model at ``MATCH_THRESHOLD`` and, as before it, by the re-ranker's
probability at 0.6 (``--sweep``: thresholds 0.1 to 0.9). ``--news FILE...``: how many sentences of those
texts (or golden cases), which repeat no fact-check, are marked "checked before". Embeddings come from
the multilingual extra's offline encoder; ``--cache`` keeps them (keyed by the texts' digest), so a second
run embeds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from schemas.factchecks import FactCheck
from service.evaluation.factcheck_data import ClaimMatchingData, Tweet, read_claim_matching
from service.evaluation.metrics import average_precision_at
from service.factchecks.embedders import Embedder, OfflineEmbedder
from service.factchecks.features import LEXICAL_FEATURES, embedding_features, reciprocal_ranks
from service.factchecks.matching import MATCH_THRESHOLD, Candidates, FactCheckMatcher, passage_text
from service.factchecks.reranker import LogisticModel, shipped_rerankers
from service.factchecks.text import clean_query
from service.multilingual.encoder import Vectors

K = 5
CACHE_BLOCK = 512
RRF_K = 60
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_SENTENCE_WORDS = 6
PREVIOUS_THRESHOLD = 0.6  # the re-ranker's probability, the score "checked before" was marked by until the match model
Ranker = Callable[[Candidates], "np.typing.NDArray[np.float32]"]


async def cached_vectors(embedder: Embedder, texts: Sequence[str], kind: str, cache: Path | None) -> Vectors:
    """Embed texts as queries or passages, a block of ``CACHE_BLOCK`` at a time, each block kept in ``cache``."""
    blocks = [
        await _cached_block(embedder, texts[start : start + CACHE_BLOCK], kind, cache)
        for start in range(0, len(texts), CACHE_BLOCK)
    ]
    return np.vstack(blocks)


async def _cached_block(embedder: Embedder, texts: Sequence[str], kind: str, cache: Path | None) -> Vectors:
    """Embed one block, read from or written to ``cache`` (keyed by the model, the kind and the texts)."""
    digest = hashlib.sha256("\n".join([embedder.name, kind, *texts]).encode()).hexdigest()[:16]
    path = None if cache is None else cache / f"vectors-{kind}-{digest}.npy"
    if path is not None and path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    vectors = await (embedder.queries(texts) if kind == "query" else embedder.passages(texts))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


@dataclass(frozen=True, slots=True)
class Scored:
    """One tweet's candidates and what is relevant among them."""

    tweet: Tweet
    candidates: Candidates | None
    relevant: list[bool]


def reciprocal_rank_fusion(candidates: Candidates) -> np.typing.NDArray[np.float32]:
    """Return each candidate's RRF score over its lexical and cosine ranks among the candidates."""
    total = np.zeros(len(candidates.slots), dtype=np.float32)
    for scores in (candidates.lexical, candidates.cosines):
        if scores is not None:
            ranks = np.empty(len(scores), dtype=np.float32)
            ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
            total += 1.0 / (RRF_K + ranks)
    return total


def rankers() -> dict[str, tuple[bool, Ranker]]:
    """Return the ways of ranking, each with whether it needs the embeddings."""
    models = shipped_rerankers()
    ways: dict[str, tuple[bool, Ranker]] = {
        "lexical (BM25)": (False, lambda found: found.lexical),
        "embeddings (cosine)": (True, lambda found: found.cosines if found.cosines is not None else found.lexical),
        "hybrid (RRF, no re-rank)": (True, reciprocal_rank_fusion),
        "lexical + re-rank (default install)": (False, lambda found: models.lexical.probabilities(found.features)),
    }
    if models.hybrid is not None:
        hybrid = models.hybrid
        ways["hybrid + re-rank (multilingual extra)"] = (True, lambda found: hybrid.probabilities(found.features))
    return ways


def map_at_5(matcher: FactCheckMatcher, scored: Sequence[Scored], rank: Ranker) -> tuple[float, list[float]]:
    """Return MAP@5 of a ranker, and the top-five scores paired with relevance (for the threshold)."""
    total = 0.0
    for item in scored:
        if item.candidates is None:
            continue
        scores = rank(item.candidates)
        order = np.argsort(-scores, kind="stable")[:K]
        hits = [item.relevant[position] for position in order]
        total += average_precision_at(hits, len(item.tweet.relevant), K)
    return total / len(scored), []


def score_tweets(matcher: FactCheckMatcher, tweets: Sequence[Tweet], vectors: Vectors | None) -> list[Scored]:
    """Return each tweet's candidates (with vectors when given) and their relevance."""
    scored = []
    for row, tweet in enumerate(tweets):
        found = matcher.candidates(tweet.text, None if vectors is None else vectors[row])
        relevant = [] if found is None else [matcher.url_at(int(slot)) in tweet.relevant for slot in found.slots]
        scored.append(Scored(tweet, found, relevant))
    return scored


Scorer = Callable[[Candidates, "np.typing.NDArray[np.int64]"], "np.typing.NDArray[np.float32]"]


def reranker_scorer(model: LogisticModel) -> Scorer:
    """Score candidates by a re-ranker's probability (how ``fact_checks`` were scored before the match model)."""
    return lambda found, positions: model.probabilities(found.features)[positions]


def match_scorer(model: LogisticModel) -> Scorer:
    """Score candidates by a match model's probability (what ``fact_checks`` are scored by)."""
    return lambda found, positions: found.match_scores(model, positions)


def set_aside(found: Candidates, positions: Sequence[int]) -> Candidates:
    """Return the candidates without those at ``positions``, their relative features (best BM25, ranks) redone.

    This is what the search would have found had those fact-checks never been archived (but for the next
    candidate that would have entered, and the idf: both shift little among 10,000 fact-checks).
    """
    kept = np.asarray(
        [position for position in range(len(found.slots)) if position not in set(positions)], dtype=np.int64
    )
    lexical = found.lexical[kept]
    rows = found.features[kept].copy()
    best = float(lexical.max()) if len(lexical) else 0.0
    rows[:, LEXICAL_FEATURES.index("bm25_relative")] = lexical / best if best > 0 else 0.0
    rows[:, LEXICAL_FEATURES.index("bm25_reciprocal_rank")] = reciprocal_ranks(lexical)
    cosines = None if found.cosines is None else found.cosines[kept]
    if cosines is not None and rows.shape[1] > len(LEXICAL_FEATURES):
        rows[:, len(LEXICAL_FEATURES) :] = embedding_features(cosines, float(cosines.max()) if len(cosines) else 0.0)
    return Candidates(
        found.slots[kept], lexical, cosines, rows, found.query, [found.signs[position] for position in kept]
    )


def gold_and_impostor(item: Scored, order_by: Ranker) -> tuple[list[int], tuple[Candidates, int] | None]:
    """Return a tweet's gold candidates, and its impostor: the first match were the gold never archived.

    The impostor is the best candidate by ``order_by`` once the gold is set aside (``set_aside``), returned
    with the candidates it was chosen among (the position is in those).
    """
    if item.candidates is None:
        return [], None
    gold = [position for position, relevant in enumerate(item.relevant) if relevant]
    others = set_aside(item.candidates, gold)
    if not len(others.slots):
        return gold, None
    return gold, (others, int(np.argmax(order_by(others))))


def positives_and_negatives(
    scored: Sequence[Scored], order_by: Ranker, score_by: Scorer
) -> tuple[list[float], list[float]]:
    """Return each tweet's gold score (0 when the gold is not a candidate) and its impostor's score."""
    positives, negatives = [], []
    for item in scored:
        gold, impostor = gold_and_impostor(item, order_by)
        found = item.candidates
        positives.append(0.0 if found is None or not gold else float(score_by(found, np.asarray(gold)).max()))
        if impostor is not None:
            others, position = impostor
            negatives.append(float(score_by(others, np.asarray([position]))[0]))
    return positives, negatives


def checked_before_figures(
    positives: Sequence[float], negatives: Sequence[float], threshold: float
) -> dict[str, float]:
    """Return the precision and recall of "checked before" (a score at or above ``threshold``) on both kinds."""
    true = sum(score >= threshold for score in positives)
    false = sum(score >= threshold for score in negatives)
    return {
        "threshold": threshold,
        "positives": len(positives),
        "negatives": len(negatives),
        "precision": round(true / (true + false), 4) if true + false else 1.0,
        "recall": round(true / len(positives), 4) if positives else 0.0,
        "negatives_marked": round(false / len(negatives), 4) if negatives else 0.0,
    }


def recall_at_candidates(scored: Sequence[Scored]) -> float:
    """Return the share of relevant fact-checks that are among the candidates at all."""
    relevant = sum(len(item.tweet.relevant) for item in scored)
    return sum(sum(item.relevant) for item in scored) / relevant if relevant else 0.0


async def evaluate(
    data: ClaimMatchingData,
    split: str,
    *,
    cache: Path | None,
    lexical_only: bool,
    sweep: bool = False,
    sentences: Sequence[str] = (),
) -> dict[str, object]:
    """Return MAP@5 of each ranking on ``split``, the candidates' recall and the threshold's figures."""
    embedder = None if lexical_only else OfflineEmbedder.installed()
    matcher = FactCheckMatcher(embedder)
    tweets = data.tweets[split]
    passages = queries = None
    if embedder is not None:
        passages = await cached_vectors(embedder, [passage_text(item) for item in data.fact_checks], "passage", cache)
        queries = await cached_vectors(embedder, [clean_query(tweet.text) for tweet in tweets], "query", cache)
    matcher.upsert(data.fact_checks, passages)
    lexical = score_tweets(matcher, tweets, None)
    hybrid = score_tweets(matcher, tweets, queries) if queries is not None else None
    report: dict[str, object] = {"split": split, "tweets": len(tweets), "fact_checks": len(matcher)}
    maps: dict[str, float] = {}
    for name, (needs_vectors, rank) in rankers().items():
        if needs_vectors and hybrid is None:
            continue
        maps[name] = round(map_at_5(matcher, hybrid if needs_vectors else lexical, rank)[0], 4)  # type: ignore[arg-type]
    report["map_at_5"] = maps
    report["candidate_recall"] = {"lexical": round(recall_at_candidates(lexical), 4)}
    models = shipped_rerankers()
    report["checked_before_lexical"] = checked_before_report(lexical, models.lexical, models.match_lexical, sweep)
    if hybrid is not None and models.hybrid is not None and models.match_hybrid is not None:
        report["candidate_recall"]["hybrid"] = round(recall_at_candidates(hybrid), 4)  # type: ignore[index]
        report["checked_before_hybrid"] = checked_before_report(hybrid, models.hybrid, models.match_hybrid, sweep)
    if sentences:
        report["news_sentences"] = await news_sentences_marked(matcher, sentences)
    return report


def checked_before_report(
    scored: Sequence[Scored], ranker: LogisticModel, matcher: LogisticModel, sweep: bool
) -> dict[str, object]:
    """Return "checked before"'s precision and recall on the tweets' golds and impostors, now and before.

    Now: by the match model at ``MATCH_THRESHOLD``; before: by the re-ranker's probability at 0.6.
    """
    order_by: Ranker = lambda found: ranker.probabilities(found.features)  # noqa: E731
    now = positives_and_negatives(scored, order_by, match_scorer(matcher))
    before = positives_and_negatives(scored, order_by, reranker_scorer(ranker))
    report: dict[str, object] = {
        "match_model": checked_before_figures(*now, MATCH_THRESHOLD),
        "reranker_before": checked_before_figures(*before, PREVIOUS_THRESHOLD),
    }
    if sweep:
        report["match_model_sweep"] = [checked_before_figures(*now, round(step * 0.05, 2)) for step in range(2, 19)]
    return report


async def news_sentences_marked(matcher: FactCheckMatcher, sentences: Sequence[str]) -> dict[str, object]:
    """Return how many news sentences (which repeat no fact-check of the archive) are marked "checked before"."""
    found = await matcher.search_many(sentences, limit=1)
    marked = [
        {"sentence": sentence, "fact_check": matches[0].claim_reviewed, "score": matches[0].score}
        for sentence, matches in zip(sentences, found, strict=True)
        if matches and matches[0].score >= MATCH_THRESHOLD
    ]
    return {"sentences": len(sentences), "marked": len(marked), "examples": marked[:10]}


def sentences_of(paths: Sequence[Path]) -> list[str]:
    """Return the sentences of text files (and of golden cases' ``text``) of six words or more."""
    sentences: list[str] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix in {".yaml", ".yml"}:
            text = str(yaml.safe_load(text).get("text", ""))
        sentences.extend(part.strip() for part in SENTENCE_END.split(text) if len(part.split()) >= MIN_SENTENCE_WORDS)
    return sentences


async def evaluate_cross_language(
    data: ClaimMatchingData, spec: dict[str, Any], *, cache: Path | None
) -> dict[str, object]:
    """Return, per language, how often a claim in it finds the English review of the same claim.

    The ten English reviews of ``spec`` (a pairs file's content) are searched among all the CLEF fact-checks
    (10,375 distractors) with the offline encoder: top-1 accuracy, MAP@5, first matches above the threshold.
    """
    embedder = OfflineEmbedder.installed()
    if embedder is None:
        return {"error": "the multilingual extra is not installed"}
    english = [FactCheck.model_validate(item) for item in spec["fact_checks"]]
    matcher = FactCheckMatcher(embedder)
    passages = await cached_vectors(embedder, [passage_text(item) for item in data.fact_checks], "passage", cache)
    matcher.upsert(data.fact_checks, passages)
    matcher.upsert(english, await matcher.vectors_for(english))
    report: dict[str, object] = {"distractors": len(data.fact_checks), "threshold": MATCH_THRESHOLD}
    for language, claims in spec["claims"].items():
        found = await matcher.search_many(claims, limit=K)
        hits = [[match.url == english[row].url for match in matches] for row, matches in enumerate(found)]
        report[language] = {
            "claims": len(claims),
            "top1": sum(bool(row and row[0]) for row in hits) / len(claims),
            "map_at_5": round(sum(average_precision_at(row, 1, K) for row in hits) / len(claims), 4),
            "top1_above_threshold": sum(
                bool(matches and hit and hit[0] and matches[0].score >= MATCH_THRESHOLD)
                for matches, hit in zip(found, hits, strict=True)
            )
            / len(claims),
        }
    return report


def main(argv: Sequence[str] | None = None) -> None:
    """Print the evaluation of fact-check matching as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/claim-matching-clef2020"))
    parser.add_argument("--split", choices=("train", "dev"), default="dev")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--lexical-only", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="precision and recall of thresholds 0.1 to 0.9")
    parser.add_argument(
        "--news", type=Path, nargs="*", default=(), help="texts (or golden cases) whose sentences repeat no fact-check"
    )
    parser.add_argument("--cross-language", type=Path, default=None, help="a pairs file: claims in other languages")
    arguments = parser.parse_args(argv)
    data = read_claim_matching(arguments.data)
    if arguments.cross_language is not None:
        print(
            json.dumps(
                asyncio.run(
                    evaluate_cross_language(
                        data, json.loads(arguments.cross_language.read_text()), cache=arguments.cache
                    )
                ),
                indent=2,
            )
        )
        return
    report = asyncio.run(
        evaluate(
            data,
            arguments.split,
            cache=arguments.cache,
            lexical_only=arguments.lexical_only,
            sweep=arguments.sweep,
            sentences=sentences_of(arguments.news),
        )
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
