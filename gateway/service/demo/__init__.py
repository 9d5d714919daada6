"""The demo pages (a Leaflet map and an upload page) and their development-only sign-in.

Mounted only when ``demo.enabled`` (which settings allow only in development): in production the
routes do not exist at all, so there is no token endpoint to find.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.rules.paths import validate_segment
from gateway.service import appkeys
from gateway.service.auth import dev_token
from gateway.service.errors import Unprocessable
from gateway.service.handlers.common import NO_STORE, field, read_json

STATIC = Path(__file__).parent / "static"


async def _page(request: web.Request) -> web.FileResponse:
    name = "upload.html" if request.path.endswith("upload.html") else "map.html"
    return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


async def _token(request: web.Request) -> web.Response:
    """Sign in as anyone (development only): the demo has no identity provider."""
    sub = validate_segment(field(await read_json(request), "sub", str))
    if sub is None or len(sub) > 64:
        raise Unprocessable("sub must be a short, safe path segment")
    settings = request.app[appkeys.SETTINGS].auth
    return web.json_response(
        {"token": dev_token(settings, sub, [], ttl=8 * 3600), "sub": sub}, headers=NO_STORE
    )


def add_demo_routes(app: web.Application, vendor_dir: Path) -> None:
    app.router.add_get("/demo/", _page)
    app.router.add_get("/demo/upload.html", _page)
    app.router.add_post("/demo/token", _token)
    app.router.add_static("/demo/static", STATIC)
    leaflet = vendor_dir / "leaflet" / "dist"
    if leaflet.is_dir():
        app.router.add_static("/demo/vendor/leaflet", leaflet)
