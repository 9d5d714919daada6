"""The edge's JSON access log: one line per request, as the viewer saw it, never a query or cookie.

Each request gets its own id (sent back as ``X-Amz-Cf-Id``, as CloudFront does) and a result like
CloudFront's ``x-edge-result-type``; a response cut off after its headers were sent is logged as
``Aborted`` with the reason, not as the status its headers claimed.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import logging
import secrets
import time as time_module

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

REQUEST_ID = web.RequestKey("edge_request_id", str)
REQUEST_ID_HEADER = "X-Amz-Cf-Id"  # every answer names its request, as CloudFront's do
RESULT = web.RequestKey("edge_result", str)
# Ids correlate log lines with what a viewer reports; they need to be unique, not unguessable.
_PROCESS = secrets.token_hex(4)
_COUNTER = itertools.count(1)


@functools.lru_cache(maxsize=2)
def _second(whole: int) -> str:
    return dt.datetime.fromtimestamp(whole, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _timestamp(now: float) -> str:
    """ISO 8601 UTC with milliseconds; the seconds part is formatted once per second."""
    whole = int(now)
    return f"{_second(whole)}.{int((now - whole) * 1000):03d}+00:00"


def new_request_id() -> str:
    return f"{_PROCESS}-{next(_COUNTER):x}"


class EdgeAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        result = request.get(RESULT) or ("Error" if response.status >= 400 else "")
        record = {
            "time": _timestamp(time_module.time()),
            "request_id": request.get(REQUEST_ID, ""),
            "remote": request.remote,
            "method": request.method,
            "path": request.rel_url.path,  # no query: signatures never reach the log
            "status": response.status,
            "result": result,
            "bytes": response.body_length,
            "duration_ms": round(time * 1000, 3),
        }
        self.logger.info(json.dumps(record))

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
