"""Validate every API response body against the official OpenAPI subset in tests/contract/.

Documented exceptions, all places where the official schema cannot describe a real response:
- the job status "paused" (returned by pause; absent from the official enum);
- ``first_id`` / ``last_id`` of an empty file list are null (the schema types them as strings,
  as the checkpoint list does not; an empty list has no first id).
- the file purpose "evals": accepted on upload (it is in the official create enum) and returned as
  stored, as OpenAI returns it, but absent from the official file object's enum and the SDK's type;
- a multi grader's ``graders`` may be a map of named sub-graders (the form OpenAI's guides and
  API reference use; the spec types it as a single grader), and the graders endpoints' own
  ``grader`` may be a label_model (which ``validate`` echoes).
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "contract" / "openapi-fine-tuning.yaml"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def _modernise(node):
    """OpenAPI 3.0 leftovers in the file -> JSON Schema 2020-12 (exclusiveMinimum: true)."""
    if isinstance(node, dict):
        if node.get("exclusiveMinimum") is True and "minimum" in node:
            node["exclusiveMinimum"] = node.pop("minimum")
        node.pop("nullable", None)
        for value in node.values():
            _modernise(value)
    elif isinstance(node, list):
        for value in node:
            _modernise(value)
    return node


@lru_cache(maxsize=1)
def _spec():
    spec = _modernise(yaml.safe_load(SPEC_PATH.read_text()))
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    schemas["FineTuningJob"]["properties"]["status"]["enum"].append("paused")
    schemas["OpenAIFile"]["properties"]["purpose"]["enum"].append("evals")
    for key in ("first_id", "last_id"):
        schemas["ListFilesResponse"]["properties"][key] = {"type": ["string", "null"]}
    sub_graders = copy.deepcopy(schemas["GraderMulti"]["properties"]["graders"])
    schemas["GraderMulti"]["properties"]["graders"] = {
        "oneOf": [sub_graders, {"type": "object", "minProperties": 1, "additionalProperties": sub_graders}]
    }
    for name in ("RunGraderRequest", "ValidateGraderRequest", "ValidateGraderResponse"):
        schemas[name]["properties"]["grader"]["oneOf"].append(
            {"$ref": "#/components/schemas/GraderLabelModel"}
        )
    registry = Registry().with_resource(
        "urn:openft:spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    routes = []
    for template, operations in spec["paths"].items():
        pattern = re.compile("^/v1" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        routes.append((pattern, template, operations))
    routes.sort(key=lambda route: route[1].count("{"))  # literal paths win over templated ones
    return spec, registry, routes


def response_schema(method: str, path: str, *, known_only: bool = False) -> dict | None:
    """The 200 schema of a path in the subset; None where it has none (or, with known_only, is not in it)."""
    _, _, routes = _spec()
    for pattern, _template, operations in routes:
        if pattern.match(path) and method.lower() in operations:
            content = operations[method.lower()]["responses"].get("200", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                return None
            return _rebase(schema)
    if known_only:
        return None
    raise AssertionError(f"{method} {path} is not in the official OpenAPI subset")


def _rebase(schema):
    text = json.dumps(schema).replace('"#/components', '"urn:openft:spec#/components')
    return json.loads(text)


def check(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Raise AssertionError when a JSON response does not match the official schema."""
    if not content_type.startswith("application/json"):
        return
    payload = json.loads(body)
    _, registry, _ = _spec()
    # Paths outside the subset (chat, completions) are checked by the SDK's strict types alone.
    schema = ERROR_SCHEMA if status >= 400 else response_schema(method, path, known_only=True)
    if schema is None:
        return
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.path))
    if errors:
        detail = "; ".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
        raise AssertionError(f"{method} {path} -> {status} does not match the OpenAPI schema: {detail}")
