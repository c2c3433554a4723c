"""What routes are given: the app's pipeline, as an ``Annotated`` dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.pipeline.extraction import Pipeline


async def get_pipeline(request: Request) -> Pipeline:
    """Return the app's pipeline."""
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
