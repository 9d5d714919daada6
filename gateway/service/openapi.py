"""The OpenAPI 3.1 description of the HTTP contract (docs/design.md), served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from gateway.service.openapi_parts import (
    COOKIE_LINKS,
    INT,
    PATH,
    PREFIX,
    PROBLEM,
    SIGN_ERRORS,
    STR,
    UPLOAD_LINKS,
    answer,
    object_schema,
    problem_answers,
    request_body,
)
from gateway.service.openapi_revocations import REVOCATIONS_PATH
from gateway.service.openapi_shares import SHARES_PATHS
from gateway.service.settings import Settings


def openapi_document(settings: Settings) -> dict[str, Any]:
    max_batch = settings.signing.max_batch
    url_result = {
        "oneOf": [
            object_schema({"path": STR, "url": STR}, ["path", "url"]),
            object_schema({"path": STR, "error": PROBLEM}, ["path", "error"]),
        ]
    }
    bearer: list[dict[str, list[str]]] = [{"bearer": []}, {}]
    paths: dict[str, Any] = {
        "/v1/cookies": {
            "post": {
                "summary": "CloudFront signed cookies for a key prefix",
                "security": bearer,
                "requestBody": request_body(object_schema({"prefix": PREFIX}, ["prefix"])),
                "description": "Grants (and answers as `prefix`) the broadest prefix at or above the one "
                "asked that the caller may read whole, expiring cookie sets left between the two: "
                "grants never nest.  422 when the cookies would be too long for a browser.",
                "responses": {
                    "200": answer(
                        object_schema(
                            {
                                "prefix": PREFIX,
                                "resource": STR,
                                "expires": INT,
                                "refresh_after": INT,
                                "key_id": STR,
                            },
                            ["prefix", "resource", "expires", "refresh_after", "key_id"],
                        ),
                        links=COOKIE_LINKS,
                    ),
                    **problem_answers(*SIGN_ERRORS),
                },
            },
            "delete": {
                "operationId": "clearCookies",
                "summary": "Clear the signed cookies of a prefix (logout)",
                "parameters": [{"name": "prefix", "in": "query", "schema": PREFIX}],
                "responses": {"204": {"description": "cleared"}, **problem_answers(422)},
            },
        },
        "/v1/signed-urls": {
            "post": {
                "summary": "Signed URLs for a batch of objects",
                "security": bearer,
                "requestBody": request_body(
                    object_schema(
                        {"paths": {"type": "array", "items": STR}, "policy": {"enum": ["canned", "custom"]}},
                        ["paths"],
                    )
                ),
                "responses": {
                    "200": answer(
                        object_schema(
                            {"expires": INT, "results": {"type": "array", "items": url_result}},
                            ["expires", "results"],
                        )
                    ),
                    **problem_answers(*SIGN_ERRORS),
                },
                "description": f"At most {max_batch} paths; each result is a URL or a problem.  429 "
                "when the caller's budget of new signatures is spent (what was signed stays cached).",
            },
        },
        "/v1/signed-url": {
            "get": {
                "operationId": "signedUrl",
                "summary": "One signed URL",
                "security": bearer,
                "parameters": [
                    {"name": "path", "in": "query", "required": True, "schema": PATH},
                    {"name": "policy", "in": "query", "schema": {"enum": ["canned", "custom"]}},
                ],
                "responses": {
                    "200": answer(object_schema({"url": STR, "expires": INT}, ["url", "expires"])),
                    **problem_answers(400, 401, 403, 422, 429, 503),
                },
            },
        },
        "/v1/r/{path}": {
            "get": {
                "summary": "Redirect to the stable signed URL (for <img src>)",
                "security": bearer,
                "parameters": [{"name": "path", "in": "path", "required": True, "schema": PATH}],
                "responses": {
                    "302": {
                        "description": "redirect to the signed URL",
                        "headers": {"Location": {"schema": STR}},
                    },
                    **problem_answers(401, 403, 404, 422, 429, 503),
                },
            },
        },
        "/v1/uploads": {
            "post": {
                "summary": "A presigned S3 PUT or POST form",
                "security": bearer,
                "requestBody": request_body(
                    object_schema(
                        {
                            "path": PATH,
                            "content_type": STR,
                            "content_length": {"type": "integer", "minimum": 1},
                            "method": {"enum": ["PUT", "POST"]},
                            # base64 SHA-256 of the bytes: pins them (a replayed form can only rewrite them)
                            "checksum_sha256": {
                                "type": "string",
                                "pattern": "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$",
                            },
                        },
                        ["path", "content_type", "content_length"],
                    )
                ),
                "responses": {
                    "200": answer(
                        {
                            "oneOf": [
                                object_schema(
                                    {
                                        "method": {"const": "PUT"},
                                        "url": STR,
                                        "expires": INT,
                                        "headers": {"type": "object", "additionalProperties": STR},
                                    },
                                    ["method", "url", "headers", "expires"],
                                ),
                                object_schema(
                                    {
                                        "method": {"const": "POST"},
                                        "url": STR,
                                        "expires": INT,
                                        "fields": {"type": "object", "additionalProperties": STR},
                                    },
                                    ["method", "url", "fields", "expires"],
                                ),
                            ]
                        },
                        links=UPLOAD_LINKS,
                    ),
                    **problem_answers(*SIGN_ERRORS, 503),
                },
            },
        },
        "/v1/deletes": {
            "post": {
                "operationId": "presignDelete",
                "summary": "A presigned S3 DELETE",
                "security": bearer,
                "requestBody": request_body(object_schema({"path": PATH}, ["path"])),
                "responses": {
                    "200": answer(
                        object_schema(
                            {"method": {"const": "DELETE"}, "url": STR, "expires": INT},
                            ["method", "url", "expires"],
                        )
                    ),
                    **problem_answers(*SIGN_ERRORS, 503),
                },
            },
        },
        "/v1/credentials": {
            "post": {
                "summary": "Temporary AWS credentials scoped by a session policy to the caller's prefixes",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": object_schema(
                                {"duration_seconds": {"type": "integer", "minimum": 1}}, []
                            )
                        }
                    },
                },
                "responses": {
                    "200": answer(
                        object_schema(
                            {
                                "access_key_id": STR,
                                "secret_access_key": STR,
                                "session_token": STR,
                                "expiration": STR,
                                "bucket": STR,
                                "region": STR,
                                "endpoint_url": {"type": ["string", "null"]},
                                "prefixes": {"type": "object"},
                                # read only through shares: prefixes (ending in /) and single keys
                                "shared": {"type": "array", "items": STR},
                            },
                            [
                                "access_key_id",
                                "secret_access_key",
                                "session_token",
                                "expiration",
                                "bucket",
                                "region",
                                "prefixes",
                            ],
                        )
                    ),
                    **problem_answers(400, 401, 403, 404, 408, 415, 422, 429, 503),
                },
            },
        },
        "/v1/revocations": REVOCATIONS_PATH,
        **SHARES_PATHS,
        "/v1/keys": {
            "get": {
                "summary": "Public keys in the keyring",
                "responses": {
                    "200": answer(
                        object_schema(
                            {
                                "active": STR,
                                "keys": {
                                    "type": "array",
                                    "items": object_schema(
                                        {
                                            "id": STR,
                                            "key_pair_id": {"type": ["string", "null"]},
                                            "algorithm": STR,
                                            "state": STR,
                                            "created": INT,
                                            "public_key": STR,
                                        },
                                        ["id", "algorithm", "state", "public_key"],
                                    ),
                                },
                                "serving": object_schema(
                                    {"key_id": STR, "key_pair_id": STR, "keyring_version": STR},
                                    ["key_id", "key_pair_id", "keyring_version"],
                                ),
                            },
                            ["active", "keys", "serving"],
                        )
                    )
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "responses": {"200": answer(object_schema({"status": STR}, ["status"]))},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness and what is degraded",
                "responses": {
                    s: answer(
                        object_schema({"status": STR, "checks": {"type": "object"}}, ["status", "checks"])
                    )
                    for s in ("200", "503")
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"description": "text format", "content": {"text/plain": {"schema": STR}}}
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": answer({"type": "object"})}}
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cdn-gateway",
            "version": "1.0.0",
            "description": "Short-lived CloudFront signed cookies/URLs and S3 presigned uploads.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Problem": object_schema(
                    {"type": STR, "title": STR, "status": INT, "detail": STR, "request_id": STR},
                    ["type", "title", "status", "detail"],
                )
            },
        },
    }
