"""Request ids and one JSON access-log line per request, for the gateway and the edge alike.

aiohttp's default format includes the request line (``%r``), whose query string carries
signatures; these lines hold the path only, never a query, header, token or cookie.  Each process
numbers its requests under a random prefix: ids correlate a viewer's report with a log line, so
they must be unique, not unguessable.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import logging
import secrets
import time as clock
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

REQUEST_ID = web.RequestKey("request_id", str)
_PROCESS = secrets.token_hex(4)
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PROCESS}-{next(_COUNTER):x}"


@functools.lru_cache(maxsize=2)
def _second(whole: int) -> str:
    return dt.datetime.fromtimestamp(whole, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def timestamp(now: float) -> str:
    """ISO 8601 UTC with milliseconds; the seconds part is formatted once per second."""
    whole = int(now)
    return f"{_second(whole)}.{int((now - whole) * 1000):03d}+00:00"


class JsonAccessLogger(AbstractAccessLogger):
    """The fields every component logs; a subclass adds its own with :meth:`extra`."""

    def fields(self, request: web.BaseRequest, response: web.StreamResponse) -> dict[str, Any]:
        return {}

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        record = {
            "time": timestamp(clock.time()),
            "request_id": request.get(REQUEST_ID, ""),
            "remote": request.remote,
            "method": request.method,
            "path": request.rel_url.path,  # no query: signatures and tokens never reach the log
            "status": response.status,
            "bytes": response.body_length,
            "duration_ms": round(time * 1000, 3),
            **self.fields(request, response),
        }
        self.logger.info(json.dumps(record))

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
