"""What /openapi.json promises: bodies, schemas, errors, HEAD, render options, media types.

These read the document the real app serves; `test_schemathesis` checks that the app keeps
those promises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from darkroom.imaging.query import SHORT_NAMES
from tests.contract.conftest import Served

METHODS = ("get", "head", "post", "put", "patch", "delete")
NO_BODY = {"replay", "backfill", "purge_image", "complete_upload"}
"""Write operations whose path says everything."""
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/avif", "image/gif", "image/tiff"}
BINARY_ROUTES = {
    "/v1/images/{image_id}/original",
    "/v1/images/{image_id}/variants/{profile}",
    "/v1/render",
    "/v1/render/{image_id}",
    "/v1/render/{image_id}/{profile}",
    "/jobs/{job_id}/download",
    "/thumbor/{path}",
    "/imgproxy/{path}",
}
RENDER_ROUTES = {"/v1/render", "/v1/render/{image_id}", "/v1/render/{image_id}/{profile}"}
COMPAT_ROUTES = {"/thumbor/{path}", "/imgproxy/{path}"}
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def document(served: Served) -> dict[str, Any]:
    """The document the running app serves."""
    response = served.http.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation) of the document."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def component(document: dict[str, Any], ref: str) -> dict[str, Any]:
    """The component schema `ref` points at (it must point at one)."""
    assert ref.startswith("#/components/schemas/"), ref
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_operation_ids_are_the_handler_names_and_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert {"upload_image", "get_image", "put_profile", "submit_job", "render_stored"} <= set(ids)


def test_every_write_route_names_its_request_body(document: dict[str, Any]) -> None:
    writes = [
        (path, op)
        for path, method, op in operations(document)
        if method in ("post", "put", "patch") and op["operationId"] not in NO_BODY
    ]
    # upload, sign a direct upload, add variants, add analyses, put profile, put logo,
    # submit job
    assert len(writes) == 7
    for path, op in writes:
        body = op.get("requestBody")
        assert body is not None, path
        assert body["required"], path
        for media_type in body["content"].values():
            schema = component(document, media_type["schema"]["$ref"])
            assert schema.get("properties") or schema.get("oneOf"), path


def test_the_upload_takes_multipart_or_json(document: dict[str, Any]) -> None:
    content = document["paths"]["/v1/images"]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    form = component(document, content["multipart/form-data"]["schema"]["$ref"])
    assert form["properties"]["file"]["format"] == "binary"
    assert set(form["properties"]) == {"file", "profiles", "analyses", "owner_id", "callback_url"}
    json_body = component(document, content["application/json"]["schema"]["$ref"])
    alternatives = [component(document, alt["$ref"]) for alt in json_body["oneOf"]]
    assert [alt["required"] for alt in alternatives] == [["data"], ["url"]]


def test_a_profile_body_is_the_transform_spec(document: dict[str, Any]) -> None:
    body = document["paths"]["/v1/profiles/{name}"]["put"]["requestBody"]
    spec = component(document, body["content"]["application/json"]["schema"]["$ref"])
    assert spec["title"] == "TransformSpec"
    assert {"width", "height", "fit", "gravity", "format", "watermark"} <= set(spec["properties"])


JSON_ROUTES = {
    "health": "HealthOut",
    "ready": "ReadyOut",
    "upload_image": "ImageOut",
    "create_upload": "DirectUploadOut",
    "complete_upload": "ImageOut",
    "list_images": "ImagePage",
    "get_image": "ImageOut",
    "list_image_events": "EventPage",
    "purge_image": "PurgeOut",
    "add_variants": "ImageOut",
    "add_analyses": "ImageOut",
    "get_analysis": "AnalysisOut",
    "list_logos": "LogoPage",
    "get_logo": "LogoOut",
    "put_logo": "LogoOut",
    "list_profiles": "ProfilePage",
    "get_profile": "ProfileOut",
    "put_profile": "ProfileOut",
    "backfill": "BackfillOut",
    "submit_job": "JobSubmitted",
    "get_job": "JobOut",
    "list_dead_letters": "DeadLetterPage",
    "replay": "DeadLetterOut",
}


def test_every_json_answer_names_its_schema(document: dict[str, Any]) -> None:
    answers = {}
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is None:
                continue
            schema = component(document, media["schema"]["$ref"])
            assert schema.get("properties"), (path, method, status)
            if status.startswith("2"):
                answers[op["operationId"]] = schema["title"]
    assert answers == JSON_ROUTES


def test_no_body_is_a_free_form_object(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object":
            assert schema.get("properties"), name


def test_every_route_declares_the_error_schema(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert "500" in errors, (path, method)
        for status, response in errors.items():
            if (path, status) == ("/ready", "503"):
                continue  # readiness answers its checks, whatever their outcome
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref == ERROR_REF, (path, method, status)
    assert "HTTPValidationError" not in json.dumps(document)
    error = component(document, ERROR_REF)
    detail = component(document, error["properties"]["error"]["$ref"])
    assert set(detail["required"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/v1/images", "post", {"400", "401", "403", "409", "413", "415", "422", "503"}),
        ("/v1/images", "get", {"400", "401", "403"}),
        ("/v1/uploads", "post", {"400", "401", "403", "409", "413", "415", "422", "503"}),
        ("/v1/uploads/{upload_id}/complete", "post", {"401", "404", "409", "413", "415", "422"}),
        ("/v1/images/{image_id}", "get", {"401", "404", "503"}),
        ("/v1/images/{image_id}/events", "get", {"401", "404", "503"}),
        ("/v1/images/{image_id}/purge", "post", {"400", "401", "403", "404", "503"}),
        ("/v1/images/{image_id}/variants", "post", {"400", "404", "409", "413", "422"}),
        ("/v1/images/{image_id}/analyses", "post", {"400", "401", "403", "404", "413", "422"}),
        ("/v1/images/{image_id}/analyses/{name}", "get", {"401", "404", "422"}),
        ("/v1/profiles/{name}", "put", {"400", "413", "422"}),
        ("/v1/logos/{name}", "put", {"400", "401", "403", "413", "415", "422"}),
        ("/jobs", "post", {"400", "413", "415", "422"}),
        ("/v1/dead-letters/{letter_id}/replay", "post", {"404", "409"}),
        ("/v1/render/{image_id}", "get", {"401", "403", "404", "413", "415", "422", "503"}),
        ("/v1/render", "get", {"400", "401", "403", "422", "502", "504"}),
        ("/metrics", "get", {"401", "403"}),
    ],
)
def test_the_statuses_each_route_can_answer(
    document: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    assert statuses <= set(document["paths"][path][method]["responses"])


OPEN_PATHS = {"/health", "/ready"}
"""Load balancers' probes: never a key."""
KEY_IF_SENT = {"/metrics", *RENDER_ROUTES, *COMPAT_ROUTES}
"""No key needed (metrics unless configured; renders carry a signature), checked if sent."""
ROLES = {
    "upload_image": "upload",
    "create_upload": "upload",
    "complete_upload": "upload",
    "add_variants": "upload",
    "add_analyses": "upload",
    "delete_image": "upload",
    "purge_image": "upload",
    "submit_job": "upload",
    "put_profile": "admin",
    "list_logos": "admin",
    "get_logo": "admin",
    "get_logo_image": "admin",
    "put_logo": "admin",
    "delete_logo": "admin",
    "delete_profile": "admin",
    "backfill": "admin",
    "list_dead_letters": "admin",
    "replay": "admin",
    "metrics": "admin",
}
"""The least role of each operation that needs more than `read`."""


def test_protected_operations_declare_the_bearer_scheme_role_and_statuses(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "darkroom keys create" in scheme["description"]
    assert "security" not in document  # no global requirement: each operation says its own
    for path, method, op in operations(document):
        name = op["operationId"].removesuffix("_head")
        security = op.get("security")
        if path in OPEN_PATHS:
            assert security is None, path
            continue
        role = ROLES.get(name, "read")
        if path in KEY_IF_SENT:
            assert security == [{}, {"bearer": [role]}], (path, method)
        else:
            assert security == [{"bearer": [role]}], (path, method)
        responses = op["responses"]
        assert "401" in responses, (path, method)
        assert "WWW-Authenticate" in responses["401"]["headers"], (path, method)
        if role != "read":
            assert "403" in responses, (path, method)


def test_head_is_documented_wherever_get_is(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        assert ("get" in item) == ("head" in item), path
        if "head" in item:
            for status, response in item["head"]["responses"].items():
                if status[0] in "23":
                    assert "content" not in response, (path, status)


def test_render_routes_list_their_query_options(document: dict[str, Any]) -> None:
    def query(path: str) -> set[str]:
        params = document["paths"][path]["get"]["parameters"]
        return {p["name"] for p in params if p["in"] == "query"}

    assert query("/v1/render/{image_id}") == set(SHORT_NAMES) | {"sig"}
    assert query("/v1/render") == set(SHORT_NAMES) | {"sig", "url"}
    assert query("/v1/render/{image_id}/{profile}") == {"sig", "fmt", "dpr"}
    for path in RENDER_ROUTES:
        assert (
            document["paths"][path]["head"]["parameters"]
            == (document["paths"][path]["get"]["parameters"])
        )


def test_binary_answers_declare_their_media_types(document: dict[str, Any]) -> None:
    for path in BINARY_ROUTES:
        ok = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(ok) >= IMAGE_TYPES, path
        assert all(m["schema"] == {"type": "string", "format": "binary"} for m in ok.values())
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert [m.split(";")[:2] for m in metrics] == [["text/plain", " version=0.0.4"]]


def test_conditional_and_redirect_answers_are_declared(document: dict[str, Any]) -> None:
    for path in BINARY_ROUTES - {"/jobs/{job_id}/download"}:
        assert "304" in document["paths"][path]["get"]["responses"], path
    variant = document["paths"]["/v1/images/{image_id}/variants/{profile}"]["get"]
    assert "Location" in variant["responses"]["302"]["headers"]


def test_uploads_link_to_what_can_be_done_with_the_image(document: dict[str, Any]) -> None:
    links = document["paths"]["/v1/images"]["post"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in links.values()} >= {"get_image", "delete_image"}
    assert all(link["parameters"] == {"image_id": "$response.body#/id"} for link in links.values())


def test_options_and_405_list_exactly_the_documented_methods(
    document: dict[str, Any], served: Served
) -> None:
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        documented = [m.upper() for m in METHODS if m in item] + ["OPTIONS"]
        options = served.http.options(concrete)
        assert options.status_code == 204, path
        assert options.headers["allow"] == ", ".join(documented), path
        refused = served.http.request("PATCH", concrete)
        assert refused.status_code == 405, path
        assert refused.headers["allow"] == ", ".join(documented), path
        assert refused.json()["error"]["code"] == "method_not_allowed"


ASSET = re.compile(r"""(?:href|src)=["']([^"']+)["']|url: ["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(served: Served, page: str) -> None:
    response = served.http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = [a or b for a, b in ASSET.findall(response.text)]
    urls += re.findall(r'spec-url="([^"]+)"', response.text)
    assert urls, "the page references no asset"
    assert "http://" not in response.text
    assert "https://" not in response.text
    for url in urls:
        assert url.startswith("/"), url
        asset = served.http.get(url)
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in kind, url
            assert len(asset.content) > 100_000, url
        elif url.endswith(".css"):
            assert kind.startswith("text/css"), url
            assert len(asset.content) > 10_000, url
