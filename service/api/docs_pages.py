"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from assets installed with fastapi-offline: nothing from elsewhere.

The pages name only this service's paths (under a proxy's ``root_path``), and each carries a
Content-Security-Policy that lets the browser load from this origin alone: ReDoc's bundle asks
``cdn.redoc.ly`` for the logo beside "API docs by Redocly", which the policy blocks (ReDoc then leaves it
out), and whatever a later bundle might fetch is blocked the same way. Both pages run an inline script or
inline styles, which the policy allows; ReDoc searches in a ``blob:`` worker.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse

ASSETS = "/static-offline-docs"  # where fastapi-offline mounts the bundles it ships
SAME_ORIGIN_ONLY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

router = APIRouter(include_in_schema=False)


def same_origin_only(page: HTMLResponse) -> HTMLResponse:
    """Return the page with a policy letting the browser load nothing from another origin."""
    page.headers["Content-Security-Policy"] = SAME_ORIGIN_ONLY
    return page


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Serve Swagger UI for this service's OpenAPI document."""
    root = request.scope.get("root_path", "")
    page = get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )
    return same_origin_only(page)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Serve ReDoc for this service's OpenAPI document."""
    root = request.scope.get("root_path", "")
    page = get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    return same_origin_only(page)
