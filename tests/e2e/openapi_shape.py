"""The shape of an OpenAPI document: what a client relies on, without prose or enum values.

Every operation (method and path) with its parameters, request body and, per answer status,
the answer's fields and their types (references resolved). ``tests/e2e/openapi_snapshot.json``
holds the shape of the document as it was before the routes became declarations;
``python -m tests.e2e.openapi_shape`` rewrites it (only when a change of the API is meant).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
METHODS = ("get", "put", "post", "delete", "patch")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        section, name = schema["$ref"].split("/")[-2:]
        schema = document["components"][section][name]
    return schema


def type_of(document: dict[str, Any], schema: Any, seen: frozenset[str] = frozenset()) -> Any:
    """A schema as a plain shape: ``"integer"``, ``"string|null"``, ``{field: ...}``, ``[...]``."""
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        if name in seen:
            return f"<{name}>"
        return type_of(document, _resolve(document, schema), seen | {name})
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [type_of(document, s, seen) for s in schema[combinator]]
            scalars = [o for o in options if isinstance(o, str)]
            if len(scalars) == len(options):
                return "|".join(sorted(set(scalars), key=lambda s: (s == "null", s)))
            others = [o for o in options if o != "null"]
            shape = others[0] if len(others) == 1 else {"anyOf": others}
            return {"nullable": shape} if "null" in options else shape
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return type_of(document, schema["allOf"][0], seen)
    if "const" in schema:
        return type(schema["const"]).__name__.replace("str", "string")
    kind = schema.get("type")
    if kind == "array":
        return [type_of(document, schema.get("items", {}), seen)]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if not properties:
            return "object"
        required = set(schema.get("required", ()))
        return {
            (name if name in required else name + "?"): type_of(document, field, seen)
            for name, field in sorted(properties.items())
        }
    if isinstance(kind, list):
        return "|".join(kind)
    if kind == "string" and schema.get("format") in ("date-time", "date", "uri", "binary"):
        return f"string:{schema['format']}"
    return kind or "any"


def shape(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation of the document as ``"METHOD /path"`` → parameters, body, answers."""
    operations: dict[str, Any] = {}
    for path, methods in sorted(document["paths"].items()):
        for method, operation in sorted(methods.items()):
            if method not in METHODS:
                continue
            answers: dict[str, Any] = {}
            for status, answer in sorted(operation["responses"].items()):
                answer = _resolve(document, answer)
                content = answer.get("content", {})
                answers[status] = {
                    media: type_of(document, body.get("schema", {}))
                    for media, body in sorted(content.items())
                }
            body = operation.get("requestBody", {}).get("content", {})
            operations[f"{method.upper()} {path}"] = {
                "parameters": sorted(
                    f"{p['in']}:{p['name']}" for p in operation.get("parameters", ())
                ),
                "public": operation.get("security") == [],
                "body": {
                    m: type_of(document, b.get("schema", {})) for m, b in sorted(body.items())
                },
                "answers": answers,
            }
    return operations


def main() -> None:
    from services.campaign.http import openapi
    from services.campaign.http.app import ROUTES

    document = openapi.document(ROUTES)
    SNAPSHOT.write_text(json.dumps(shape(document), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    main()
