r"""Train the offline model's check-worthiness scorer: logistic regression on CLEF CheckThat! transcripts.

Reproducible and deterministic (no randomness anywhere). Needs the ``train`` extra (numpy)::

    pip install -e '.[train]'
    # the shipped coefficients: trained on all 19 transcripts of CLEF-2019's training set
    python training/train_checkworthiness.py --data ../shared/data/clef2019-checkworthiness-train \
        --out service/offline/checkworthiness_coefficients.json
    # the held-out model: the three CLEF-2018 debates (recognised by content) left out of training
    python training/train_checkworthiness.py --data ../shared/data/clef2019-checkworthiness-train \
        --hold-out ../shared/data/clef2018-checkworthiness --out /tmp/heldout-coefficients.json
    # leave-one-transcript-out MAP through the real pipeline (one model per transcript left out)
    python training/train_checkworthiness.py --data ../shared/data/clef2019-checkworthiness-train --loo

The features are ``service.offline.features.sentence_features``: general cues plus single words. Words
seen in fewer than ``--min-df`` training sentences or in only one transcript are not candidates; after a
first fit only the ``--vocabulary`` words with the largest weights are kept and the model is fitted again,
so the shipped file stays a few KB. Classes are weighted to balance (a few percent of sentences are
check-worthy; ``--balance none`` weighs every sentence alike) and the loss has an L2 penalty ``--l2``. The
sigmoid's slope and offset are then set from the training scores alone: the median sentence maps to
``--median-score`` and the top 1% to ``--top-score``, which spreads the scores over 0-1 so that two
decimals still keep the ranking apart.

``--cv`` reports leave-one-transcript-out MAP inside the training set at the level of the offline rules
(fast, no pipeline): use it, never the held-out debates, to choose hyper-parameters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.evaluation.checkworthiness import (  # noqa: E402
    Transcript,
    evaluate_checkworthiness,
    read_transcripts,
)
from service.evaluation.metrics import average_precision  # noqa: E402
from service.offline.checkworthiness import CheckworthinessModel, use_model  # noqa: E402
from service.offline.features import sentence_features  # noqa: E402
from service.offline.rules import extract_offline_reply  # noqa: E402

Matrix = NDArray[np.float64]


def candidate_features(rows: Sequence[dict[str, float]], names: Sequence[str], min_df: int) -> list[str]:
    """Return the features to fit: every cue, and words frequent enough in more than one transcript."""
    frequency: Counter[str] = Counter()
    transcripts_with: dict[str, set[str]] = {}
    for row, name in zip(rows, names, strict=True):
        for feature in row:
            frequency[feature] += 1
            transcripts_with.setdefault(feature, set()).add(name)
    return sorted(
        feature
        for feature, count in frequency.items()
        if not feature.startswith("w:") or (count >= min_df and len(transcripts_with[feature]) >= 2)
    )


def design_matrix(rows: Sequence[dict[str, float]], features: Sequence[str]) -> Matrix:
    """Return the dense matrix of ``rows`` over ``features``."""
    column = {feature: index for index, feature in enumerate(features)}
    matrix = np.zeros((len(rows), len(features)))
    for index, row in enumerate(rows):
        for feature, value in row.items():
            if feature in column:
                matrix[index, column[feature]] = value
    return matrix


def _loss(x: Matrix, y: Matrix, weights: Matrix, beta: Matrix, penalty: Matrix) -> float:
    """Return the weighted logistic loss plus the L2 penalty."""
    z = x @ beta
    return float(np.sum(weights * (np.logaddexp(0.0, z) - y * z)) + 0.5 * np.sum(penalty * beta * beta))


def balanced_weights(y: Matrix, groups: Sequence[str]) -> Matrix:
    """Return sample weights balancing the classes within each group, each group by its size (no group: all 1)."""
    weights = np.zeros(len(y))
    if not groups:
        return np.ones(len(y))
    names = np.array(groups)
    for name in sorted(set(groups)):
        members = names == name
        positives = max(float(y[members].sum()), 1.0)
        negatives = max(float(members.sum()) - positives, 1.0)
        weights[members] = np.where(y[members] > 0, 0.5 / positives, 0.5 / negatives) * float(members.sum())
    return weights


def fit_logistic(x: Matrix, y: Matrix, penalty: Matrix, weights: Matrix, iterations: int = 30) -> Matrix:
    """Fit weighted L2 logistic regression by truncated Newton (conjugate gradient) with backtracking.

    ``penalty`` holds each column's L2 weight (0 for the bias column), ``weights`` each sample's weight.
    """
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (weights * (p - y)) + penalty * beta
        if float(np.linalg.norm(gradient)) < 1e-6 * len(y):
            break
        curvature = weights * p * (1.0 - p)
        step = _conjugate_gradient(lambda v, c=curvature: x.T @ (c * (x @ v)) + penalty * v, gradient)
        current = _loss(x, y, weights, beta, penalty)
        scale = 1.0
        while scale > 1e-4 and _loss(x, y, weights, beta - scale * step, penalty) > current:
            scale /= 2
        beta = beta - scale * step
    return beta


def _conjugate_gradient(hessian_times: object, b: Matrix, steps: int = 50) -> Matrix:
    """Solve ``H s = b`` approximately, ``H`` given as a product function."""
    product = hessian_times  # a callable; typed loosely to keep the signature short
    s = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    rr = float(r @ r)
    for _ in range(steps):
        hd = product(d)  # type: ignore[operator]
        alpha = rr / float(d @ hd)
        s += alpha * d
        r -= alpha * hd
        new_rr = float(r @ r)
        if new_rr < 1e-10 * float(b @ b):
            break
        d = r + (new_rr / rr) * d
        rr = new_rr
    return s


def penalties(features: Sequence[str], options: argparse.Namespace) -> Matrix:
    """Return each feature's L2 weight: none on the bias, ``--l2`` on cues, ``--word-l2`` on words."""
    word_l2 = options.l2 if options.word_l2 is None else options.word_l2
    return np.array([0.0 if f == "bias" else word_l2 if f.startswith("w:") else options.l2 for f in features])


def train(transcripts: Sequence[Transcript], options: argparse.Namespace) -> CheckworthinessModel:
    """Train a model on ``transcripts`` with the hyper-parameters in ``options``."""
    rows = [sentence_features(line.text) for t in transcripts for line in t.lines]
    names = [t.name for t in transcripts for _ in t.lines]
    y = np.array([float(line.label) for t in transcripts for line in t.lines])
    features = ["bias", *(f for f in candidate_features(rows, names, options.min_df) if f != "bias")]
    groups = {"transcript": names, "pooled": ["all"] * len(names)}.get(options.balance, [])
    weights = balanced_weights(y, groups)
    beta = fit_logistic(design_matrix(rows, features), y, penalties(features, options), weights)
    words = sorted((f for f in features if f.startswith("w:")), key=lambda f: -abs(beta[features.index(f)]))
    kept = ["bias", *(f for f in features if not f.startswith("w:") and f != "bias"), *words[: options.vocabulary]]
    x = design_matrix(rows, kept)
    beta = fit_logistic(x, y, penalties(kept, options), weights)
    linear = CheckworthinessModel(weights=dict(zip(kept, beta.tolist(), strict=True)), context=options.context)
    z = np.array(
        [s for t in transcripts for s in linear.in_context([linear.linear_score(line.text) for line in t.lines])]
    )
    median, top = float(np.quantile(z, 0.5)), float(np.quantile(z, 0.99))
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    slope = (logit(options.top_score) - logit(options.median_score)) / max(top - median, 1e-6)
    offset = logit(options.median_score) - slope * median
    return CheckworthinessModel(
        weights={f: round(float(w), 4) for f, w in zip(kept, beta, strict=True) if round(float(w), 4) != 0.0},
        slope=round(slope, 4),
        offset=round(offset, 4),
        context=options.context,
        trained_on=tuple(t.digest for t in transcripts),
        description=(
            f"Logistic regression ({'unweighted' if options.balance == 'none' else 'class-balanced'}, "
            f"L2 {options.l2}) on {len(transcripts)} CLEF CheckThat! transcripts "
            f"({len(y)} sentences, {int(y.sum())} check-worthy); {options.vocabulary} words; "
            "training/train_checkworthiness.py"
        ),
        extra={"trained_on_names": [t.name for t in transcripts]},
    )


def rules_average_precision(model: CheckworthinessModel, transcript: Transcript) -> float:
    """Return a transcript's average precision when the offline rules score its lines one by one."""
    with use_model(model):
        claims = extract_offline_reply([(i, line.text) for i, line in enumerate(transcript.lines, 1)]).claims
    scores = [0.0] * len(transcript.lines)
    for claim in claims:
        scores[claim.sentence_ids[0] - 1] = claim.checkworthiness
    return average_precision(scores, [line.label for line in transcript.lines])


def cross_validate(transcripts: Sequence[Transcript], options: argparse.Namespace) -> float:
    """Print and return leave-one-transcript-out MAP within ``transcripts`` at the offline rules' level."""
    precisions = []
    for held in transcripts:
        model = train([t for t in transcripts if t is not held], options)
        precisions.append(rules_average_precision(model, held))
        print(f"  cv {held.name:<28} AP {precisions[-1]:.3f}")
    mean = sum(precisions) / len(precisions)
    print(f"cv MAP {mean:.4f} over {len(precisions)} transcripts")
    return mean


def leave_one_out(transcripts: Sequence[Transcript], options: argparse.Namespace) -> dict[str, float]:
    """Return each transcript's average precision through the pipeline, with a model trained on the others."""
    results = {}
    for held in transcripts:
        model = train([t for t in transcripts if t is not held], options)
        report = asyncio.run(evaluate_checkworthiness([held], model))
        results[held.name] = report.transcripts[0].average_precision
        print(f"  loo {held.name:<28} AP {results[held.name]:.3f}")
    print(f"leave-one-transcript-out MAP {sum(results.values()) / len(results):.4f} over {len(results)} transcripts")
    return results


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory of labelled transcripts")
    parser.add_argument("--hold-out", type=Path, help="leave out the transcripts whose content is in this directory")
    parser.add_argument("--out", type=Path, help="write the coefficients here")
    parser.add_argument("--l2", type=float, default=100.0)
    parser.add_argument("--word-l2", type=float, help="L2 weight of vocabulary words (default: --l2)")
    parser.add_argument(
        "--balance", choices=("none", "pooled", "transcript"), default="pooled", help="class balance scope, or none"
    )
    parser.add_argument("--min-df", type=int, default=5)
    parser.add_argument("--vocabulary", type=int, default=300)
    parser.add_argument("--context", type=float, default=0.2, help="weight of the neighbours' mean linear score")
    parser.add_argument("--median-score", type=float, default=0.25)
    parser.add_argument("--top-score", type=float, default=0.9)
    parser.add_argument("--cv", action="store_true", help="leave-one-out MAP inside the training set (rules level)")
    parser.add_argument("--loo", action="store_true", help="leave-one-out MAP through the pipeline")
    parser.add_argument("--report", type=Path, help="write the --loo figures here as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Train, optionally cross-validate, and write the coefficients."""
    options = parse_arguments(argv)
    transcripts = read_transcripts(options.data)
    if options.hold_out:
        held = {t.digest for t in read_transcripts(options.hold_out)}
        left_out = [t.name for t in transcripts if t.digest in held]
        print(f"held out (same content as {options.hold_out}): {', '.join(left_out) or 'none'}")
        transcripts = [t for t in transcripts if t.digest not in held]
    print(f"training on {len(transcripts)} transcripts")
    if options.cv:
        cross_validate(transcripts, options)
    if options.loo:
        results = leave_one_out(transcripts, options)
        if options.report:
            options.report.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if options.out:
        model = train(transcripts, options)
        options.out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {options.out} ({options.out.stat().st_size:,} bytes, {len(model.weights)} weights)")


if __name__ == "__main__":
    main()
