"""The OpenAPI 3.1 document, written from the route table and the pydantic models: what the
handlers validate with is what the document says (pydantic's JSON Schema is 2020-12, the
dialect OpenAPI 3.1 uses)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from teambot.api.problems import MEDIA
from teambot.api.schemas import Problem, WebhookEvent
from teambot.core.webhooks.outbox import EVENT_TYPES

REF = "#/components/schemas/{model}"
COMMON = {
    401: "The token is missing, unknown or revoked.",
    429: "Too many requests for this token: wait Retry-After seconds.",
    500: "Teambot failed on this request (it is logged).",
}


def document(routes: list[Any], prefix: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [Problem, WebhookEvent]
    for r in routes:
        models += [m for _, m in r.responses.values() if m is not None]
        if r.body is not None:
            models.append(r.body)
    unique = list(dict.fromkeys(models))
    keys, top = models_json_schema([(m, "serialization") for m in unique], ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    if any(r.body is not None for r in routes):
        body_keys, body_top = models_json_schema(
            [(r.body, "validation") for r in routes if r.body], ref_template=REF
        )
        schemas.update(body_top.get("$defs", {}))
        keys.update(body_keys)
    paths: dict[str, Any] = {}
    for r in routes:
        paths.setdefault(prefix + r.path, {})[r.method.lower()] = _operation(r, keys)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Teambot API",
            "version": "1.0.0",
            "description": "Service-recovery cases, their timelines and the weekly digest of one team. "
            "Authenticate with `Authorization: Bearer <token>` (`/recover api-token create <name> [read|write]`). "
            "Errors are RFC 9457 problem documents. Webhooks (Standard Webhooks) are set up in chat: "
            "`/recover webhook add <url>`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "webhooks": {
            event: {
                "post": {
                    "summary": f"{event}, signed as Standard Webhooks (`/recover webhook add <url>`).",
                    "requestBody": {"content": {"application/json": {"schema": _ref(keys, WebhookEvent)}}},
                    "responses": {
                        "2XX": {"description": "Received; any other answer is retried for 24 hours."}
                    },
                }
            }
            for event in EVENT_TYPES
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A Teambot API token."}
            },
        },
        "security": [{"bearer": []}],
    }


def _ref(keys: dict[Any, Any], model: type[BaseModel], mode: str = "serialization") -> dict[str, Any]:
    return dict(keys[(model, mode)])


def _operation(r: Any, keys: dict[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": r.operation_id, "summary": r.summary, "parameters": []}
    for name, text in r.path_params.items():
        op["parameters"].append({"name": name, "in": "path", "required": True, "description": text,
                                 "schema": {"type": "integer", "minimum": 1}})  # fmt: skip
    if r.query is not None:
        schema = r.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            op["parameters"].append(param)
    for name, text in r.headers.items():
        op["parameters"].append({"name": name, "in": "header", "required": False, "description": text,
                                 "schema": {"type": "string", "minLength": 1, "maxLength": 100}})  # fmt: skip
    if r.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(keys, r.body, "validation")}},
        }
    responses: dict[str, Any] = {}
    for status, (text, model) in sorted(
        {**{k: (v, Problem) for k, v in COMMON.items()}, **r.responses}.items()
    ):
        media = MEDIA if model is Problem else "application/json"
        entry: dict[str, Any] = {"description": text}
        if model is not None:
            entry["content"] = {media: {"schema": _ref(keys, model)}}
        if status == 429:
            entry["headers"] = {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
            }
        if status == 201:
            entry["headers"] = {
                "Location": {"description": "The case's address.", "schema": {"type": "string"}}
            }
        responses[str(status)] = entry
    op["responses"] = responses
    return op
