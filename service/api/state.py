"""What the app holds for its routes: one typed container, set once by the app factory, read through dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette

if TYPE_CHECKING:  # the auth module reads the state itself; typing-only imports keep the two free of a cycle
    from service.api.auth import Keyring
    from service.factchecks.import_jobs import Importer
    from service.jobs.runner import JobRunner
    from service.pipeline.extraction import Pipeline
    from service.stores.jobs.job_store import JobBackend
    from service.stores.limits.quotas import KeyQuotas


@dataclass(frozen=True, slots=True)
class ServiceState:
    """The app's long-lived parts: the pipeline, the job store and its runner, the keys, quotas, fact-check imports."""

    pipeline: Pipeline
    jobs: JobBackend
    runner: JobRunner
    keyring: Keyring
    quotas: KeyQuotas
    importer: Importer


def attach(app: Starlette, state: ServiceState) -> None:
    """Give ``app`` its parts (the app factory does it once; a test may swap one part for another)."""
    app.state.service = state


def service_state(app: Starlette) -> ServiceState:
    """Return the parts the app factory attached to ``app``."""
    state = app.state.service
    if not isinstance(state, ServiceState):  # pragma: no cover - only an app not built by create_app lacks it
        raise TypeError("the app has no ServiceState: build it with service.api.app.create_app")
    return state
