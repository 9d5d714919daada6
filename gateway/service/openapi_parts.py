"""The building blocks of the OpenAPI document: schemas for paths and problems, answers, links."""

from __future__ import annotations

from typing import Any

# What a regular expression can say of the path rules (docs/design.md, "Object keys"); the Unicode
# rules (NFC, no format characters) and the 1024-byte limit are checked by the server (422).
_PATH_PATTERN = r"^(?!/)(?!.*//)(?!(?:.*/)?\.\.?(?:/|$))(?!.*%[0-9A-Fa-f]{2})[^*?\\\x00-\x1f\x7f-\x9f]+$"
PATH = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1024,
    "pattern": _PATH_PATTERN,
    "description": "An object key relative to the bucket root: no leading '/', no '.', '..' or empty "
    "segments, no '*', '?', '\\', control characters or percent-escapes; NFC Unicode.",
}
PREFIX = dict(PATH, pattern=_PATH_PATTERN[:-2] + "*/$")
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def problem_answers(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": "problem", "content": {"application/problem+json": {"schema": PROBLEM}}}
        for s in statuses
    }


def answer(
    schema: dict[str, Any], description: str = "OK", links: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if links:
        answer["links"] = links
    return answer


# Stateful links: what a client does next with an answer (schemathesis follows them).
COOKIE_LINKS = {
    "ClearCookies": {"operationId": "clearCookies", "parameters": {"prefix": "$response.body#/prefix"}}
}
UPLOAD_LINKS = {
    "DeleteUpload": {"operationId": "presignDelete", "requestBody": {"path": "$request.body#/path"}},
    "ReadUpload": {"operationId": "signedUrl", "parameters": {"path": "$request.body#/path"}},
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def object_schema(props: dict[str, Any], required: list[str], extra: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if not extra:
        schema["additionalProperties"] = False
    return schema


INT = {"type": "integer"}
STR = {"type": "string"}
# 408: the body did not arrive within server.body_timeout_seconds (the connection is closed).
# 503: a grant that only a share opens while the share store is down (fail closed).
SIGN_ERRORS = (400, 401, 403, 408, 413, 415, 422, 429, 503)
