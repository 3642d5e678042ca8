"""The OpenAPI 3.1 document, generated from the registered routes and the JSON Schemas they name.

Each route's view carries its `RouteDoc`; the paths come from the app's own route table and the bodies
from `chalicelib/schemas/`, so the document describes exactly what is deployed.
"""

from __future__ import annotations

from typing import Any

from chalicelib.handlers.http import RouteDoc
from chalicelib.validation import load_schema

ERROR_TEXT = {
    400: "The request is malformed or breaks its schema",
    401: "Missing, invalid or expired bearer token",
    403: "The caller's role or scope does not allow this",
    404: "No such resource, or not visible to the caller",
    405: "The route does not take this method",
    409: "Conflict with the current state (stale version, illegal transition)",
    413: "The request body is larger than this route accepts",
    415: "The request body is not sent as application/json",
    422: "A catalogue or directive rule refuses the request",
    502: "An outside party (document store, gateway, partner) answered wrongly",
    503: "An outside party could not be reached; retry",
}


# What a cacheable route (`RouteDoc.cacheable`) answers with; the If-None-Match it takes is one of its
# `RouteDoc.header_params()`, published below with the others.
CACHE_HEADERS = {
    "ETag": {"description": "strong validator: a hash of the body", "schema": {"type": "string"}},
    "Cache-Control": {"description": "public, for as long as the catalogue is cached", "schema": {"type": "string"}},
}


def _component_name(schema_file: str) -> str:
    return schema_file.removesuffix(".json")


def _ref(schema_file: str, components: dict[str, Any]) -> dict[str, str]:
    name = _component_name(schema_file)
    if name not in components:
        components[name] = {}  # reserve first: schemas may refer to each other
        schema = load_schema(schema_file)
        body = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
        components[name] = _rewrite_refs(body, name, components)
    return {"$ref": f"#/components/schemas/{name}"}


def _rewrite_refs(node: Any, name: str, components: dict[str, Any]) -> Any:
    """Make a schema's references point inside the OpenAPI document: `other.v1.json` to its component,
    `#/$defs/x` to the same definition under this component."""
    if isinstance(node, list):
        return [_rewrite_refs(item, name, components) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            if value.startswith("#/"):
                out[key] = f"#/components/schemas/{name}/{value[2:]}"
            else:
                out[key] = _ref(value, components)["$ref"]
        else:
            out[key] = _rewrite_refs(value, name, components)
    return out


def route_docs(routes: dict[str, dict[str, Any]]) -> list[tuple[str, str, RouteDoc | None]]:
    """(path, method, doc) for every registered route; doc is None where a view has none."""
    out = []
    for path, methods in sorted(routes.items()):
        for method, entry in sorted(methods.items()):
            out.append((path, method, getattr(entry.view_function, "__route_doc__", None)))
    return out


def build_openapi(routes: dict[str, dict[str, Any]], *, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for path, method, doc in route_docs(routes):
        if doc is None:
            raise ValueError(f"{method} {path} has no RouteDoc")
        operation: dict[str, Any] = {"summary": doc.summary, "responses": {}}
        declared = [p.name for p in doc.path]
        if declared != _path_params(path):
            raise ValueError(f"{method} {path}: RouteDoc.path declares {declared}, the route has {_path_params(path)}")
        parameters = [
            {"name": p.name, "in": "path", "required": True, "description": p.description, "schema": p.schema}
            for p in doc.path
        ]
        parameters += [
            {"name": p.name, "in": "query", "required": p.required, "description": p.description, "schema": p.schema}
            for p in doc.query
        ]
        parameters += [
            {"name": p.name, "in": "header", "required": p.required, "description": p.description, "schema": p.schema}
            for p in doc.header_params()
        ]
        if parameters:
            operation["parameters"] = parameters
        if doc.request_schema:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(doc.request_schema, components)}},
            }
        success: dict[str, Any] = {"description": "Success"}
        if doc.response_schema:
            success["content"] = {"application/json": {"schema": _ref(doc.response_schema, components)}}
        for media_type in doc.other_media_types:
            success.setdefault("content", {})[media_type] = {"schema": {"type": "string", "format": "binary"}}
        if doc.returns_html:
            success["content"] = {"text/html": {"schema": {"type": "string"}}}
        if doc.cacheable:
            success["headers"] = CACHE_HEADERS
        operation["responses"][str(doc.success_status)] = success
        if doc.cacheable:
            operation["responses"]["304"] = {"description": "Not modified: If-None-Match names the current ETag",
                                             "headers": CACHE_HEADERS}
        error_ref = _ref("error.v1.json", components)
        for status in sorted(set(doc.errors) | _boundary_errors(doc)):
            operation["responses"][str(status)] = {
                "description": ERROR_TEXT[status],
                "content": {"application/json": {"schema": error_ref}},
            }
        if doc.auth:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "DVC Cloud API", "version": version},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _boundary_errors(doc: RouteDoc) -> set[int]:
    """What the boundary (`handlers/boundary.py`) may answer for any route like this one."""
    found = {413}  # every route caps its body
    if doc.path or doc.query or doc.header_params() or doc.request_schema:
        found.add(400)
    if doc.request_schema:
        found.add(415)
    if doc.auth:
        found.add(401)
    return found


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
