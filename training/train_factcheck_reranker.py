r"""Train the fact-check re-ranker: logistic regression over candidate features, on the CLEF 2020 train tweets.

Needs the ``train`` extra (scikit-learn) and, for the hybrid model, the multilingual extra; the service
scores with numpy from the JSON this writes::

    OMP_NUM_THREADS=1 python training/train_factcheck_reranker.py \
        --data /work/shared/data/claim-matching-clef2020 --cache /work/cache/i23-matching \
        --out service/factchecks/reranker.json

Each train tweet's candidates (the matcher's own: the best 30 by BM25 and the nearest 30 by cosine) are
the rows, labelled 1 when the qrels pair the tweet with that fact-check. Two models are fitted: on the lexical
features alone (what a default install, without embeddings, scores with) and on all of them. The inverse
penalty ``C`` is chosen by MAP@5 in 5-fold cross-validation over train tweets (never on dev). Classes are
not re-weighted, so the output stays a probability (the threshold is calibrated on dev by the evaluation).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from service.evaluation.factcheck_data import read_claim_matching
from service.evaluation.factcheck_matching import cached_vectors, score_tweets
from service.evaluation.metrics import average_precision_at
from service.factchecks.embedders import OfflineEmbedder
from service.factchecks.features import EMBEDDING_FEATURES, LEXICAL_FEATURES
from service.factchecks.matching import FactCheckMatcher, passage_text
from service.factchecks.text import clean_query

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def table(scored: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Return the feature rows, labels, tweet group of each row, and each tweet's relevant count."""
    rows, labels, groups, relevant = [], [], [], []
    for group, item in enumerate(scored):
        relevant.append(len(item.tweet.relevant))
        if item.candidates is None:
            continue
        rows.append(item.candidates.features)
        labels.extend(item.relevant)
        groups.extend([group] * len(item.relevant))
    return np.vstack(rows), np.asarray(labels, dtype=int), np.asarray(groups), relevant


def map_at_5(
    scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, relevant: list[int], tweets: list[int]
) -> float:
    """Return MAP@5 of scores over the given tweets."""
    total = 0.0
    for group in tweets:
        mask = groups == group
        order = np.argsort(-scores[mask], kind="stable")[:5]
        total += average_precision_at(list(labels[mask][order].astype(bool)), relevant[group], 5)
    return total / len(tweets)


def fit(rows: np.ndarray, labels: np.ndarray, c: float) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    """Fit a standardised logistic regression; return it with the mean and scale."""
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((rows - mean) / scale, labels)
    return model, mean, scale


def choose_c(rows: np.ndarray, labels: np.ndarray, groups: np.ndarray, relevant: list[int]) -> tuple[float, float]:
    """Return the C with the best cross-validated MAP@5 over train tweets, and that MAP."""
    best = (0.0, C_GRID[0])
    folds = list(GroupKFold(n_splits=5).split(rows, labels, groups))
    for c in C_GRID:
        scores = np.zeros(len(labels))
        for fit_rows, held in folds:
            model, mean, scale = fit(rows[fit_rows], labels[fit_rows], c)
            scores[held] = model.decision_function((rows[held] - mean) / scale)
        value = map_at_5(scores, labels, groups, relevant, sorted(set(groups.tolist())))
        print(f"  C={c}: cross-validated MAP@5 {value:.4f}")
        best = max(best, (value, c))
    return best[1], best[0]


def model_json(
    rows: np.ndarray, labels: np.ndarray, groups: np.ndarray, relevant: list[int], names: tuple[str, ...]
) -> dict:
    """Choose C, fit on all train rows and return the model's JSON form with its cross-validated figure."""
    c, cv_map = choose_c(rows, labels, groups, relevant)
    model, mean, scale = fit(rows, labels, c)
    return {
        "features": list(names),
        "mean": [round(float(value), 6) for value in mean],
        "scale": [round(float(value), 6) for value in scale],
        "weights": [round(float(value), 6) for value in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "c": c,
        "train_cv_map_at_5": round(cv_map, 4),
    }


async def main() -> None:
    """Fit both models on the train tweets and write them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lexical-only", action="store_true", help="fit the lexical model only (no embeddings)")
    arguments = parser.parse_args()
    data = read_claim_matching(arguments.data)
    embedder = None if arguments.lexical_only else OfflineEmbedder.installed()
    tweets = data.tweets["train"]
    passages = queries = None
    if embedder is not None:
        texts = [passage_text(item) for item in data.fact_checks]
        passages = await cached_vectors(embedder, texts, "passage", arguments.cache)
        queries = await cached_vectors(
            embedder, [clean_query(tweet.text) for tweet in tweets], "query", arguments.cache
        )
    matcher = FactCheckMatcher(embedder)
    matcher.upsert(data.fact_checks, passages)
    print("lexical model")
    rows, labels, groups, relevant = table(score_tweets(matcher, tweets, None))
    spec = {"trained_on": "CLEF 2020 CheckThat! task 2, train tweets (800)"}
    spec["lexical"] = model_json(rows, labels, groups, relevant, LEXICAL_FEATURES)
    if queries is not None:
        print("hybrid model")
        rows, labels, groups, relevant = table(score_tweets(matcher, tweets, queries))
        spec["hybrid"] = model_json(rows, labels, groups, relevant, LEXICAL_FEATURES + EMBEDDING_FEATURES)
    arguments.out.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({name: spec[name]["train_cv_map_at_5"] for name in ("lexical", "hybrid") if name in spec}))


if __name__ == "__main__":
    asyncio.run(main())
