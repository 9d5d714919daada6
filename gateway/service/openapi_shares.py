"""The OpenAPI description of ``/v1/shares`` (docs/design.md, "Sharing")."""

from __future__ import annotations

from typing import Any

from gateway.service.openapi_parts import (
    INT,
    PATH,
    PREFIX,
    STR,
    answer,
    object_schema,
    problem_answers,
    request_body,
)

NAME = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^/]+$"}
WITH = {
    "oneOf": [
        object_schema({"user": NAME}, ["user"], extra=False),
        object_schema({"group": NAME}, ["group"], extra=False),
        object_schema({"anyone": {"const": True}}, ["anyone"], extra=False),
    ]
}
NULLABLE_INT = {"type": ["integer", "null"]}
SHARE = {
    "type": "object",
    "properties": {
        "id": STR,
        "prefix": STR,
        "path": STR,
        "with": WITH,
        "owner": STR,
        "created": INT,
        "expires": NULLABLE_INT,
    },
    "required": ["id", "with", "owner", "created", "expires"],
    "oneOf": [{"required": ["prefix"]}, {"required": ["path"]}],
}
_EXPIRES_IN = {"type": "integer", "minimum": 1}
_DISABLED = "404 when `sharing.enabled` is off."

SHARES_PATHS: dict[str, Any] = {
    "/v1/shares": {
        "post": {
            "operationId": "createShare",
            "summary": "Share a prefix or one object with a user, a group or anyone (read only)",
            "description": "Only what the caller may write, under a rule with `shareable = true`, "
            "may be shared (else 403).  The grantee then gets cookies, signed URLs and credentials "
            "for exactly that prefix or object, never past a more specific rule below it, until "
            "`expires` (null: until deleted). " + _DISABLED,
            "security": [{"bearer": []}],
            "requestBody": request_body(
                {
                    "oneOf": [
                        object_schema(
                            {"prefix": PREFIX, "with": WITH, "expires_in": _EXPIRES_IN}, ["prefix", "with"]
                        ),
                        object_schema(
                            {"path": PATH, "with": WITH, "expires_in": _EXPIRES_IN}, ["path", "with"]
                        ),
                    ]
                }
            ),
            "responses": {
                "201": answer(
                    SHARE,
                    "the share",
                    links={
                        "DeleteShare": {
                            "operationId": "deleteShare",
                            "parameters": {"id": "$response.body#/id"},
                        }
                    },
                ),
                **problem_answers(400, 401, 403, 404, 408, 413, 415, 422, 429, 503),
            },
        },
        "get": {
            "operationId": "listShares",
            "summary": "The caller's live shares, or (with=me) those others made for the caller",
            "description": "Oldest first; follow `next_cursor` (null on the last page). " + _DISABLED,
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "with", "in": "query", "schema": {"enum": ["me"]}},
                {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 128}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            ],
            "responses": {
                "200": answer(
                    object_schema(
                        {
                            "shares": {"type": "array", "items": SHARE},
                            "next_cursor": {"type": ["string", "null"]},
                        },
                        ["shares", "next_cursor"],
                    )
                ),
                **problem_answers(401, 404, 422, 429, 503),
            },
        },
    },
    "/v1/shares/{id}": {
        "delete": {
            "operationId": "deleteShare",
            "summary": "Delete one of the caller's shares",
            "description": "404 for every id that is not the caller's live share, whoever's it is. "
            "With revocation on, the grants already made for it stop at the edge within seconds.",
            "security": [{"bearer": []}],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": STR}],
            "responses": {
                "204": {"description": "deleted"},
                **problem_answers(401, 404, 429, 503),
            },
        },
    },
}
