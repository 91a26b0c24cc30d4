"""The OpenAPI 3.1 description of ``agentkit serve`` (served at ``/openapi.json``).

The request schema is the validating model's own (:class:`InvocationRequest`), so the description
and the check at the edge cannot drift apart; the answer schema is the ``agentkit ask --json``
shape, which tests validate real responses against.
"""

from __future__ import annotations

from typing import Any

from agentkit._version import __version__
from agentkit.serve.http_service import SESSION_HEADER, InvocationRequest

_NULLABLE_STRING = {"type": ["string", "null"]}

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "answer",
        "degraded",
        "degraded_reason",
        "strategy",
        "tool_calls",
        "region",
        "model",
        "fell_back",
        "answer_source",
        "session",
        "approval",
    ],
    "additionalProperties": False,
    "properties": {
        "answer": {"type": "string", "description": "The advice, guarded (redacted, grounded)."},
        "degraded": {"type": "boolean", "description": "No model answered: a template answer."},
        "degraded_reason": _NULLABLE_STRING,
        "strategy": {
            "type": ["string", "null"],
            "enum": [
                "backup_restore",
                "pilot_light",
                "warm_standby",
                "multi_site_active_active",
                None,
            ],
        },
        "tool_calls": {"type": "array", "items": {"type": "object"}},
        "region": {**_NULLABLE_STRING, "description": "The Region of the model that answered."},
        "model": _NULLABLE_STRING,
        "fell_back": {"type": "boolean", "description": "A fallback route answered."},
        "answer_source": {
            "type": "string",
            "enum": ["model", "template", "refusal", "question", "input_error"],
        },
        "session": {"type": "string"},
        "approval": {
            "type": ["object", "null"],
            "description": "High-stakes advice: withheld until a person approves it; declined "
            "(the safe option stands) by a person or, past the approval timeout, by `timeout`.",
            "properties": {
                "status": {"enum": ["pending", "required", "approved", "declined"]},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "by": {"type": "string"},
                "note": {"type": "string", "description": "Why it was decided so."},
                "expires_at": {
                    "type": "number",
                    "description": "Pending: Unix seconds after which it is declined.",
                },
            },
        },
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

PING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "time_of_last_update"],
    "properties": {
        "status": {"enum": ["Healthy", "HealthyBusy"]},
        "time_of_last_update": {"type": "integer", "description": "Unix seconds"},
    },
}

SSE_DESCRIPTION = (
    "Server-Sent Events, each a named event with one `data:` line of JSON: `text` events "
    '(`{"type": "text", "text": ...}`) carry guarded answer text as it is released, a sentence '
    'at a time; the stream ends with one `answer` event (`{"type": "answer", ...}` with the '
    "fields of the JSON answer, whose `answer` is the final text and replaces what was streamed "
    'when they differ) or one `error` event (`{"type": "error", "error": {"code", "message"}}`).'
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(max_body_bytes: int, deadline_s: float) -> dict[str, Any]:
    refs = "#/components/schemas/{model}"
    request_schema = InvocationRequest.model_json_schema(ref_template=refs)
    nested = request_schema.pop("$defs", {})
    session_header = {
        "name": SESSION_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": 256},
        "description": "The session (AgentCore Runtime passes it); the same as `session_id`.",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agentkit serve: the DR advisor",
            "version": __version__,
            "description": (
                "The Amazon Bedrock AgentCore Runtime HTTP contract (POST /invocations, "
                "GET /ping) around agentkit's DR advisor, plus deep health."
            ),
        },
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "One turn of the DR advisor",
                    "description": (
                        f"Bodies over {max_body_bytes:,} bytes are refused with 413; a turn "
                        f"not answered within {deadline_s:g} s gets 504."
                    ),
                    "parameters": [session_header],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/InvocationRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The answer",
                            "headers": {SESSION_HEADER: {"schema": {"type": "string"}}},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Answer"}
                                },
                                "text/event-stream": {
                                    "schema": {"type": "string"},
                                    "description": SSE_DESCRIPTION,
                                },
                            },
                        },
                        "400": _error("Invalid JSON, a schema violation or an invalid question"),
                        "409": _error(
                            "No advice waits for approval, advice waits for one (decide it "
                            "first), or the session is busy"
                        ),
                        "413": _error("The body is too large"),
                        "502": _error("The model tier failed in a way no fallback covered"),
                        "503": _error(
                            "The server is shutting down, or the operator's kill switch is on "
                            "(code kill_switch; docs/ops.md)"
                        ),
                        "504": _error("The turn did not finish within the deadline"),
                    },
                }
            },
            "/ping": {
                "get": {
                    "summary": "AgentCore health: HealthyBusy while a turn is in flight",
                    "responses": {
                        "200": {
                            "description": "Status",
                            "content": {"application/json": {"schema": PING_SCHEMA}},
                        }
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Deep health: can the model tier answer from this Region?",
                    "responses": {
                        "200": {"description": "At least one route of the chain answers"},
                        "503": {"description": "No route answers"},
                    },
                }
            },
            "/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
            },
        },
        "components": {
            "schemas": {
                "InvocationRequest": request_schema,
                **nested,
                "Answer": ANSWER_SCHEMA,
                "Error": ERROR_SCHEMA,
            }
        },
    }
