r"""Train the offline model's check-worthiness scorer: logistic regression on every public labelled debate.

Needs the ``train`` extra (scikit-learn, numpy); the service itself scores in pure Python from the JSON
this writes. Deterministic for a given ``--seed`` (the seed fixes the solver's and the vocabulary's order)::

    pip install -e '.[train]'
    # the shipped model (the defaults of Config) with its figures, written beside it as checkworthiness_figures.json
    python training/train_checkworthiness.py --data ../shared/data/checkworthiness --lodo \
        --out service/offline/checkworthiness_coefficients.json
    # the configuration search over SEARCH_GRID (then the best one's figures); --c, --claimbuster-weight,
    # --context, --vocabulary and --min-df set one configuration by hand
    python training/train_checkworthiness.py --data ../shared/data/checkworthiness --search --figures /tmp/search.json

Data (``--data``, see its README.md): ``debates/*.tsv`` (66 transcripts, ``line<TAB>speaker<TAB>text<TAB>label``)
and ``sentences-2024/english_train.tsv`` (ClaimBuster's sentences, weighed by ``--claimbuster-weight``
relative to the debates; other labels than the debates', so only ever training data).

Features: ``service.offline.passage.passage_features``: the sentence's own cues and words, and what its passage
gives (a question before or after it, an address such as "Governor, …", the speaker moderating, the start or
end of a turn). Each debate is seen twice in training, with and without its speakers (half weight each), so
that the model scores an article (no speakers) as well as a transcript. Words seen in fewer than ``--min-df``
training sentences or in only one source are not candidates; after a first fit the ``--vocabulary`` words
with the largest weights are kept and the model is fitted again. Classes are balanced; the penalty is L2
(``--c`` is scikit-learn's inverse strength). The sigmoid's slope and offset map the median training line to
``--median-score`` and the top 1% to ``--top-score``.

Leave-one-debate-out (``--lodo``, ``--search``): for each debate, a model trained on the 65 others (and on
ClaimBuster less its copies of that debate's sentences) ranks its lines, lines the offline rules never make a
claim of scoring 0, as the pipeline does; MAP is reported per edition (2019, 2020) and over all 66.
``--search`` tries the grid ``SEARCH_GRID`` and keeps the configuration with the best MAP over all 66.
The figures go to ``--figures`` (default: beside ``--out``, ``checkworthiness_figures.json``): the seed, the
configuration, MAP per edition and each debate's average precision, and the written model as the service runs
it (bytes on disk, weights, bytes in memory, lines scored a second on one core, ClaimBuster dev AP).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.evaluation.checkworthiness import Transcript, read_transcripts  # noqa: E402
from service.evaluation.metrics import average_precision  # noqa: E402
from service.offline.checkworthiness import CheckworthinessModel, load_model  # noqa: E402
from service.offline.passage import passage_features  # noqa: E402
from service.offline.rules import find_source, is_check_worthy  # noqa: E402

CLAIMBUSTER = "english_train.tsv"
CLAIMBUSTER_DEV = "english_dev.tsv"
PASSAGE = 20  # lines scored together when measuring speed, as the pipeline hands a chunk over
SEARCH_GRID: dict[str, tuple[float, ...]] = {
    "c": (0.01, 0.03),
    "claimbuster_weight": (0.0, 0.3),
    "vocabulary": (1000,),
    "context": (0.0, 0.2, 0.4),
}


@dataclass(frozen=True)
class Config:
    """The hyper-parameters of one model."""

    c: float = 0.01
    claimbuster_weight: float = 1.0
    min_df: int = 5
    vocabulary: int = 1000
    context: float = 0.4
    median_score: float = 0.25
    top_score: float = 0.9


@dataclass
class Data:
    """Every training line as a sparse row: debates twice (with, then without speakers), then ClaimBuster."""

    x: sparse.csr_matrix
    y: np.ndarray
    source: np.ndarray  # the debate's index, or -1 for ClaimBuster
    with_speakers: np.ndarray  # True for the rows of debates read with their speakers
    copy_of: np.ndarray  # for ClaimBuster rows: the debate whose sentence it repeats, else -1
    keep: np.ndarray  # the offline rules make a claim of the line (debates only; ClaimBuster: True)
    columns: list[str]
    transcripts: list[Transcript]


def read_claimbuster(path: Path) -> list[tuple[str, int]]:
    """Return ClaimBuster's ``(text, label)`` sentences (header ``id<TAB>text<TAB>label``)."""
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines()[1:]:
        cells = raw.split("\t")
        if len(cells) == 3 and cells[2].strip() in ("0", "1"):
            rows.append((cells[1].strip(), int(cells[2])))
    return rows


def normalised(text: str) -> str:
    """Return a sentence reduced to its lower-case words, to find copies across data sets."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def load_data(directory: Path) -> Data:
    """Read the debates and ClaimBuster and turn every line into features."""
    transcripts = read_transcripts(directory / "debates")
    rows: list[dict[str, float]] = []
    y: list[int] = []
    source: list[int] = []
    speakers: list[bool] = []
    keep: list[bool] = []
    where: dict[str, int] = {}
    for index, transcript in enumerate(transcripts):
        lines = [(line.speaker or None, line.text) for line in transcript.lines]
        kept = [is_check_worthy(line.text, find_source(line.text)) for line in transcript.lines]
        for with_speakers in (True, False):
            rows.extend(passage_features(lines if with_speakers else [(None, text) for _, text in lines]))
            y.extend(line.label for line in transcript.lines)
            source.extend([index] * len(lines))
            speakers.extend([with_speakers] * len(lines))
            keep.extend(kept)
        for line in transcript.lines:
            where.setdefault(normalised(line.text), index)
    claimbuster = read_claimbuster(directory / "sentences-2024" / CLAIMBUSTER)
    copy_of = [-1] * len(y) + [where.get(normalised(text), -1) for text, _ in claimbuster]
    rows.extend(passage_features([(None, text)])[0] for text, _ in claimbuster)
    y.extend(label for _, label in claimbuster)
    source.extend([-1] * len(claimbuster))
    speakers.extend([False] * len(claimbuster))
    keep.extend([True] * len(claimbuster))
    vectorizer = DictVectorizer(sort=True)
    x = vectorizer.fit_transform(rows).tocsr()
    return Data(
        x=x,
        y=np.array(y, dtype=float),
        source=np.array(source),
        with_speakers=np.array(speakers),
        copy_of=np.array(copy_of),
        keep=np.array(keep),
        columns=list(vectorizer.get_feature_names_out()),
        transcripts=transcripts,
    )


def sample_weights(data: Data, train: np.ndarray, config: Config) -> np.ndarray:
    """Balance the classes within the debates and within ClaimBuster; ClaimBuster weighs ``claimbuster_weight``."""
    weights = np.zeros(len(data.y))
    for part, share in ((data.source >= 0, 1.0), (data.source < 0, config.claimbuster_weight)):
        members = train & part
        total = float(members.sum())
        positives = max(float(data.y[members].sum()), 1.0)
        negatives = max(total - positives, 1.0)
        debate_rows = float((train & (data.source >= 0)).sum())
        weights[members] = share * np.where(data.y[members] > 0, 0.5 / positives, 0.5 / negatives) * debate_rows
    return weights


def candidate_columns(data: Data, train: np.ndarray, config: Config) -> np.ndarray:
    """Return the columns to fit: every cue, and words frequent enough in more than one source."""
    present = (data.x[train] > 0).astype(np.float64)
    frequency = np.asarray(present.sum(axis=0)).ravel()
    sources = data.source[train]
    names, inverse = np.unique(sources, return_inverse=True)
    indicator = sparse.csr_matrix(
        (np.ones(len(sources)), (inverse, np.arange(len(sources)))), (len(names), len(sources))
    )
    seen_in = np.asarray(((indicator @ present) > 0).sum(axis=0)).ravel()
    is_word = np.array([column.startswith("w:") for column in data.columns])
    return np.flatnonzero(~is_word | ((frequency >= config.min_df) & (seen_in >= 2)))


def fit(data: Data, train: np.ndarray, config: Config, seed: int) -> tuple[dict[str, float], float]:
    """Fit the model on the ``train`` rows; return its weights by feature name and its intercept."""
    weights = sample_weights(data, train, config)
    train = train & (weights > 0)
    columns = candidate_columns(data, train, config)
    for refit in (False, True):
        model = LogisticRegression(C=config.c, max_iter=300, tol=1e-4, random_state=seed)
        model.fit(data.x[train][:, columns], data.y[train], sample_weight=weights[train])
        coefficients = model.coef_.ravel()
        if refit:
            break
        words = [i for i, column in enumerate(columns) if data.columns[column].startswith("w:")]
        words.sort(key=lambda i: (-abs(coefficients[i]), data.columns[columns[i]]))
        dropped = set(words[config.vocabulary :])
        columns = np.array([column for i, column in enumerate(columns) if i not in dropped])
    named = {data.columns[column]: float(w) for column, w in zip(columns, coefficients, strict=True)}
    return named, float(model.intercept_[0])


def in_context(linear: np.ndarray, context: float) -> np.ndarray:
    """Add ``context`` times the mean of each score's neighbours (as ``CheckworthinessModel.in_context``)."""
    if not context or len(linear) < 2:
        return linear
    padded = np.concatenate(([0.0], linear, [0.0]))
    counts = np.full(len(linear), 2.0)
    counts[0] = counts[-1] = 1.0
    return linear + context * (padded[:-2] + padded[2:]) / counts


def line_scores(data: Data, rows: np.ndarray, weights: dict[str, float], bias: float, context: float) -> np.ndarray:
    """Return the context-adjusted linear scores of consecutive rows, 0-floored where the rules make no claim."""
    vector = np.array([weights.get(column, 0.0) for column in data.columns])
    linear = in_context(data.x[rows] @ vector + bias, context)
    return np.where(data.keep[rows], linear, linear.min() - 1.0)


def lodo(
    data: Data, config: Config, seed: int, contexts: Sequence[float] = (), log: bool = False
) -> dict[float, dict[str, dict[str, float]]]:
    """Return, for each context weight, each held-out debate's average precision with and without speakers."""
    results: dict[float, dict[str, dict[str, float]]] = {c: {} for c in (contexts or (config.context,))}
    for index, transcript in enumerate(data.transcripts):
        train = (data.source != index) & (data.copy_of != index)
        weights, bias = fit(data, train, config, seed)
        labels = [line.label for line in transcript.lines]
        for context, table in results.items():
            table[transcript.name] = {
                mode: average_precision(
                    line_scores(data, held_rows(data, index, flag), weights, bias, context).tolist(), labels
                )
                for mode, flag in (("speakers", True), ("article", False))
            }
        if log:
            shown = results[config.context][transcript.name] if config.context in results else {}
            print(f"  {transcript.name:<48} AP {json.dumps(shown)}", flush=True)
    return results


def held_rows(data: Data, index: int, with_speakers: bool) -> np.ndarray:
    """Return the rows of debate ``index``, read with or without its speakers."""
    return np.flatnonzero((data.source == index) & (data.with_speakers == with_speakers))


def summary(results: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Return MAP per edition (``2019``, ``2020``) and over all debates, read with and without speakers."""
    editions = {"2019": "2019_", "2020": "2020_", "all": ""}
    table: dict[str, dict[str, float]] = {}
    for edition, prefix in editions.items():
        names = [name for name in results if name.startswith(prefix)]
        table[edition] = {
            mode: round(sum(results[name][mode] for name in names) / max(len(names), 1), 4)
            for mode in ("speakers", "article")
        }
        table[edition]["debates"] = len(names)
    return table


def search(data: Data, seed: int) -> tuple[Config, list[dict[str, object]]]:
    """Try every configuration of ``SEARCH_GRID`` by leave-one-debate-out; return the best and every row."""
    rows: list[dict[str, object]] = []
    best: tuple[float, Config] | None = None
    for config in grid():
        started = time.perf_counter()
        by_context = lodo(data, config, seed, SEARCH_GRID["context"])
        for context, results in by_context.items():
            table = summary(results)
            candidate = replace(config, context=context)
            score = (table["all"]["speakers"] + table["all"]["article"]) / 2
            rows.append({"config": asdict(candidate), "map": table})
            print(f"{asdict(candidate)}  MAP {json.dumps(table)}  ({time.perf_counter() - started:.0f} s)", flush=True)
            if best is None or score > best[0]:
                best = (score, candidate)
    if best is None:
        raise SystemExit("the search grid is empty")
    return best[1], rows


def grid() -> Iterator[Config]:
    """Yield every configuration of ``SEARCH_GRID``."""
    configs = [Config()]
    for name, values in SEARCH_GRID.items():
        if name == "context":  # measured from the same fits, see search()
            continue
        configs = [replace(config, **{name: value}) for config in configs for value in values]
    yield from configs


def calibrated(data: Data, config: Config, seed: int) -> CheckworthinessModel:
    """Train on every line and set the sigmoid from the debates' scores."""
    weights, bias = fit(data, np.ones(len(data.y), dtype=bool), config, seed)
    scores = np.concatenate(
        [
            line_scores(data, np.flatnonzero((data.source == i) & data.with_speakers), weights, bias, config.context)
            for i in range(len(data.transcripts))
        ]
    )
    median, top = float(np.quantile(scores, 0.5)), float(np.quantile(scores, 0.99))
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    slope = (logit(config.top_score) - logit(config.median_score)) / max(top - median, 1e-6)
    rounded = {name: round(w, 4) for name, w in weights.items() if round(w, 4) != 0.0}
    return CheckworthinessModel(
        weights={"bias": round(bias, 4), **rounded},
        slope=round(slope, 4),
        offset=round(logit(config.median_score) - slope * median, 4),
        context=config.context,
        trained_on=tuple(t.digest for t in data.transcripts),
        description=(
            f"Logistic regression (class-balanced, L2, C={config.c}) on {len(data.transcripts)} CLEF CheckThat! "
            f"debates and ClaimBuster's sentences (weight {config.claimbuster_weight}); {config.vocabulary} words; "
            "training/train_checkworthiness.py"
        ),
        extra={"trained_on_names": [t.name for t in data.transcripts]},
    )


def without_debates(data: Data, dropped: set[int]) -> Data:
    """Return the data without the debates ``dropped`` (by index) and ClaimBuster's copies of their sentences."""
    rows = ~np.isin(data.source, list(dropped)) & ~np.isin(data.copy_of, list(dropped))
    kept = [i for i in range(len(data.transcripts)) if i not in dropped]
    renumber = np.full(len(data.transcripts) + 1, -1)
    renumber[kept] = np.arange(len(kept))
    return Data(
        x=data.x[rows],
        y=data.y[rows],
        source=np.where(data.source[rows] >= 0, renumber[data.source[rows]], -1),
        with_speakers=data.with_speakers[rows],
        copy_of=np.where(data.copy_of[rows] >= 0, renumber[data.copy_of[rows]], -1),
        keep=data.keep[rows],
        columns=data.columns,
        transcripts=[data.transcripts[i] for i in kept],
    )


def served_figures(path: Path, data: Data, directory: Path) -> dict[str, float]:
    """Measure the written model as the service runs it: size, memory, lines a second, ClaimBuster dev AP."""
    tracemalloc.start()
    model = load_model(path)
    memory, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines = [(line.speaker or None, line.text) for t in data.transcripts for line in t.lines][:4000]
    started = time.process_time()
    for start in range(0, len(lines), PASSAGE):
        model.score_lines(lines[start : start + PASSAGE])
    speed = len(lines) / max(time.process_time() - started, 1e-9)
    dev = read_claimbuster(directory / "sentences-2024" / CLAIMBUSTER_DEV)
    scores = [model.score(text) if is_check_worthy(text, find_source(text)) else -1.0 for text, _ in dev]
    return {
        "bytes_on_disk": path.stat().st_size,
        "weights": len(model.weights),
        "bytes_in_memory": memory,
        "lines_per_second_one_core": round(speed),
        "claimbuster_dev_average_precision": round(average_precision(scores, [label for _, label in dev]), 4),
    }


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the checkworthiness data folder (its README.md)")
    parser.add_argument("--out", type=Path, help="write the coefficients here")
    parser.add_argument("--figures", type=Path, help="write the figures here (default: beside --out)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument(
        "--hold-out", type=Path, help="train without the debates whose content is in this folder (and their copies)"
    )
    parser.add_argument("--search", action="store_true", help="choose the configuration by leave-one-debate-out")
    parser.add_argument("--lodo", action="store_true", help="leave-one-debate-out figures of the configuration")
    defaults = Config()
    for name in ("c", "claimbuster_weight", "vocabulary", "context", "min_df"):
        kind = type(getattr(defaults, name))
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=getattr(defaults, name))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Load the data, choose or take a configuration, measure it, and write the model and its figures."""
    options = parse_arguments(argv)
    random.seed(options.seed)
    np.random.seed(options.seed)
    data = load_data(options.data)
    if options.hold_out:
        held = {t.digest for t in read_transcripts(options.hold_out)}
        names = [t.name for t in data.transcripts if t.digest in held]
        print(f"held out (same content as {options.hold_out}): {', '.join(names) or 'none'}")
        data = without_debates(data, {i for i, t in enumerate(data.transcripts) if t.digest in held})
    claimbuster = int((data.source < 0).sum())
    print(f"{len(data.transcripts)} debates, {claimbuster} ClaimBuster sentences, {len(data.columns)} features")
    config = Config(
        c=options.c,
        claimbuster_weight=options.claimbuster_weight,
        vocabulary=options.vocabulary,
        context=options.context,
        min_df=options.min_df,
    )
    figures: dict[str, object] = {"seed": options.seed, "data": str(options.data)}
    if options.search:
        config, rows = search(data, options.seed)
        figures["search"] = rows
    figures["config"] = asdict(config)
    if options.search or options.lodo:
        results = lodo(data, config, options.seed, log=True)[config.context]
        figures["lodo_map"] = summary(results)
        figures["lodo_average_precision"] = results
        print(f"leave-one-debate-out MAP: {json.dumps(figures['lodo_map'])}")
    if options.out:
        model = calibrated(data, config, options.seed)
        options.out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
        figures["model"] = served_figures(options.out, data, options.data)
        print(f"wrote {options.out} ({options.out.stat().st_size:,} bytes, {len(model.weights)} weights)")
    target = options.figures or (options.out.with_name("checkworthiness_figures.json") if options.out else None)
    if target is not None:
        target.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
