"""The OpenAPI document, completed where the models cannot say what the API refuses.

Every request refuses NUL characters anywhere (PostgreSQL cannot store them; see
`fields.check_json_safe`), and a stored JSON field (item `metadata`, profile `data`) nests at
most `STORED_MAX_DEPTH` levels. Pydantic's schema says neither: here every string a request
carries gets a pattern without NUL, and every free-form object the exact shape the policy allows.
What JSON Schema cannot say (a stored field's size in bytes) is in the field's description.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from freemarket.domain.jsonpolicy import STORED_MAX_BYTES, STORED_MAX_DEPTH

# ECMA-262 (JSON Schema's regex dialect) and Python both read \u0000 as NUL.
NO_NUL = "^[^\\u0000]*$"
_REF = "#/components/schemas/"


def _stored_value_name(levels: int) -> str:
    return f"StoredJsonValue{levels}"


def stored_json_definitions() -> dict[str, dict[str, Any]]:
    """StoredJsonValueN: a JSON value with at most N more levels of arrays and objects in it."""
    scalars: list[dict[str, Any]] = [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "number"},
        {"type": "string", "pattern": NO_NUL},
    ]
    defs = {_stored_value_name(0): {"anyOf": scalars}}
    for levels in range(1, STORED_MAX_DEPTH):
        inner = {"$ref": _REF + _stored_value_name(levels - 1)}
        defs[_stored_value_name(levels)] = {
            "anyOf": [
                *scalars,
                {"type": "array", "items": inner},
                {
                    "type": "object",
                    "propertyNames": {"pattern": NO_NUL},
                    "additionalProperties": inner,
                },
            ]
        }
    return defs


def _stored_object(schema: dict[str, Any]) -> dict[str, Any]:
    """A stored JSON field: an object, itself the first of STORED_MAX_DEPTH levels."""
    limit = f"At most {STORED_MAX_DEPTH} levels deep and {STORED_MAX_BYTES} bytes as JSON."
    return {
        **{k: v for k, v in schema.items() if k != "additionalProperties"},
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": {"$ref": _REF + _stored_value_name(STORED_MAX_DEPTH - 1)},
        "description": f"{schema.get('description', '')} {limit}".strip(),
    }


def _complete(schema: Any) -> Any:
    """`schema` with NUL refused in its strings and free-form objects shaped like stored JSON."""
    if isinstance(schema, list):
        return [_complete(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "object" and schema.get("additionalProperties") is True:
        return _stored_object(schema)
    done = {key: _complete(value) for key, value in schema.items()}
    plain = not {"pattern", "enum", "format", "const"} & done.keys()
    if done.get("type") == "string" and plain:
        done["pattern"] = NO_NUL
    return done


def _request_schema_names(document: dict[str, Any]) -> set[str]:
    """Names of the component schemas that request bodies use."""
    names = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith(_REF):
                    names.add(ref.removeprefix(_REF))
    return names


# OpenAPI links: which operations take the id a creation answers with (clients, and schemathesis'
# stateful phase, follow them). (path, method, status) -> link name -> (path, method, parameters)
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("/api/items/", "post", "201"): {
        name: (path, method, {"item_id": "$response.body#/id"})
        for name, path, method in (
            ("GetItem", "/api/items/{item_id}", "get"),
            ("UpdateItem", "/api/items/{item_id}", "patch"),
            ("DeleteItem", "/api/items/{item_id}", "delete"),
            ("ReactivateItem", "/api/items/{item_id}/reactivate", "post"),
            ("UploadPhoto", "/api/items/{item_id}/photos", "post"),
        )
    },
    ("/api/items/{item_id}/photos", "post", "201"): {
        "DeletePhoto": (
            "/api/items/{item_id}/photos/{photo_id}",
            "delete",
            {"item_id": "$request.path.item_id", "photo_id": "$response.body#/id"},
        ),
    },
    ("/api/exchanges/", "post", "201"): {
        name: (path, method, {"exchange_id": "$response.body#/id"})
        for name, path, method in (
            ("GetExchange", "/api/exchanges/{exchange_id}", "get"),
            ("ActOnExchange", "/api/exchanges/{exchange_id}/{action}", "post"),
        )
    },
}


def _add_links(document: dict[str, Any]) -> None:
    """Declare LINKS, naming each target by its operationId."""
    paths = document.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        response["links"] = {
            name: {"operationId": paths[target][verb]["operationId"], "parameters": parameters}
            for name, (target, verb, parameters) in links.items()
        }


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document with request strings and stored JSON fields described exactly."""
    _add_links(document)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _request_schema_names(document):
        components[name] = _complete(components[name])
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("query", "header"):
                    parameter["schema"] = _complete(parameter.get("schema", {}))
    components.update(stored_json_definitions())
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document from /openapi.json (built once, on first request)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
