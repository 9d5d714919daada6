"""Every answer is JSON or problem+json; every request gets an id, a metric and a log line.

Behind a CDN, ``origin_guard`` refuses requests that did not come through it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.common.httplog import REQUEST_ID, new_request_id
from gateway.service import appkeys
from gateway.service.errors import STATUS_ERRORS, Forbidden, GatewayError, Unauthorized

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ARRIVED = web.RequestKey("arrived", float)  # loop time when the request head was complete
# nginx's code for "the client closed the connection before the answer": never sent, only counted.
CLIENT_CLOSED = 499
# Set on a request that carried the origin secret: only then are the CDN's headers believed.
FROM_CDN = web.RequestKey("from_cdn", bool)
# The load balancer's health checks reach the gateway directly, without the CDN's header.
UNGUARDED_PATHS = frozenset({"/healthz", "/readyz"})
# Two years, as the distribution's own response-headers policy (deploy/cloudformation).
HSTS = "max-age=63072000"


def problem_response(error: GatewayError, request_id: str) -> web.Response:
    headers = {"Cache-Control": "no-store", "X-Request-Id": request_id}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="cdn-gateway"'
    body = dict(error.problem(), request_id=request_id)
    return web.Response(
        status=error.status, text=json.dumps(body), headers=headers, content_type="application/problem+json"
    )


def _from_http(exc: web.HTTPException) -> GatewayError:
    cls = STATUS_ERRORS.get(exc.status)
    if cls is None:
        return GatewayError("the request could not be handled", internal=exc.reason)
    details = {404: "no such endpoint", 405: "method not allowed here", 413: "request body too large"}
    return cls(details.get(exc.status, exc.reason))


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    request[ARRIVED] = asyncio.get_running_loop().time()
    started = time.perf_counter()
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    try:
        response = await handler(request)
        response.headers["X-Request-Id"] = request_id
    except GatewayError as exc:
        response = problem_response(exc, request_id)
        if exc.internal:
            log.info("request %s refused: %s", request_id, exc.internal)
        if exc.close:
            response.force_close()  # the rest of the body may still come: never read it as a request
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = problem_response(_from_http(exc), request_id)
        if "Allow" in exc.headers:  # 405 must say what is allowed (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
    except ConnectionResetError:
        if not _client_gone(request):
            log.exception("request %s failed", request_id)  # a dependency's connection, not the client
            response = problem_response(GatewayError("internal error"), request_id)
        else:
            # Nothing can be sent; the status is for the metrics and the access log only.
            log.info("request %s: the client closed the connection before the answer", request_id)
            response = web.Response(status=CLIENT_CLOSED, reason="Client Closed Request")
    except Exception:
        # A bug: the client learns nothing but the request id; the log has the traceback.
        log.exception("request %s failed", request_id)
        response = problem_response(GatewayError("internal error"), request_id)
    if request.path.startswith("/v1/") and request.app[appkeys.SETTINGS].signing.cdn_base_url[:6] == "https:":
        # The API answers on the CDN's own https host: browsers must never try it over http.
        response.headers["Strict-Transport-Security"] = HSTS
    metrics = request.app[appkeys.METRICS]
    metrics.requests.labels(route, request.method, str(response.status)).inc()
    metrics.latency.labels(route).observe(time.perf_counter() - started)
    return response


def origin_guard(header: str, secrets: tuple[str, ...]) -> Middleware:
    """Refuse (403) every request without ``header`` set to one of ``secrets``, except the load
    balancer's health checks: a public load balancer must not be a way around the CDN.

    CloudFront adds the header to each request it sends to the origin (origin custom headers,
    CloudFront Developer Guide, "Restrict access to Application Load Balancers").  The value is
    compared in constant time, so its bytes cannot be found one at a time from response times.
    """
    expected = tuple(secret.encode("utf-8") for secret in secrets)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        sent = request.headers.getall(header, [])
        if len(sent) == 1:
            value = sent[0].encode("utf-8", "surrogateescape")
            # Every secret is compared, matching or not: the time says nothing about which.
            if sum(hmac.compare_digest(value, secret) for secret in expected):
                request[FROM_CDN] = True
                return await handler(request)
        if request.path in UNGUARDED_PATHS:
            return await handler(request)
        raise Forbidden("this address serves requests from the CDN only", internal=f"no valid {header}")

    return guard
