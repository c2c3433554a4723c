"""CheckThat! 2020's 10,390 Snopes fact-checks as ClaimReview NDJSON, the import format of ``POST /v1/factchecks``.

``python -m benchmarks.clef2020_claimreview OUT.ndjson [TSV]`` (TSV default:
``/work/shared/data/claim-matching-clef2020/verified_claims.docs.tsv``). The data set gives each fact-check an
id, the verified claim and the article's title, but neither its URL nor its rating: the URL written is a
stand-in under ``clef2020.example`` (a reserved name: it links nowhere) made from the id, so that the
import's upsert-by-URL keeps one record per fact-check; the rating is left out; the publisher is Snopes.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

DEFAULT_TSV = Path("/work/shared/data/claim-matching-clef2020/verified_claims.docs.tsv")


def claim_reviews(tsv: Path) -> list[dict[str, object]]:
    """Return one ClaimReview a row of the data set's ``verified_claims.docs.tsv``."""
    with tsv.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    return [
        {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": f"https://clef2020.example/vclaims/{row['']}",
            "claimReviewed": row["vclaim"],
            "name": row["title"],
            "author": {"@type": "Organization", "name": "Snopes"},
            "inLanguage": "en",
        }
        for row in rows
    ]


def main(arguments: list[str]) -> None:
    """Write the NDJSON file named first (reading the TSV named second, if any) and say how many lines."""
    out = Path(arguments[0])
    reviews = claim_reviews(Path(arguments[1]) if len(arguments) > 1 else DEFAULT_TSV)
    out.write_text("".join(json.dumps(review, ensure_ascii=False) + "\n" for review in reviews), encoding="utf-8")
    print(f"{len(reviews):,} ClaimReviews written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
