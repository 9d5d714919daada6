"""The gateway's access log: the common JSON line plus the route that answered."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.common.httplog import JsonAccessLogger


class ServiceAccessLogger(JsonAccessLogger):
    def fields(self, request: web.BaseRequest, response: web.StreamResponse) -> dict[str, Any]:
        try:
            resource = request.match_info.route.resource if isinstance(request, web.Request) else None
        except AssertionError:  # aiohttp refused the request before it was routed
            resource = None
        return {"route": resource.canonical if resource is not None else None}
