"""The CLEF 2020 CheckThat! claim-retrieval data (task 2, English): Snopes fact-checks, tweets and their pairs.

``verified_claims.docs.tsv`` holds ``id, vclaim, title`` (CSV quoting, some claims span lines);
``<split>/tweets.queries.tsv`` holds ``id, tweet``; ``<split>/tweet-vclaim-pairs.qrels`` is TREC qrels.
Each fact-check becomes a ``FactCheck`` whose url is ``clef2020:vclaim:<id>`` (the data has no URLs).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from schemas.factchecks import FactCheck

SPLITS = ("train", "dev")
URL_PREFIX = "clef2020:vclaim:"


@dataclass(frozen=True, slots=True)
class Tweet:
    """One query tweet and the urls of the fact-checks that verify it."""

    id: str
    text: str
    relevant: frozenset[str]


@dataclass(frozen=True, slots=True)
class ClaimMatchingData:
    """The fact-checks and the tweets of each split."""

    fact_checks: list[FactCheck]
    tweets: dict[str, list[Tweet]]


def _rows(path: Path) -> list[list[str]]:
    """Return a tab-separated file's rows without its header."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))[1:]


def _qrels(path: Path) -> dict[str, set[str]]:
    """Return each tweet id's relevant fact-check urls."""
    relevant: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] != "0":
            relevant.setdefault(parts[0], set()).add(URL_PREFIX + parts[2])
    return relevant


def read_claim_matching(data_dir: Path) -> ClaimMatchingData:
    """Read the fact-checks and the train and dev tweets from ``data_dir``."""
    fact_checks = [
        FactCheck(url=URL_PREFIX + row[0], claim_reviewed=row[1], title=row[2] or None, language="en")
        for row in _rows(data_dir / "verified_claims.docs.tsv")
        if len(row) == 3 and row[1].strip()
    ]
    tweets = {}
    for split in SPLITS:
        relevant = _qrels(data_dir / split / "tweet-vclaim-pairs.qrels")
        tweets[split] = [
            Tweet(row[0], row[1], frozenset(relevant.get(row[0], ())))
            for row in _rows(data_dir / split / "tweets.queries.tsv")
            if len(row) == 2
        ]
    return ClaimMatchingData(fact_checks, tweets)
