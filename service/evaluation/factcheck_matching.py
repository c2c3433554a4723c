"""Fact-check matching on the CLEF 2020 claim-retrieval tweets: MAP@5 of each way of ranking, and the threshold.

``python -m service.evaluation.factcheck_matching --data DIR [--split dev] [--cache DIR] [--lexical-only]``
indexes the 10,375 Snopes fact-checks in a ``FactCheckMatcher`` and ranks each tweet's candidates five
ways: BM25 alone, embeddings alone (cosine), both fused by reciprocal ranks (RRF, k=60, no re-rank), and the
re-ranker over lexical features alone (the default install) and over all features (with embeddings). It
prints MAP@5 and recall@30 of each, then the precision and recall of ``MATCH_THRESHOLD`` over the
re-ranked top fives. Embeddings come from the multilingual extra's offline encoder; ``--cache`` keeps them
(keyed by the texts' digest), so a second run embeds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schemas.factchecks import FactCheck
from service.evaluation.factcheck_data import ClaimMatchingData, Tweet, read_claim_matching
from service.evaluation.metrics import average_precision_at
from service.factchecks.embedders import Embedder, OfflineEmbedder
from service.factchecks.matching import MATCH_THRESHOLD, Candidates, FactCheckMatcher, passage_text
from service.factchecks.reranker import shipped_rerankers
from service.factchecks.text import clean_query
from service.multilingual.encoder import Vectors

K = 5
CACHE_BLOCK = 512
RRF_K = 60
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


def threshold_figures(scored: Sequence[Scored], rank: Ranker, threshold: float) -> dict[str, float]:
    """Return the precision and recall of the top-five matches scoring at least ``threshold``."""
    kept = found = 0
    relevant = sum(len(item.tweet.relevant) for item in scored)
    for item in scored:
        if item.candidates is None:
            continue
        scores = rank(item.candidates)
        for position in np.argsort(-scores, kind="stable")[:K]:
            if scores[position] >= threshold:
                kept += 1
                found += item.relevant[position]
    return {
        "threshold": threshold,
        "precision": found / kept if kept else 1.0,
        "recall": found / relevant if relevant else 0.0,
        "matches": kept,
    }


def threshold_sweep(scored: Sequence[Scored], rank: Ranker) -> list[dict[str, float]]:
    """Return the precision, recall and F1 of each threshold from 0.05 to 0.95 (``MATCH_THRESHOLD`` is one)."""
    sweep = []
    for step in range(1, 20):
        figures = threshold_figures(scored, rank, round(step * 0.05, 2))
        precision, recall = figures["precision"], figures["recall"]
        figures["f1"] = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
        figures["precision"], figures["recall"] = round(precision, 4), round(recall, 4)
        sweep.append(figures)
    return sweep


def recall_at_candidates(scored: Sequence[Scored]) -> float:
    """Return the share of relevant fact-checks that are among the candidates at all."""
    relevant = sum(len(item.tweet.relevant) for item in scored)
    return sum(sum(item.relevant) for item in scored) / relevant if relevant else 0.0


async def evaluate(
    data: ClaimMatchingData, split: str, *, cache: Path | None, lexical_only: bool, sweep: bool = False
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
    if sweep:
        report["threshold_sweep_lexical"] = threshold_sweep(
            lexical, rankers()["lexical + re-rank (default install)"][1]
        )
    report["threshold_lexical"] = threshold_figures(
        lexical, rankers()["lexical + re-rank (default install)"][1], MATCH_THRESHOLD
    )
    if hybrid is not None and models.hybrid is not None:
        report["candidate_recall"]["hybrid"] = round(recall_at_candidates(hybrid), 4)  # type: ignore[index]
        hybrid_rank = rankers()["hybrid + re-rank (multilingual extra)"][1]
        report["threshold_hybrid"] = threshold_figures(hybrid, hybrid_rank, MATCH_THRESHOLD)
        if sweep:
            report["threshold_sweep_hybrid"] = threshold_sweep(hybrid, hybrid_rank)
    return report


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
    parser.add_argument("--sweep", action="store_true", help="precision and recall of thresholds 0.05 to 0.95")
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
            data, arguments.split, cache=arguments.cache, lexical_only=arguments.lexical_only, sweep=arguments.sweep
        )
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
