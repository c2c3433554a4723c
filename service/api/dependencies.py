"""What routes are given, as ``Annotated`` dependencies read off the app's typed ``ServiceState``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.state import ServiceState, service_state
from service.factchecks.archive import FactCheckArchive
from service.factchecks.import_jobs import Importer
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


async def get_importer(request: Request) -> Importer:
    """Return the app's fact-check importer."""
    return service_state(request.app).importer


async def get_archive(request: Request) -> FactCheckArchive:
    """Return the app's fact-check archive."""
    return service_state(request.app).importer.archive


StateDep = Annotated[ServiceState, Depends(get_state)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
JobsDep = Annotated[JobBackend, Depends(get_jobs)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
ImporterDep = Annotated[Importer, Depends(get_importer)]
ArchiveDep = Annotated[FactCheckArchive, Depends(get_archive)]
