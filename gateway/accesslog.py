"""A JSON access log that never prints query strings, headers, tokens or cookies.

aiohttp's default format includes the request line (``%r``), whose query string carries
signatures on some routes; this logger records only the route and the path.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.middlewares import REQUEST_ID


class JsonAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        try:
            resource = request.match_info.route.resource if isinstance(request, web.Request) else None
        except AssertionError:  # aiohttp refused the request before it was routed
            resource = None
        record = {
            "request_id": request.get(REQUEST_ID, ""),
            "remote": request.remote,
            "method": request.method,
            "route": resource.canonical if resource is not None else None,
            "path": request.rel_url.path,  # no query: signatures and tokens never reach the log
            "status": response.status,
            "bytes": response.body_length,
            "duration_ms": round(time * 1000, 3),
        }
        self.logger.info(json.dumps(record))

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
