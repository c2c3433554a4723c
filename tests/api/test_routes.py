"""The HTTP API end to end on the offline model: contract, cache, errors as problem+json."""

from __future__ import annotations

import dataclasses
import gc
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from service.api.app import create_app
from service.api.state import attach, service_state
from service.settings import Settings

BOILERPLATE = ("This is a developing story", "Please check back for updates", "Read the full article here")
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def post_article(client: TestClient, text: str, **options: Any) -> Any:
    """POST an article and return the response."""
    return client.post("/v1/extractions", json={"article": {"id": "sample", "text": text}, "options": options})


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """Assert a problem+json response with every RFC 9457 member and our request id; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["type"].endswith("/" + slug)
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


def test_sample_article_yields_grounded_claims(client: TestClient, sample_article: str) -> None:
    """The sample article gives at least 8 grounded claims, the key figures among them, none from boilerplate."""
    response = post_article(client, sample_article)
    assert response.status_code == 200, response.text
    result = response.json()
    claims = result["claims"]
    assert len(claims) >= 8
    quotes = [claim["source"]["quote"] for claim in claims]
    for figure in ("1,324,994", "15.2%", "42-minute delay"):
        assert any(figure in quote for quote in quotes), figure
    for claim in claims:
        source = claim["source"]
        assert sample_article[source["start"] : source["end"]] == source["quote"]
        assert not any(phrase in source["quote"] for phrase in BOILERPLATE)
    assert result["status"] == "complete"
    assert result["errors"] == []


def test_reply_contract_is_whole(client: TestClient, sample_article: str) -> None:
    """The reply carries article id, provenance and usage exactly as the contract says."""
    result = post_article(client, sample_article).json()
    prompt = result["provenance"]["prompt"]
    assert len(prompt.pop("sha256")) == 64
    assert result["article_id"] == "sample"
    assert result["provenance"] == {
        "requested_model": "default",
        "models": [
            {"alias": "default", "model": "offline/rules", "chunks": result["usage"]["chunks"], "fallback": False}
        ],
        "fallback_used": False,
        "prompt": {"name": "extract_claims", "version": 1},
        "schema_version": "1",
        "service_version": "0.1.0",
    }
    usage = result["usage"]
    assert usage["chunks"] >= 1
    assert usage | {"prompt_tokens": 0, "completion_tokens": 0} == {
        "chunks": usage["chunks"],
        "model_calls": usage["chunks"],
        "cache_hits": 0,
        "repairs": 0,
        "retries": 0,
        "fallbacks": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
    }
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    first = result["claims"][0]
    assert set(first) == {
        *("id", "text", "type", "claimant", "attribution", "standalone", "checkworthiness", "source", "chunk"),
        *("model_alias", "model", "fact_checks"),
    }
    assert {(claim["model_alias"], claim["model"]) for claim in result["claims"]} == {("default", "offline/rules")}
    assert {claim["fact_checks"] for claim in result["claims"]} == {None}  # matching not asked for: null, not []
    assert first["id"].startswith("clm_")


def test_second_identical_post_is_served_from_cache(client: TestClient, sample_article: str) -> None:
    """Re-POSTing the same article makes no model call and returns the same claims."""
    first = post_article(client, sample_article).json()
    second = post_article(client, sample_article).json()
    assert second["usage"]["cache_hits"] == second["usage"]["chunks"] == first["usage"]["chunks"]
    assert second["usage"]["model_calls"] == 0
    assert second["usage"]["prompt_tokens"] == 0
    assert second["claims"] == first["claims"]


def test_cache_can_be_bypassed_per_request(client: TestClient, sample_article: str) -> None:
    """``options.cache: false`` calls the model again even when a reply is cached."""
    post_article(client, sample_article)
    again = post_article(client, sample_article, cache=False).json()
    assert again["usage"]["cache_hits"] == 0
    assert again["usage"]["model_calls"] == again["usage"]["chunks"]


def test_filters_keep_only_wanted_claims(client: TestClient, sample_article: str) -> None:
    """``claim_types`` and ``min_checkworthiness`` narrow the claims returned."""
    everything = post_article(client, sample_article).json()["claims"]
    quantities = post_article(client, sample_article, claim_types=["quantity"]).json()["claims"]
    assert quantities
    assert all(claim["type"] == "quantity" for claim in quantities)
    assert len(quantities) < len(everything)
    strong = post_article(client, sample_article, min_checkworthiness=0.9).json()["claims"]
    assert all(claim["checkworthiness"] >= 0.9 for claim in strong)


def test_empty_text_is_a_422_problem(client: TestClient) -> None:
    """An empty article text is refused with a 422 problem naming the field."""
    body = assert_problem(client.post("/v1/extractions", json={"article": {"text": ""}}), 422, "invalid-request")
    assert body["title"] == "Invalid request body"
    assert "article.text" in body["detail"]
    assert body["instance"] == "/v1/extractions"


def test_body_that_is_not_json_is_a_422_problem(client: TestClient) -> None:
    """A body that is not JSON is refused with a 422 problem saying so."""
    response = client.post("/v1/extractions", content=b"{not json", headers={"content-type": "application/json"})
    body = assert_problem(response, 422, "invalid-request")
    assert body["detail"] == "the body is not valid JSON"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(
            b'{"article": {"id": "a", "text": "caf\xe9 prices rose 3%."}}', "it is not UTF-8 text", id="latin-1"
        ),
        pytest.param(b'{"article": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001, "it nests too deeply", id="deep"),
    ],
)
def test_body_json_cannot_decode_is_a_422_problem_saying_why(client: TestClient, content: bytes, reason: str) -> None:
    """A body the JSON decoder gives up on (bad bytes, absurd nesting) is a 422 like any other non-JSON body."""
    response = client.post("/v1/extractions", content=content, headers={"content-type": "application/json"})
    body = assert_problem(response, 422, "invalid-request")
    assert body["detail"] == f"the body is not valid JSON: {reason}"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_json_sent_without_a_json_content_type_says_which_header_to_send(client: TestClient, content_type: str) -> None:
    """A JSON body sent as text or as a form (curl -d's default) is refused with the header to send instead."""
    payload = b'{"article": {"id": "a", "text": "Prices rose 3%."}}'
    response = client.post("/v1/extractions", content=payload, headers={"content-type": content_type})
    body = assert_problem(response, 422, "invalid-request")
    assert body["detail"] == (
        f"the body was not read as JSON: send it with Content-Type: application/json, not {content_type}"
    )


def test_json_with_a_charset_or_a_json_suffix_type_is_accepted(client: TestClient) -> None:
    """``application/json; charset=utf-8`` and ``application/…+json`` bodies are read as JSON."""
    payload = b'{"article": {"id": "a", "text": "Prices rose 3%."}}'
    for content_type in ("application/json; charset=utf-8", "application/vnd.claims+json"):
        response = client.post("/v1/extractions", content=payload, headers={"content-type": content_type})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"article": {}},
        {"article": {"text": 42}},
        {"article": {"text": "   \n "}},
        {"article": {"text": "x"}, "options": {"min_checkworthiness": 2}},
        {"article": {"text": "x"}, "surprise": True},
        ["not", "an", "object"],
    ],
)
def test_wrong_shapes_are_422_problems(client: TestClient, payload: Any) -> None:
    """Missing text, blank text, wrong types and unknown fields are refused with 422 problems."""
    assert_problem(client.post("/v1/extractions", json=payload), 422, "invalid-request")


def test_unknown_model_alias_is_a_422_problem(client: TestClient) -> None:
    """A model alias that is not configured is refused, listing the aliases that are."""
    body = assert_problem(post_article(client, "Prices rose 3%.", model="gpt-9"), 422, "unknown-model")
    assert body["detail"] == "unknown model 'gpt-9'; configured aliases: default"


def test_unknown_prompt_version_is_a_422_problem(client: TestClient) -> None:
    """A prompt version that is not loaded is refused with 422."""
    body = assert_problem(post_article(client, "Prices rose 3%.", prompt="extract_claims@99"), 422, "unknown-prompt")
    assert "extract_claims@1" in body["detail"]


def test_article_over_the_limit_is_a_413_problem(tmp_path: Any) -> None:
    """An article longer than ``max_article_chars`` is refused with 413."""
    app = create_app(Settings(cache_dir=tmp_path / "cache", max_article_chars=100))
    with TestClient(app) as small_client:
        body = assert_problem(post_article(small_client, "Prices rose 3%. " * 10), 413, "article-too-large")
    assert body["detail"] == "article has 160 characters; the limit is 100"


def test_an_article_within_the_limit_fits_the_body_cap_even_fully_escaped(tmp_path: Any) -> None:
    """A client whose JSON escapes every non-ASCII character (an emoji as two escapes) is never refused for it."""
    app = create_app(Settings(cache_dir=tmp_path / "cache", max_article_chars=30_000))
    text = ("Prices rose 3% in May. " + "\N{GRINNING FACE}" * 77) * 300  # exactly 30,000 characters
    body = json.dumps({"article": {"id": "emoji", "text": text}}, ensure_ascii=True).encode()
    assert len(text) == 30_000
    assert len(body) > 30_000 * 4 + 64 * 1024  # over a cap of 4 bytes a character
    with TestClient(app) as small_client:
        response = small_client.post("/v1/extractions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_oversized_body_is_refused_before_parsing(tmp_path: Any) -> None:
    """A body whose Content-Length exceeds the cap is refused with 413 without being read."""
    app = create_app(Settings(cache_dir=tmp_path / "cache", max_article_chars=10, max_html_chars=10))
    with TestClient(app) as small_client:
        response = small_client.post(
            "/v1/extractions", content=b"x" * 70_000, headers={"content-type": "application/json"}
        )
    assert_problem(response, 413, "body-too-large")


async def test_oversized_chunked_body_is_refused_as_it_streams_in(tmp_path: Any) -> None:
    """A body sent chunked, with no Content-Length, is cut off with 413 once it passes the cap, not read whole."""
    app = create_app(Settings(cache_dir=tmp_path / "cache", max_article_chars=10, max_html_chars=10))  # cap: 65,656 B
    pulled: list[int] = []
    sent: list[Message] = []

    async def receive() -> Message:
        pulled.append(10_000)
        return {"type": "http.request", "body": b"x" * 10_000, "more_body": len(pulled) < 1_000}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/extractions",
        "raw_path": b"/v1/extractions",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
    }
    await app(scope, receive, send)

    start, body = sent[0], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert start["status"] == 413
    assert (b"content-type", b"application/problem+json") in start["headers"]
    assert body["type"] == "/problems/body-too-large"
    assert body["detail"] == "the body is over the limit of 65,656 bytes"
    assert len(pulled) == 7  # 70,000 bytes pulled in, the first count past the cap; the other 9.93 MB never were


def test_unknown_prompt_on_get_is_a_404_problem(client: TestClient) -> None:
    """Asking for a prompt version that does not exist is a 404 problem."""
    assert_problem(client.get("/v1/prompts/extract_claims/99"), 404, "not-found")
    assert_problem(client.get("/v1/no-such-route"), 404, "not-found")


def test_unexpected_failure_is_a_500_problem_without_details(settings: Settings) -> None:
    """An unforeseen exception becomes a 500 problem that shows no traceback or message."""
    app = create_app(settings)

    async def explode(request: Any) -> Any:
        raise RuntimeError("internal detail sk-secret")

    broken_pipeline = type("Broken", (), {"extract": staticmethod(explode)})()
    attach(app, dataclasses.replace(service_state(app), pipeline=broken_pipeline))
    with TestClient(app, raise_server_exceptions=False) as broken:
        response = broken.post(
            "/v1/extractions", json={"article": {"text": "Prices rose 3%."}}, headers={"x-request-id": "abc-123"}
        )
    body = assert_problem(response, 500, "internal-error")  # the X-Request-ID header matches the body's
    assert body["request_id"] == "abc-123"
    assert "sk-secret" not in response.text
    assert "internal detail" not in response.text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    """A caller's X-Request-ID comes back; without one the service makes one."""
    assert client.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_prompts_are_listed_and_shown(client: TestClient) -> None:
    """The prompt catalogue lists v1, v2 and v3 as released and shows their templates."""
    listed = client.get("/v1/prompts").json()
    assert [(p["name"], p["version"], p["status"]) for p in listed] == [
        ("extract_claims", 1, "released"),
        ("extract_claims", 2, "released"),
        ("extract_claims", 3, "released"),
    ]
    shown = client.get("/v1/prompts/extract_claims/1").json()
    assert shown["sha256"] == listed[0]["sha256"]
    assert [message["role"] for message in shown["messages"]] == ["system", "user"]
    assert "[S{{ sentence.id }}]" in shown["messages"][1]["content"]


def test_models_are_listed_without_secrets(openai_settings: Settings) -> None:
    """GET /v1/models lists aliases and provider models, never keys or their references."""
    with TestClient(create_app(openai_settings)) as openai_client:
        models = openai_client.get("/v1/models").json()
    assert models == [
        {"name": "gpt", "model": "openai/gpt-4o-mini", "default": True, "fallbacks": []},
        {"name": "default", "model": "offline/rules", "default": False, "fallbacks": []},
    ]


def test_health_and_readiness(client: TestClient) -> None:
    """Liveness is plain; readiness reports prompts, the cache and the job store (more in test_readiness.py)."""
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["checks"]["prompts"] == {"status": "ok", "versions": 3}
    assert set(ready["checks"]["cache"]) == {
        *("status", "entries", "bytes", "hits", "misses", "writes"),
        *("unreadable", "healed", "failures"),
    }
    assert ready["checks"]["jobs"] == {"status": "ok", "store": "sqlite"}


def test_openapi_documents_the_contract(client: TestClient) -> None:
    """The OpenAPI document has the worked example and the problem responses; /docs serves."""
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/extractions"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["examples"]["news"]["value"]
    assert "1,324,994" in example["article"]["text"]
    assert {"413", "422", "502"} <= set(operation["responses"])
    assert client.get("/docs").status_code == 200


def test_openapi_describes_every_error_response_as_a_problem(client: TestClient) -> None:
    """Each 4xx/5xx response of each route is ``application/problem+json`` with the Problem schema, none FastAPI's."""
    spec = client.get("/openapi.json").json()
    errors = {
        (path, method, status): response["content"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }
    assert ("/v1/prompts/{name}/{version}", "get", "422") in errors
    assert ("/problems/{slug}", "get", "404") in errors
    assert all(
        content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for content in errors.values()
    )
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail", "instance", "request_id"]
    actual = client.get("/v1/prompts/extract_claims/abc")
    assert_problem(actual, 422, "invalid-request")


def test_problem_types_are_documented(client: TestClient) -> None:
    """Every problem type URI the service returns resolves to its documentation."""
    problem = client.post("/v1/extractions", json={"article": {"text": ""}}).json()
    documented = client.get(problem["type"]).json()
    assert documented == {
        "type": "/problems/invalid-request",
        "title": "Invalid request body",
        "status": 422,
        "description": "The body is not JSON, or not an extraction request.",
    }
    assert_problem(client.get("/problems/no-such-problem"), 404, "not-found")


def test_wrong_method_is_a_405_problem_saying_which_methods_are_allowed(client: TestClient) -> None:
    """A known route called with the wrong method is a 405 problem carrying ``Allow`` (RFC 9110)."""
    response = client.get("/v1/extractions")
    problem = assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"
    assert problem["detail"] == "GET is not allowed on /v1/extractions; it takes POST"
    assert client.delete("/readyz").headers["allow"] == "GET"


@pytest.mark.parametrize("digits", [4_301, 100_000])
def test_an_integer_with_thousands_of_digits_is_a_422_like_any_unreadable_body(client: TestClient, digits: int) -> None:
    """A number JSON readers refuse (over 4,300 digits) is a 422 problem saying so, not an undocumented 400."""
    body = '{"article": {"text": "Prices rose."}, "options": {"min_checkworthiness": ' + "9" * digits + "}}"
    response = client.post("/v1/extractions", content=body, headers={"content-type": "application/json"})
    problem = assert_problem(response, 422, "invalid-request")
    assert problem["detail"] == "the body cannot be read: a number in it has more than 4,300 digits"


@pytest.mark.parametrize(
    ("page", "asset"),
    [("/docs", "/static-offline-docs/swagger-ui-bundle.js"), ("/redoc", "/static-offline-docs/redoc.standalone.js")],
)
def test_the_api_docs_work_with_no_internet(client: TestClient, page: str, asset: str) -> None:
    """Swagger UI and ReDoc load their scripts from the service itself (an installed package), never a CDN."""
    html = client.get(page).text
    assert asset in html
    assert "cdn" not in html.lower()
    assert "fonts.googleapis" not in html
    script = client.get(asset)
    assert script.status_code == 200
    assert len(script.content) > 100_000


def test_a_served_app_exempts_its_warm_start_up_objects_from_collection(settings: Settings) -> None:
    """The served app (``freeze_startup_objects``) freezes what start-up left alive; the default app does not."""
    gc.unfreeze()
    with TestClient(create_app(settings)):
        assert gc.get_freeze_count() == 0
    try:
        with TestClient(create_app(settings, freeze_startup_objects=True)) as served:
            assert gc.get_freeze_count() > 100_000  # litellm and its dependencies, at least
            assert served.get("/readyz").status_code == 200
    finally:
        gc.unfreeze()
