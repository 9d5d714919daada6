"""Errors with a public face, rendered as RFC 9457 ``application/problem+json``.

GatewayError            status + public title/detail; ``internal`` only ever logged
├── BadRequest          400  input failed validation
├── Unauthorized        401  token missing, malformed, expired or untrusted
├── Forbidden           403  the rules do not allow it (also for prefixes that exist)
├── NotFound            404
├── MethodNotAllowed    405
├── RequestTimeout      408  the request (head and body) did not arrive within its bound
├── PayloadTooLarge     413  body, batch or upload over its bound
├── UnsupportedMedia    415  request body or upload content type not accepted
├── Unprocessable       422  well-formed JSON with invalid values
├── TooManyRequests     429  rate limited; ``retry_after`` seconds
└── Unavailable         503  a dependency is down; ``retry_after`` seconds
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        internal: str = "",
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(internal or detail)
        self.detail = detail
        self.internal = internal
        self.retry_after = retry_after
        self.extra = extra or {}
        # The request's body was not read whole: the connection must not be read from again.
        self.close = close or isinstance(self, RequestTimeout)

    def problem(self) -> dict[str, Any]:
        # "about:blank": the status and title say everything (RFC 9457 section 4.2.1).
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class BadRequest(GatewayError):
    status, title = 400, "Bad Request"


class Unauthorized(GatewayError):
    status, title = 401, "Unauthorized"


class Forbidden(GatewayError):
    status, title = 403, "Forbidden"


class NotFound(GatewayError):
    status, title = 404, "Not Found"


class MethodNotAllowed(GatewayError):
    status, title = 405, "Method Not Allowed"


class RequestTimeout(GatewayError):
    status, title = 408, "Request Timeout"


class PayloadTooLarge(GatewayError):
    status, title = 413, "Payload Too Large"


class UnsupportedMedia(GatewayError):
    status, title = 415, "Unsupported Media Type"


class Unprocessable(GatewayError):
    status, title = 422, "Unprocessable Content"


class TooManyRequests(GatewayError):
    status, title = 429, "Too Many Requests"


class Unavailable(GatewayError):
    status, title = 503, "Service Unavailable"


STATUS_ERRORS: dict[int, type[GatewayError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        PayloadTooLarge,
        UnsupportedMedia,
        Unprocessable,
        TooManyRequests,
        Unavailable,
    )
}
