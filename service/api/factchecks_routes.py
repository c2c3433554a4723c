"""The fact-check archive's routes: import ClaimReview, follow a large import, search, show and remove one.

Who may do what: importing and removing need the ``factchecks`` scope (``admin`` holds it, so by default
only admins do); searching and reading one need ``read``. A fact-check is named by its ``url`` (the
ClaimReview's own, by which imports upsert), passed as a query parameter: a URL inside a path would need
escaping twice over, and an id derived from it would be one more name for the same thing.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from schemas.factcheck_archive import FactCheckSearch, ImportJob, ImportReport
from schemas.factchecks import FactCheck
from service.api.auth import AUTH_RESPONSES, require
from service.api.dependencies import ArchiveDep, ImporterDep
from service.errors import NotFound
from service.factchecks.importing import CSV_HEADER, MEDIA_TYPES, read_body
from service.steps.cpu import off_the_loop

router = APIRouter(tags=["factchecks"])
SYNC_ENTRIES = 1000  # an import of more entries than this runs as a job (202), the request not waiting for it
IMPORT_ID = r"^imp_[0-9a-f]{24}$"
QUERY_CHARS = 5000
EXAMPLE_REVIEW = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://www.snopes.com/fact-check/example/",
    "claimReviewed": "122 detainees released from Guantanamo under Obama returned to terrorist activities.",
    "name": "Did 122 Prisoners Released from Guantanamo by President Obama Return to the Battlefield?",
    "reviewRating": {"@type": "Rating", "alternateName": "False"},
    "author": {"@type": "Organization", "name": "Snopes"},
    "datePublished": "2018-03-07",
    "inLanguage": "en",
}
JSON_LD = {
    "type": ["object", "array"],
    "description": "A ClaimReview, a list of them, an @graph, a DataFeed or a Fact Check Tools reply.",
}
UrlQuery = Annotated[
    str,
    Query(
        min_length=1, max_length=2048, description="The fact-check's `url`.",
        openapi_examples={"imported": {"summary": "The example review's", "value": EXAMPLE_REVIEW["url"]}},
    ),
]  # fmt: skip
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No fact-check with that `url`.", "content": {"application/problem+json": {}}}
}
STORE_DOWN: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "The archive's store (SQLite, or Redis) cannot be used now.",
        "content": {"application/problem+json": {}},
    }
}


@router.post(
    "/v1/factchecks",
    response_model=ImportReport,
    summary="Import fact-checks (ClaimReview)",
    dependencies=[Depends(require("factchecks"))],
    responses={
        200: {"description": "The import is done: what was imported, updated and rejected (each with where and why)."},
        202: {
            "description": "A large import (or `Prefer: respond-async`) runs as a job: follow it at `Location`.",
            "model": ImportJob,
            "links": {
                "FollowTheImport": {"operationId": "get_import", "parameters": {"import_id": "$response.body#/id"}}
            },
        },
        413: {
            "description": "The body is larger than `factcheck_max_body_mb`.",
            "content": {"application/problem+json": {}},
        },
        415: {
            "description": f"The Content-Type is none of {', '.join(MEDIA_TYPES)}.",
            "content": {"application/problem+json": {}},
        },
        422: {
            "description": "The body cannot be read as a whole: not UTF-8, not JSON, a CSV header without "
            "`claim_reviewed` "
            "and `url`. (A single bad fact-check is rejected in the report, not the whole body.)",
            "content": {"application/problem+json": {}},
        },
        **STORE_DOWN,
        **AUTH_RESPONSES,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/ld+json": {
                    "schema": JSON_LD,
                    "examples": {"review": {"value": EXAMPLE_REVIEW}},
                },
                "application/json": {"schema": JSON_LD},
                "application/x-ndjson": {
                    "schema": {
                        "description": "Lines of JSON, each a ClaimReview, a list, an @graph or a feed; any JSON "
                        "value makes a line, and a line that holds no fact-check is a rejection in the report."
                    }
                },
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "pattern": CSV_HEADER,
                        "description": "A header, then a row a fact-check: claim_reviewed, url, title, rating, "
                        "publisher, "
                        "date_published, language (the first two required).",
                    }
                },
            },
        }
    },
)
async def import_fact_checks(
    request: Request,
    importer: ImporterDep,
    prefer: Annotated[
        str | None,
        Header(
            description="`respond-async` runs even a small import as a job.",
            openapi_examples={"as-a-job": {"summary": "Run it as a job", "value": "respond-async"}},
        ),
    ] = None,
) -> ImportReport | Response:
    """Import ClaimReview as published: one review, a list, an `@graph`, a DataFeed, a Fact Check Tools reply.

    JSON-LD (`application/ld+json` or `application/json`), NDJSON of them (`application/x-ndjson`), or CSV
    (`text/csv`). Fact-checks are upserted by `url`. Up to 1,000 are imported while the request waits
    (200 with the report); more, or `Prefer: respond-async`, run as a job (202, `Location`).
    """
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    reading = await off_the_loop(partial(read_body, body, content_type), size=len(body))
    if reading.total > SYNC_ENTRIES or "respond-async" in (prefer or "").lower():
        job = await importer.start(reading)
        location = {"Location": f"/v1/factchecks/imports/{job.id}"}
        return JSONResponse(job.model_dump(mode="json"), status_code=202, headers=location)
    return await importer.run(reading)


@router.get(
    "/v1/factchecks/imports/{import_id}",
    response_model=ImportJob,
    summary="Follow an import",
    operation_id="get_import",
    dependencies=[Depends(require("factchecks"))],
    responses={404: {"description": "No such import (or it expired)."}, **STORE_DOWN, **AUTH_RESPONSES},
)
async def get_import(archive: ArchiveDep, import_id: str) -> ImportJob:
    """Show an import job: its state, how many entries of how many were read, and its report so far."""
    job = await archive.store.load_import(import_id) if _is_import_id(import_id) else None
    if job is None:
        raise NotFound(f"no import {import_id!r} (imports are kept for the jobs' retention)")
    return job


@router.get(
    "/v1/factchecks/search",
    response_model=FactCheckSearch,
    summary="Search the archive",
    operation_id="search_fact_checks",
    dependencies=[Depends(require("read"))],
    responses={
        **STORE_DOWN,
        **AUTH_RESPONSES,
    },
)
async def search_fact_checks(
    archive: ArchiveDep,
    q: Annotated[str, Query(min_length=1, max_length=QUERY_CHARS, pattern=r"\S", description="A claim, as text.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    language: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", description="Only fact-checks in it.")
    ] = None,
) -> FactCheckSearch:
    """Return the fact-checks that best match the claim `q`, best first, each with its `score`."""
    return FactCheckSearch(matches=await archive.search(q, limit=limit, language=language))


@router.get(
    "/v1/factchecks",
    response_model=FactCheck,
    summary="Show one fact-check",
    operation_id="get_fact_check",
    dependencies=[Depends(require("read"))],
    responses={**NOT_FOUND, **STORE_DOWN, **AUTH_RESPONSES},
)
async def get_fact_check(archive: ArchiveDep, url: UrlQuery) -> FactCheck:
    """Return the archive's fact-check with this `url`."""
    found = await archive.get(url)
    if found is None:
        raise NotFound("no fact-check with that url")
    return found


@router.delete(
    "/v1/factchecks",
    status_code=204,
    summary="Remove one fact-check",
    operation_id="delete_fact_check",
    dependencies=[Depends(require("factchecks"))],
    responses={**NOT_FOUND, **STORE_DOWN, **AUTH_RESPONSES},
)
async def delete_fact_check(archive: ArchiveDep, url: UrlQuery) -> Response:
    """Remove the fact-check with this `url` (every replica stops matching it at its next search)."""
    if not await archive.remove(url):
        raise NotFound("no fact-check with that url")
    return Response(status_code=204)


def _is_import_id(value: str) -> bool:
    """Say whether ``value`` has the shape of an import id (anything else names no stored key)."""
    return re.fullmatch(IMPORT_ID, value) is not None
