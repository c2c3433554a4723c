"""Leave-one-debate-out MAP of the multilingual head, alone and fused with the default model, on the 66 debates.

Used by ``train_multilingual_checkworthiness.py --debates``. For each held-out debate: the default model is
fitted on the 65 others and ClaimBuster less its copies of that debate (``train_checkworthiness.py``'s own
fit, its shipped configuration and sigmoid), the head on the 2024 train parts less those copies too; the
held-out lines' logits are fused as the service fuses them. The fusion weight is chosen on the 2019 debates
alone; the 2020 ones (CLEF-2020's 15 test debates among them, ``MANIFEST.tsv``'s ``test-gold``) are only
measured. The default model's held-out logits (66 sparse fits, 2-3 s each) are cached in ``--cache``
(``default_lodo/<debate>.npz``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import train_checkworthiness as default_trainer
import train_multilingual_checkworthiness as head_trainer
from embedding_cache import embedded

from service.evaluation.metrics import average_precision
from service.offline.checkworthiness import shipped_model

MODES = ("speakers", "article")


def default_lodo_logits(data: Path, cache: Path, seed: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Return the named debates' held-out default-model logits per mode and keep masks (cached a debate a file)."""
    folder = cache / "default_lodo"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [name for name in names if not (folder / f"{name}.npz").exists()]
    if missing:
        figures = json.loads((default_trainer.ROOT / "service/offline/checkworthiness_figures.json").read_text())
        config = default_trainer.Config(**figures["config"])
        shipped = shipped_model()
        table = default_trainer.load_data(data)
        for index, transcript in enumerate(table.transcripts):
            if transcript.name not in missing:
                continue
            started = time.perf_counter()
            train = (table.source != index) & (table.copy_of != index)
            weights, bias = default_trainer.fit(table, train, config, seed)
            vector = np.array([weights.get(column, 0.0) for column in table.columns])
            held: dict[str, np.ndarray] = {}
            for mode, flag in (("speakers", True), ("article", False)):
                rows = default_trainer.held_rows(table, index, flag)
                linear = default_trainer.in_context(table.x[rows] @ vector + bias, config.context)
                held[mode] = shipped.slope * linear + shipped.offset
                held["keep"] = table.keep[rows]
            np.savez(folder / f"{transcript.name}.npz", **held)
            print(f"  default model, {transcript.name} held out ({time.perf_counter() - started:.0f} s)", flush=True)
    result = {}
    for name in names:
        for key, value in np.load(folder / f"{name}.npz").items():
            result[f"{name}|{key}"] = value
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Compute (and cache) the default model's leave-one-debate-out logits of the debates named, or all."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("names", nargs="*")
    options = parser.parse_args(argv)
    names = options.names or [t.name for t in default_trainer.read_transcripts(options.data / "debates")]
    default_lodo_logits(options.data, options.cache, options.seed, names)


def claimbuster_copies(data: Path) -> tuple[list[str], np.ndarray]:
    """Return the debates' names and, for each ClaimBuster train sentence, the debate it copies (-1: none)."""
    transcripts = default_trainer.read_transcripts(data / "debates")
    where: dict[str, int] = {}
    for index, transcript in enumerate(transcripts):
        for line in transcript.lines:
            where.setdefault(default_trainer.normalised(line.text), index)
    texts = [text for text, _ in default_trainer.read_claimbuster(data / "sentences-2024" / "english_train.tsv")]
    return [t.name for t in transcripts], np.array([where.get(default_trainer.normalised(t), -1) for t in texts])


def debate_figures(
    data: Path,
    cache: Path,
    train: Sequence[head_trainer.Part],
    config: head_trainer.Config,
    seed: int,
    fusion: float | None,
) -> tuple[float, dict[str, object]]:
    """Return the chosen fusion weight, and MAP per edition for the default model, the head alone and both."""
    names, copy_of = claimbuster_copies(data)
    english = next(part for part in train if part.language == "english")
    copies = copy_of[english.rows]
    full = head_trainer.fit(train, config, seed)
    heads: dict[str, np.ndarray] = {}
    for index, name in enumerate(names):
        texts = head_trainer.file_texts(data / "debates" / f"{name}.tsv")
        chosen, vectors = embedded(texts, cache, name)
        if len(chosen) < len(texts):
            continue  # not every line embedded yet: leave the debate out of the figures
        weights, bias = full
        if (copies == index).any():
            kept = head_trainer.subset(english, np.flatnonzero(copies != index))
            weights, bias = head_trainer.fit([kept if p is english else p for p in train], config, seed)
        heads[name] = vectors[np.argsort(chosen)] @ weights + bias
    names = list(heads)
    print(f"{len(names)} debates fully embedded: {', '.join(names)}", flush=True)
    defaults = default_lodo_logits(data, cache, seed, names)
    labels = {name: np.array(debate_labels(data / "debates" / f"{name}.tsv")) for name in names}

    test_gold = test_gold_debates(data)

    def lodo_map(weight: float | None, mode: str) -> dict[str, float | int]:
        """MAP of the fusion with ``weight`` (None: the default model alone), lines the rules drop ranked last."""
        per_debate = {}
        for name in names:
            default = defaults[f"{name}|{mode}"]
            score = default if weight is None else (heads[name] + weight * default) / (1 + weight)
            ranked = np.where(defaults[f"{name}|keep"].astype(bool), score, score.min() - 1.0)
            per_debate[name] = average_precision(ranked.tolist(), labels[name].tolist())
        return summary(per_debate, test_gold)

    weights = (fusion,) if fusion is not None else head_trainer.FUSIONS
    table = {f"{weight} {mode}": lodo_map(weight, mode) for weight in sorted({0.0, *weights}) for mode in MODES}
    for weight in sorted({0.0, *weights}):
        print(f"  fusion {weight}: {table[f'{weight} speakers']} / article {table[f'{weight} article']}", flush=True)
    best = fusion_on_2019(table, weights)
    figures: dict[str, object] = {
        "debates": names,
        "default_model_lodo_map": {mode: lodo_map(None, mode) for mode in MODES},
        "head_alone_lodo_map": {mode: table[f"0.0 {mode}"] for mode in MODES},
        "fused_lodo_map": {mode: table[f"{best} {mode}"] for mode in MODES},
        "fusion": best,
        "search": table,
    }
    print(json.dumps({key: figures[key] for key in list(figures)[1:5]}), flush=True)
    return best, figures


def fusion_on_2019(table: dict[str, dict[str, float | int]], weights: Sequence[float]) -> float:
    """Return the fusion weight with the best MAP on the 2019 debates, with speakers and as an article."""
    if "2019" not in table[f"{weights[0]} speakers"]:
        raise SystemExit("no 2019 debate is embedded whole: the fusion weight is chosen on them")
    return max(weights, key=lambda w: float(table[f"{w} speakers"]["2019"]) + float(table[f"{w} article"]["2019"]))


def debate_labels(path: Path) -> list[int]:
    """Return a debate file's labels, in order."""
    return [int(row.split("\t")[3]) for row in path.read_text(encoding="utf-8").splitlines() if row.strip()]


def test_gold_debates(data: Path) -> set[str]:
    """Return the names of the debates that were CLEF-2020's test set (``MANIFEST.tsv``'s split ``test-gold``)."""
    rows = (line.split("\t") for line in (data / "debates" / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines())
    return {cells[0].removesuffix(".tsv") for cells in rows if len(cells) > 2 and cells[2] == "test-gold"}


def summary(per_debate: dict[str, float], test_gold: Collection[str] = ()) -> dict[str, float | int]:
    """Return MAP per edition (2019, 2020), over CLEF-2020's test debates, and over all debates."""
    groups = {
        "2019": [ap for name, ap in per_debate.items() if name.startswith("2019_")],
        "2020": [ap for name, ap in per_debate.items() if name.startswith("2020_")],
        "2020 test-gold": [ap for name, ap in per_debate.items() if name in test_gold],
        "all": list(per_debate.values()),
    }
    table: dict[str, float | int] = {edition: round(float(np.mean(v)), 4) for edition, v in groups.items() if v}
    table["debates"] = len(per_debate)
    return table


if __name__ == "__main__":
    main()
