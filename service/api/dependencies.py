"""What routes are given, as ``Annotated`` dependencies read off the app's typed ``ServiceState``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.state import ServiceState, service_state
from service.jobs.runner import JobRunner
from service.pipeline.extraction import Pipeline
from service.stores.jobs.job_store import JobBackend


async def get_state(request: Request) -> ServiceState:
    """Return the app's parts."""
    return service_state(request.app)


async def get_pipeline(request: Request) -> Pipeline:
    """Return the app's pipeline."""
    return service_state(request.app).pipeline


async def get_jobs(request: Request) -> JobBackend:
    """Return the app's job store and queue."""
    return service_state(request.app).jobs


async def get_runner(request: Request) -> JobRunner:
    """Return the app's jobs runner."""
    return service_state(request.app).runner


StateDep = Annotated[ServiceState, Depends(get_state)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
JobsDep = Annotated[JobBackend, Depends(get_jobs)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
