"""What OpenAPI says beyond FastAPI's inference: bodies the routes read themselves, binary
answers, error answers, and HEAD.

Routes declare their contract with the helpers here (`errors`, `binary`, `request_body`);
`finish` completes the generated document once: component schemas of the request bodies,
a HEAD operation beside every GET, and the real error schema wherever FastAPI would have
put its own validation error.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from darkroom.api.request_bodies import MODELS
from darkroom.contract import ErrorBody
from darkroom.imaging import TransformSpec

Responses = dict[int | str, dict[str, Any]]

COMPONENTS = "#/components/schemas/"
ERROR_REF = {"$ref": COMPONENTS + ErrorBody.__name__}

_ERRORS = {
    400: "The request is malformed: a bad parameter, field or body.",
    401: "No API key (once any key exists), or an unknown or revoked one.",
    403: "Not allowed: the key's role or owner does not allow it, a missing or wrong "
    "signature, or a URL that may not be fetched.",
    404: "No such resource (or not in a state that has it yet).",
    409: "Conflicts with the current state.",
    413: "Over a size limit: bytes, pixels or frames.",
    415: "Not an image format Darkroom accepts.",
    422: "Well-formed but refused: invalid parameters or spec, unknown profile, corrupt image.",
    502: "The remote server failed or could not be reached.",
    503: "A dependency is unavailable, or too much work is queued (see Retry-After).",
    504: "The remote server did not answer in time.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying, when the service is busy.",
        "schema": {"type": "string"},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'The scheme to authenticate with: `Bearer realm="darkroom"`.',
        "schema": {"type": "string"},
    }
}

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/avif", "image/gif", "image/tiff")
"""What variants, renders and jobs are encoded as."""
ORIGINAL_TYPES = (*IMAGE_TYPES, "image/heif", "image/svg+xml", "application/pdf")
"""What an original can be (SVG and PDF only where enabled)."""

ETAG = {"description": "Entity tag; send it back in If-None-Match.", "schema": {"type": "string"}}
CACHE_CONTROL = {"description": "Caching policy.", "schema": {"type": "string"}}


def errors(*statuses: int) -> Responses:
    """The error answers a route can give, each with the `{"error": {...}}` body."""
    responses: Responses = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _ERRORS[status]}
        if status == 503:
            entry["headers"] = _RETRY_AFTER
        elif status == 401:
            entry["headers"] = _WWW_AUTHENTICATE
        responses[status] = entry
    return responses


def header(description: str) -> dict[str, Any]:
    """A string response header."""
    return {"description": description, "schema": {"type": "string"}}


def binary(
    description: str, media_types: Iterable[str], headers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A response whose body is the bytes of a file of one of `media_types`."""
    schema = {"type": "string", "format": "binary"}
    entry: dict[str, Any] = {
        "description": description,
        "content": {media_type: {"schema": schema} for media_type in media_types},
    }
    if headers:
        entry["headers"] = dict(headers)
    return entry


def not_modified(headers: Mapping[str, Any]) -> dict[str, Any]:
    """The 304 answer to a matching If-None-Match."""
    return {"description": "Not modified: the If-None-Match tag matches.", "headers": dict(headers)}


def links(parameter: str, source: str, *operation_ids: str) -> dict[str, Any]:
    """OpenAPI links from a response to the operations that take `parameter` from `source`.

    `source` is a runtime expression, e.g. `$response.body#/id` or `$request.path.name`.
    """
    return {
        "".join(part.capitalize() for part in operation_id.split("_")): {
            "operationId": operation_id,
            "parameters": {parameter: source},
        }
        for operation_id in operation_ids
    }


def request_body(*alternatives: tuple[str, type[BaseModel]]) -> dict[str, Any]:
    """`openapi_extra` declaring a required body of these (media type, model) alternatives."""
    content = {
        media_type: {"schema": {"$ref": COMPONENTS + model.__name__}}
        for media_type, model in alternatives
    }
    return {"requestBody": {"required": True, "content": content}}


def body_components() -> dict[str, Any]:
    """The component schemas of every request body model and of the transformation spec."""
    models: list[type[BaseModel]] = [*MODELS, TransformSpec]
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template=COMPONENTS + "{model}"
    )
    components: dict[str, Any] = top["$defs"]
    _zero_turns_off(components[TransformSpec.__name__])
    return components


def _zero_turns_off(spec: dict[str, Any]) -> None:
    # The spec accepts 0 for blur and sharpen (off), which its own schema does not say.
    for name in ("blur", "sharpen"):
        field = spec["properties"][name]
        field["anyOf"].insert(0, {"type": "number", "const": 0})


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    """Complete FastAPI's document in place: body components, HEAD, the real error schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in body_components().items():
        if components.setdefault(name, body) != body:
            raise RuntimeError(f"two different schemas are named {name}")
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            _use_error_schema(operation["responses"])
            for parameter in operation.get("parameters", ()):
                _absent_not_null(parameter)
        _add_head(path_item)
    return schema


def _absent_not_null(parameter: dict[str, Any]) -> None:
    # FastAPI writes an optional parameter as `anyOf: [X, null]`, but a query or header
    # value cannot be null: leaving it out is how it is not given.
    schema = parameter["schema"]
    branches = schema.get("anyOf", [])
    if parameter.get("required") or {"type": "null"} not in branches:
        return
    rest = [b for b in branches if b != {"type": "null"}]
    del schema["anyOf"]
    if schema.get("default", 0) is None:
        del schema["default"]
    if len(rest) == 1:
        schema.update(rest[0])
    else:
        schema["anyOf"] = rest


def _use_error_schema(responses: dict[str, Any]) -> None:
    for response in responses.values():
        for media in response.get("content", {}).values():
            if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                media["schema"] = dict(ERROR_REF)  # what a refused parameter really gets
    if "500" not in responses:
        responses["500"] = {
            "description": "An unexpected error (a bug; it has been logged).",
            "content": {"application/json": {"schema": dict(ERROR_REF)}},
        }


def _add_head(path_item: dict[str, Any]) -> None:
    get = path_item.get("get")
    if get is None or "head" in path_item:
        return
    head = copy.deepcopy(get)
    head["operationId"] = f"{get['operationId']}_head"
    head["summary"] = f"{get.get('summary', '')} (headers only)".strip()
    head["description"] = "The same answer as GET, without its body."
    for status, response in head["responses"].items():
        # HEAD answers carry no body; error answers keep documenting the shape GET sends.
        if status.startswith(("1", "2", "3")):
            response.pop("content", None)
    # The same order as the methods in `Allow`: GET, HEAD, then the others.
    items = list(path_item.items())
    path_item.clear()
    for method, operation in items:
        path_item[method] = operation
        if method == "get":
            path_item["head"] = head
