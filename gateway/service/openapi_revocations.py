"""The OpenAPI description of ``POST /v1/revocations`` (docs/design.md, "Revocation")."""

from __future__ import annotations

from typing import Any

from gateway.service.openapi_parts import INT, STR, answer, object_schema, problem_answers, request_body

REVOCATIONS_PATH: dict[str, Any] = {
    "post": {
        "summary": "Revoke every grant a user holds (operators only)",
        "description": "The user's cookies and signed URLs stop working at the edge within seconds, "
        "long before they expire; other users' grants, for the same prefixes too, keep working. "
        "`until` is when the last of the revoked grants would have expired. 403 unless the caller is "
        "in `auth.operator_groups`; 404 when `revocation.enabled` is off.",
        "security": [{"bearer": []}],
        "requestBody": request_body(
            object_schema({"sub": {"type": "string", "minLength": 1}, "issuer": STR}, ["sub"])
        ),
        "responses": {
            "200": answer(
                object_schema(
                    {"sub": STR, "issuer": STR, "revoked": INT, "until": INT},
                    ["sub", "issuer", "revoked", "until"],
                )
            ),
            **problem_answers(400, 401, 403, 404, 408, 413, 415, 422, 429, 503),
        },
    }
}
