"""The matcher (numpy, bm25s and scipy: about 45 MB) loads with the first fact-check held, never before.

Each case runs in a fresh interpreter, so ``sys.modules`` says what the service really imported: the app
started through its lifespan, an extraction asking for matches answered, then (in one case) a fact-check
imported and searched. Each runs matching lexically (``none``, as on the default install) and with the
multilingual extra's embedder (``auto``, the test extra installing it), which an empty archive never loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from service.api.app import create_app
from service.factchecks.embedder_choice import configured_embedder
from service.settings import Settings

settings = Settings(cache_dir=sys.argv[1] + "/cache", data_dir=sys.argv[1] + "/data", factcheck_embedder=sys.argv[3],
    multilingual_checkworthiness=False)  # the offline model's check-worthiness would load the extra's model
seen = {"embedder": type(configured_embedder(settings)).__name__}
with TestClient(create_app(settings)) as client:
    seen["ready"] = client.get("/readyz").status_code
    article = {"text": "Violent crime fell 15.2% in 2024, the FBI said."}
    body = {"article": article, "options": {"match_factchecks": True}}
    reply = client.post("/v1/extractions", json=body).json()
    seen["fact_checks"] = [claim["fact_checks"] for claim in reply["claims"]]
    seen["search"] = client.get("/v1/factchecks/search", params={"q": "violent crime"}).json()
    seen["at_rest"] = {name: name in sys.modules for name in ("numpy", "bm25s", "service.factchecks.matching")}
    if sys.argv[2] == "import":
        review = {"@type": "ClaimReview", "url": "https://fc.example/crime", "claimReviewed": "Crime fell 15.2%"}
        seen["imported"] = client.post("/v1/factchecks", json=review).status_code
        found = client.get("/v1/factchecks/search", params={"q": "crime fell"}).json()["matches"]
        seen["found"] = [match["url"] for match in found]
        seen["after_import"] = {name: name in sys.modules for name in ("numpy", "bm25s")}
print(json.dumps(seen))
"""


def run_service(tmp_path: Path, then: str, embedder: str) -> dict[str, object]:
    """Run the script in a new interpreter (no network: nothing it does leaves the process); return what it saw."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CLAIMS_")}
    completed = subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-c", SCRIPT, str(tmp_path), then, embedder],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
        cwd=Path(__file__).parents[2],
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize("embedder", ["none", "auto"])
def test_a_service_with_an_empty_archive_never_loads_the_matcher(tmp_path: Path, embedder: str) -> None:
    """Started, an extraction with match_factchecks and a search answered: numpy and bm25s are not imported."""
    seen = run_service(tmp_path, "stop", embedder)
    assert seen["embedder"] == {"none": "NoneType", "auto": "DeferredOfflineEmbedder"}[embedder]  # the extra is here
    assert seen["ready"] == 200
    assert seen["fact_checks"] == [[]]  # one claim, matched against nothing
    assert seen["search"] == {"matches": []}
    assert seen["at_rest"] == {"numpy": False, "bm25s": False, "service.factchecks.matching": False}


@pytest.mark.parametrize("embedder", ["none", "auto"])
def test_the_first_fact_check_imported_loads_it_and_is_found(tmp_path: Path, embedder: str) -> None:
    """Importing a fact-check builds the matcher then: the search finds it (what the laziness must not lose)."""
    seen = run_service(tmp_path, "import", embedder)
    assert seen["at_rest"] == {"numpy": False, "bm25s": False, "service.factchecks.matching": False}
    assert seen["imported"] == 200
    assert seen["found"] == ["https://fc.example/crime"]
    assert seen["after_import"] == {"numpy": True, "bm25s": True}
