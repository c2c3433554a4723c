"""The floor to compare the cached path with: a bare FastAPI endpoint that returns a fixed extraction result.

It accepts the same POST body as ``/v1/extractions`` (decoded as JSON, as FastAPI would), and answers with
the JSON the real service gave for that article, loaded from the file named by ``BENCH_BARE_REPLY``. Served
by uvicorn with the same options as the service.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse


def create_bare_app() -> FastAPI:
    """Build the bare app answering with the document in ``BENCH_BARE_REPLY``."""
    reply = json.loads(Path(os.environ["BENCH_BARE_REPLY"]).read_text(encoding="utf-8"))
    app = FastAPI()

    @app.post("/v1/extractions")
    async def extraction(body: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008 -- FastAPI's idiom
        """Return the fixed reply."""
        return JSONResponse(reply)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        """Say the app is up."""
        return {"status": "ready"}

    return app
