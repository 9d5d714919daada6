"""The OpenAPI 3.1 description of the HTTP contract (docs/design.md), served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from gateway.service.settings import Settings

# What a regular expression can say of the path rules (docs/design.md, "Object keys"); the Unicode
# rules (NFC, no format characters) and the 1024-byte limit are checked by the server (422).
_PATH_PATTERN = r"^(?!/)(?!.*//)(?!(?:.*/)?\.\.?(?:/|$))(?!.*%[0-9A-Fa-f]{2})[^*?\\\x00-\x1f\x7f-\x9f]+$"
_PATH = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1024,
    "pattern": _PATH_PATTERN,
    "description": "An object key relative to the bucket root: no leading '/', no '.', '..' or empty "
    "segments, no '*', '?', '\\', control characters or percent-escapes; NFC Unicode.",
}
_PREFIX = dict(_PATH, pattern=_PATH_PATTERN[:-2] + "*/$")
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": "problem", "content": {"application/problem+json": {"schema": _PROBLEM}}}
        for s in statuses
    }


def _json(
    schema: dict[str, Any], description: str = "OK", links: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if links:
        answer["links"] = links
    return answer


# Stateful links: what a client does next with an answer (schemathesis follows them).
_COOKIE_LINKS = {
    "ClearCookies": {"operationId": "clearCookies", "parameters": {"prefix": "$response.body#/prefix"}}
}
_UPLOAD_LINKS = {
    "DeleteUpload": {"operationId": "presignDelete", "requestBody": {"path": "$request.body#/path"}},
    "ReadUpload": {"operationId": "signedUrl", "parameters": {"path": "$request.body#/path"}},
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _obj(props: dict[str, Any], required: list[str], extra: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if not extra:
        schema["additionalProperties"] = False
    return schema


_INT = {"type": "integer"}
_STR = {"type": "string"}
# 408: the body did not arrive within server.body_timeout_seconds (the connection is closed).
_SIGN_ERRORS = (400, 401, 403, 408, 413, 415, 422, 429)


def openapi_document(settings: Settings) -> dict[str, Any]:
    max_batch = settings.signing.max_batch
    url_result = {
        "oneOf": [
            _obj({"path": _STR, "url": _STR}, ["path", "url"]),
            _obj({"path": _STR, "error": _PROBLEM}, ["path", "error"]),
        ]
    }
    bearer: list[dict[str, list[str]]] = [{"bearer": []}, {}]
    paths: dict[str, Any] = {
        "/v1/cookies": {
            "post": {
                "summary": "CloudFront signed cookies for a key prefix",
                "security": bearer,
                "requestBody": _body(_obj({"prefix": _PREFIX}, ["prefix"])),
                "description": "Grants (and answers as `prefix`) the broadest prefix at or above the one "
                "asked that the caller may read whole, expiring cookie sets left between the two: "
                "grants never nest.  422 when the cookies would be too long for a browser.",
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "prefix": _PREFIX,
                                "resource": _STR,
                                "expires": _INT,
                                "refresh_after": _INT,
                                "key_id": _STR,
                            },
                            ["prefix", "resource", "expires", "refresh_after", "key_id"],
                        ),
                        links=_COOKIE_LINKS,
                    ),
                    **_problems(*_SIGN_ERRORS),
                },
            },
            "delete": {
                "operationId": "clearCookies",
                "summary": "Clear the signed cookies of a prefix (logout)",
                "parameters": [{"name": "prefix", "in": "query", "schema": _PREFIX}],
                "responses": {"204": {"description": "cleared"}, **_problems(422)},
            },
        },
        "/v1/signed-urls": {
            "post": {
                "summary": "Signed URLs for a batch of objects",
                "security": bearer,
                "requestBody": _body(
                    _obj(
                        {"paths": {"type": "array", "items": _STR}, "policy": {"enum": ["canned", "custom"]}},
                        ["paths"],
                    )
                ),
                "responses": {
                    "200": _json(
                        _obj(
                            {"expires": _INT, "results": {"type": "array", "items": url_result}},
                            ["expires", "results"],
                        )
                    ),
                    **_problems(*_SIGN_ERRORS),
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
                    {"name": "path", "in": "query", "required": True, "schema": _PATH},
                    {"name": "policy", "in": "query", "schema": {"enum": ["canned", "custom"]}},
                ],
                "responses": {
                    "200": _json(_obj({"url": _STR, "expires": _INT}, ["url", "expires"])),
                    **_problems(400, 401, 403, 422, 429),
                },
            },
        },
        "/v1/r/{path}": {
            "get": {
                "summary": "Redirect to the stable signed URL (for <img src>)",
                "security": bearer,
                "parameters": [{"name": "path", "in": "path", "required": True, "schema": _PATH}],
                "responses": {
                    "302": {
                        "description": "redirect to the signed URL",
                        "headers": {"Location": {"schema": _STR}},
                    },
                    **_problems(401, 403, 404, 422, 429),
                },
            },
        },
        "/v1/uploads": {
            "post": {
                "summary": "A presigned S3 PUT or POST form",
                "security": bearer,
                "requestBody": _body(
                    _obj(
                        {
                            "path": _PATH,
                            "content_type": _STR,
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
                    "200": _json(
                        {
                            "oneOf": [
                                _obj(
                                    {
                                        "method": {"const": "PUT"},
                                        "url": _STR,
                                        "expires": _INT,
                                        "headers": {"type": "object", "additionalProperties": _STR},
                                    },
                                    ["method", "url", "headers", "expires"],
                                ),
                                _obj(
                                    {
                                        "method": {"const": "POST"},
                                        "url": _STR,
                                        "expires": _INT,
                                        "fields": {"type": "object", "additionalProperties": _STR},
                                    },
                                    ["method", "url", "fields", "expires"],
                                ),
                            ]
                        },
                        links=_UPLOAD_LINKS,
                    ),
                    **_problems(*_SIGN_ERRORS, 503),
                },
            },
        },
        "/v1/deletes": {
            "post": {
                "operationId": "presignDelete",
                "summary": "A presigned S3 DELETE",
                "security": bearer,
                "requestBody": _body(_obj({"path": _PATH}, ["path"])),
                "responses": {
                    "200": _json(
                        _obj(
                            {"method": {"const": "DELETE"}, "url": _STR, "expires": _INT},
                            ["method", "url", "expires"],
                        )
                    ),
                    **_problems(*_SIGN_ERRORS, 503),
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
                            "schema": _obj({"duration_seconds": {"type": "integer", "minimum": 1}}, [])
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "access_key_id": _STR,
                                "secret_access_key": _STR,
                                "session_token": _STR,
                                "expiration": _STR,
                                "bucket": _STR,
                                "region": _STR,
                                "endpoint_url": {"type": ["string", "null"]},
                                "prefixes": {"type": "object"},
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
                    **_problems(400, 401, 403, 404, 408, 415, 422, 429, 503),
                },
            },
        },
        "/v1/keys": {
            "get": {
                "summary": "Public keys in the keyring",
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "active": _STR,
                                "keys": {
                                    "type": "array",
                                    "items": _obj(
                                        {
                                            "id": _STR,
                                            "key_pair_id": {"type": ["string", "null"]},
                                            "algorithm": _STR,
                                            "state": _STR,
                                            "created": _INT,
                                            "public_key": _STR,
                                        },
                                        ["id", "algorithm", "state", "public_key"],
                                    ),
                                },
                            },
                            ["active", "keys"],
                        )
                    )
                },
            }
        },
        "/healthz": {
            "get": {"summary": "Liveness", "responses": {"200": _json(_obj({"status": _STR}, ["status"]))}}
        },
        "/readyz": {
            "get": {
                "summary": "Readiness and what is degraded",
                "responses": {
                    s: _json(_obj({"status": _STR, "checks": {"type": "object"}}, ["status", "checks"]))
                    for s in ("200", "503")
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"description": "text format", "content": {"text/plain": {"schema": _STR}}}
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": _json({"type": "object"})}}
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
                "Problem": _obj(
                    {"type": _STR, "title": _STR, "status": _INT, "detail": _STR, "request_id": _STR},
                    ["type", "title", "status", "detail"],
                )
            },
        },
    }
