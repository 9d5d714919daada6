"""The edge's access log: the common JSON line plus a result like CloudFront's ``x-edge-result-type``.

A response cut off after its headers were sent is logged as ``Aborted`` with the reason, not as
the status its headers claimed.  Every answer names its request in ``X-Amz-Cf-Id``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.common.httplog import JsonAccessLogger

RESULT = web.RequestKey("edge_result", str)
EXPLAIN = web.RequestKey("edge_explain", str)  # development only: why the request was refused
REQUEST_ID_HEADER = "X-Amz-Cf-Id"


class EdgeAccessLogger(JsonAccessLogger):
    def fields(self, request: web.BaseRequest, response: web.StreamResponse) -> dict[str, Any]:
        fields = {"result": request.get(RESULT) or ("Error" if response.status >= 400 else "")}
        if EXPLAIN in request:
            fields["explain"] = request[EXPLAIN]
        return fields
