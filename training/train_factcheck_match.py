r"""Train the fact-check match model: is the re-ranker's best candidate a match at all? On the CLEF 2020 train tweets.

First writes ``word_weights.json``, the fixed corpus's document frequencies (the CLEF fact-checks' stems).
Needs the ``train`` extra (scikit-learn) and, for the hybrid model, the multilingual extra; adds
``match_lexical`` and ``match_hybrid`` to the JSON the re-ranker's trainer wrote (the re-rankers are kept)::

    OMP_NUM_THREADS=1 python training/train_factcheck_match.py \
        --data /work/shared/data/claim-matching-clef2020 --cache /work/cache/fc-threshold \
        --model service/factchecks/reranker.json \
        --news $(ls tests/golden/*.yaml | grep -v 'debate\|cnn-trump')

Each train tweet gives a positive, its gold fact-check's ``MATCH_FEATURES``, and a negative, those of the
candidate the re-ranker puts first once the gold is set aside (what the tweet would match in an archive that
never checked it). The features are shares of what the two texts have in common (and the cosine), never the
archive's idf nor a comparison with the other candidates, so the probability does not change with the
archive's size. ``C`` is chosen by cross-validated log-loss, and the threshold, on the out-of-fold
probabilities, as the one of 0.05 to 0.95 with the best F0.5 (a wrong "checked before" costs more than a
missing one). ``--news`` adds one more negative a sentence of those texts, its first candidate: news that
repeats no fact-check of the archive (the golden cases but the debates, whose claims Snopes may have checked,
and the sample article's, which is kept with ``examples/`` to measure on). Dev is never read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from service.evaluation.factcheck_data import read_claim_matching
from service.evaluation.factcheck_matching import Scored, cached_vectors, gold_and_impostor, score_tweets, sentences_of
from service.factchecks.embedders import OfflineEmbedder
from service.factchecks.features import MATCH_EMBEDDING_FEATURES, MATCH_FEATURES
from service.factchecks.matching import FactCheckMatcher, passage_text
from service.factchecks.reranker import LogisticModel, model_from_json
from service.factchecks.text import clean_query, stemmed_words
from service.factchecks.word_weights import TABLE, table_of

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def table(scored: list[Scored], ranker: LogisticModel) -> tuple[np.ndarray, np.ndarray]:
    """Return the match features of each tweet's gold (label 1) and of its impostor (label 0)."""
    rows, labels = [], []
    for item in scored:
        gold, impostor = gold_and_impostor(item, lambda found: ranker.probabilities(found.features))
        if item.candidates is None:
            continue
        if gold:
            rows.append(item.candidates.match_rows(np.asarray(gold)))
            labels.extend([1] * len(gold))
        if impostor is not None:
            others, position = impostor
            rows.append(others.match_rows(np.asarray([position])))
            labels.append(0)
    return np.vstack(rows), np.asarray(labels, dtype=int)


def news_rows(
    matcher: FactCheckMatcher, sentences: list[str], ranker: LogisticModel, vectors: np.ndarray | None = None
) -> np.ndarray:
    """Return the match features of each news sentence's first candidate (label 0: they repeat no fact-check)."""
    rows = []
    for row, sentence in enumerate(sentences):
        found = matcher.candidates(sentence, None if vectors is None else vectors[row])
        if found is not None:
            rows.append(found.match_rows(np.asarray([int(np.argmax(ranker.probabilities(found.features)))])))
    return np.vstack(rows)


def fit(rows: np.ndarray, labels: np.ndarray, c: float) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    """Fit a standardised logistic regression; return it with the mean and scale."""
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((rows - mean) / scale, labels)
    return model, mean, scale


def out_of_fold(rows: np.ndarray, labels: np.ndarray, c: float) -> np.ndarray:
    """Return each row's probability from a model fitted without its fold."""
    scores = np.zeros(len(labels))
    for fit_rows, held in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(rows, labels):
        model, mean, scale = fit(rows[fit_rows], labels[fit_rows], c)
        scores[held] = model.predict_proba((rows[held] - mean) / scale)[:, 1]
    return scores


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, float]]:
    """Return the threshold (0.05 to 0.95) with the best F0.5 on the scores, and its figures."""
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.5, {})
    for step in range(1, 20):
        threshold = round(step * 0.05, 2)
        marked = scores >= threshold
        true = int((marked & (labels == 1)).sum())
        precision = true / int(marked.sum()) if marked.any() else 1.0
        recall = true / int((labels == 1).sum())
        f_half = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0
        figures = {"precision": round(precision, 4), "recall": round(recall, 4), "f0.5": round(f_half, 4)}
        print(f"    threshold {threshold}: {figures}")
        best = max(best, (f_half, threshold, figures), key=lambda item: item[0])
    return best[1], best[2]


def model_json(rows: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> dict:
    """Choose C and the threshold by cross-validation, fit on all rows and return the model's JSON form."""
    losses = {c: log_loss(labels, out_of_fold(rows, labels, c)) for c in C_GRID}
    c = min(losses, key=losses.__getitem__)
    print(f"  log-loss by C: { {key: round(value, 4) for key, value in losses.items()} } -> C={c}")
    threshold, figures = best_threshold(out_of_fold(rows, labels, c), labels)
    model, mean, scale = fit(rows, labels, c)
    return {
        "features": list(names),
        "mean": [round(float(value), 6) for value in mean],
        "scale": [round(float(value), 6) for value in scale],
        "weights": [round(float(value), 6) for value in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "c": c,
        "rows": {"positives": int(labels.sum()), "negatives": int((labels == 0).sum())},
        "train_cv_threshold": threshold,
        "train_cv_at_threshold": figures,
    }


async def main() -> None:
    """Fit the lexical and the hybrid match models on the train tweets and add them to the models' JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--news", type=Path, nargs="*", default=(), help="texts whose sentences repeat no fact-check")
    arguments = parser.parse_args()
    data = read_claim_matching(arguments.data)
    words = (stemmed_words(f"{item.claim_reviewed} {item.title or ''}") for item in data.fact_checks)
    TABLE.write_text(json.dumps(table_of(words), separators=(",", ":")) + "\n", encoding="utf-8")
    embedder = OfflineEmbedder.installed()
    tweets = data.tweets["train"]
    passages = queries = None
    if embedder is not None:
        passages = await cached_vectors(
            embedder, [passage_text(item) for item in data.fact_checks], "passage", arguments.cache
        )
        queries = await cached_vectors(
            embedder, [clean_query(tweet.text) for tweet in tweets], "query", arguments.cache
        )
    matcher = FactCheckMatcher(embedder)
    matcher.upsert(data.fact_checks, passages)
    spec = json.loads(arguments.model.read_text(encoding="utf-8"))
    print("lexical match model")
    lexical = model_from_json(spec["lexical"])
    rows, labels = table(score_tweets(matcher, tweets, None), lexical)
    sentences = list(dict.fromkeys(sentences_of(arguments.news)))
    if sentences:
        news = news_rows(matcher, sentences, lexical)
        print(f"  {len(news)} news sentences as negatives")
        rows, labels = np.vstack([rows, news]), np.concatenate([labels, np.zeros(len(news), dtype=int)])
    spec["match_lexical"] = model_json(rows, labels, MATCH_FEATURES)
    if embedder is not None and queries is not None and "hybrid" in spec:
        print("hybrid match model")
        hybrid = model_from_json(spec["hybrid"])
        rows, labels = table(score_tweets(matcher, tweets, queries), hybrid)
        if sentences:
            cleaned = [clean_query(sentence) for sentence in sentences]
            vectors = await cached_vectors(embedder, cleaned, "query", arguments.cache)
            news = news_rows(matcher, sentences, hybrid, vectors)
            rows, labels = np.vstack([rows, news]), np.concatenate([labels, np.zeros(len(news), dtype=int)])
        spec["match_hybrid"] = model_json(rows, labels, MATCH_FEATURES + MATCH_EMBEDDING_FEATURES)
    arguments.model.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                name: spec[name]["train_cv_at_threshold"] | {"threshold": spec[name]["train_cv_threshold"]}
                for name in ("match_lexical", "match_hybrid")
                if name in spec
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
