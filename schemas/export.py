"""Export the JSON Schema files that sit beside the models; ``python -m schemas.export`` rewrites them."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.extraction import ExtractionRequest, ExtractionResult
from schemas.model_reply import ModelReply

SCHEMA_DIR = Path(__file__).parent / "json"
EXPORTED: dict[str, type[BaseModel]] = {
    "extraction-request": ExtractionRequest,
    "extraction-result": ExtractionResult,
    "model-reply": ModelReply,
}


def render_schema(model: type[BaseModel]) -> str:
    """Return the model's JSON Schema as stable, pretty-printed text."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_path(name: str) -> Path:
    """Return where the exported schema called ``name`` lives."""
    return SCHEMA_DIR / f"{name}.schema.json"


def export_schemas() -> list[Path]:
    """Write every exported schema file and return their paths."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for name, model in EXPORTED.items():
        path = schema_path(name)
        path.write_text(render_schema(model), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in export_schemas():
        print(written_path)
