"""The API reference in Markdown, rendered from the OpenAPI document (`functions.api.openapi.build_document`)."""

from __future__ import annotations

from typing import Any

from docs.hooks.settings import default_settings
from functions.api.openapi import build_document

Schema = dict[str, Any]
_METHODS = ("get", "post", "put", "patch", "delete")
_ACRONYMS = {"dlq", "url", "api"}
_REF_PREFIXES = ("#/components/schemas/", "#/components/responses/", "#/components/headers/")


def document() -> dict[str, Any]:
    """The OpenAPI document of a deployment that overrides no setting."""
    return build_document(default_settings())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document, in its order."""
    paths: dict[str, dict[str, Any]] = doc["paths"]
    return [(method, path, op) for path, ops in paths.items() for method, op in ops.items() if method in _METHODS]


def render(doc: dict[str, Any]) -> str:
    """The reference: per tag, each operation with its parameters, body and answers; then the schemas."""
    tags: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for method, path, op in operations(doc):
        tags.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    lines: list[str] = []
    for tag, ops in tags.items():
        lines += [f"## {_title(tag)}", ""]
        for method, path, op in ops:
            lines += _operation(doc, method, path, op)
    lines += _schemas(doc["components"]["schemas"])
    return "\n".join(lines)


def _title(tag: str) -> str:
    words = [word.upper() if word in _ACRONYMS else word for word in tag.split()]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def _operation(doc: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if op.get("summary"):
        lines += [op["summary"].rstrip(".") + ".", ""]
    if op.get("description"):
        lines += [op["description"], ""]
    lines += [_access(op), ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | description |", "|---|---|---|---|"]
        for param in params:
            name = f"`{param['name']}`" + (" (required)" if param.get("required") else "")
            text = _cell(param.get("description", ""))
            lines.append(f"| {name} | {param['in']} | {_type(param.get('schema', {}))} | {text} |")
        lines.append("")
    body = op.get("requestBody")
    if body:
        kinds = ", ".join(f"`{media}` {_type(content['schema'])}" for media, content in body["content"].items())
        lines += [f"Request body ({'required' if body.get('required') else 'optional'}): {kinds}.", ""]
    lines += ["| status | answer | body |", "|---|---|---|"]
    for status, reference in op["responses"].items():
        answer = _resolve(doc, reference)
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        shown = _type(schema) if schema is not None else "empty"
        lines.append(f"| {status} | {_cell(answer.get('description', ''))} | {shown} |")
    return [*lines, ""]


def _access(op: dict[str, Any]) -> str:
    if op.get("security") == []:
        return "Needs no token."
    if "403" in op["responses"]:
        return "Needs a full-access token."
    return "Needs a token; a read-only token may call it."


def _resolve(doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    ref = item.get("$ref")
    if ref is None:
        return item
    section, name = ref.removeprefix("#/components/").split("/")
    resolved: dict[str, Any] = doc["components"][section][name]
    return resolved


def _type(schema: Schema) -> str:
    """A schema in a few words: a link for a named schema, the item type of an array, the values of an enum."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[`{name}`](#{name.lower()})"
    if "anyOf" in schema or "oneOf" in schema:
        alternatives: list[Schema] = schema.get("anyOf") or schema.get("oneOf") or []
        options = [_type(option) for option in alternatives]
        return " or ".join(dict.fromkeys(options))
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    return _plain(schema)


def _plain(schema: Schema) -> str:
    kind = schema.get("type")
    if kind == "array":
        return "list of " + _type(schema.get("items", {}))
    if kind is None:
        return "object" if schema else "any JSON"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    return str(kind) + _bounds(schema)


def _bounds(schema: Schema) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" ({low}–{high})"
    if high is not None:
        return f" (≤ {high})"
    if schema.get("maxLength") is not None:
        return f" (≤ {schema['maxLength']} characters)"
    return ""


def _ref_name(ref: str) -> str:
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    raise ValueError(f"unexpected $ref {ref}")


def _schemas(schemas: dict[str, Schema]) -> list[str]:
    lines = ["## Schemas", ""]
    for name, schema in sorted(schemas.items()):
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [_cell(schema["description"]), ""]
        properties = schema.get("properties")
        if not properties:
            lines += [f"{_type({k: v for k, v in schema.items() if k not in ('title', 'description')})}.", ""]
            continue
        required = set(schema.get("required", []))
        lines += ["| field | type | description |", "|---|---|---|"]
        for field, spec in properties.items():
            label = f"`{field}`" + (" (required)" if field in required else "")
            lines.append(f"| {label} | {_type(spec)} | {_cell(spec.get('description', ''))} |")
        lines.append("")
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
