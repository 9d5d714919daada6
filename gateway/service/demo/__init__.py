"""The demo pages (a Leaflet map, an upload page, a photo gallery) and their development-only sign-in.

Mounted only when ``demo.enabled`` (which settings allow only in development): in production the
routes do not exist at all, so there is no token endpoint to find.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.rules.paths import validate_segment
from gateway.service import appkeys
from gateway.service.auth import dev_token
from gateway.service.demo.photos import list_photos
from gateway.service.errors import Unprocessable
from gateway.service.handlers.common import NO_STORE, field, read_json

STATIC = Path(__file__).parent / "static"
PAGES = {"/demo/": "map.html", "/demo/upload.html": "upload.html", "/demo/photos.html": "photos.html"}
MAX_GROUPS = 8


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / PAGES[request.path], headers={"Cache-Control": "no-cache"})


def _segment(value: object, what: str) -> str:
    checked = validate_segment(value)
    if checked is None or len(checked) > 64:
        raise Unprocessable(f"{what} must be a short, safe path segment")
    return checked


async def _token(request: web.Request) -> web.Response:
    """Sign in as anyone, in any groups (development only): the demo has no identity provider.
    Groups are checked like ``sub``: a rule may put ``{group}`` in a prefix."""
    body = await read_json(request)
    sub = _segment(field(body, "sub", str), "sub")
    raw_groups = field(body, "groups", list, [])
    if len(raw_groups) > MAX_GROUPS:
        raise Unprocessable(f"at most {MAX_GROUPS} groups")
    groups = sorted({_segment(group, "each group") for group in raw_groups})
    settings = request.app[appkeys.SETTINGS].auth
    token = dev_token(settings, sub, groups, ttl=8 * 3600)
    return web.json_response({"token": token, "sub": sub, "groups": groups}, headers=NO_STORE)


def add_demo_routes(app: web.Application, vendor_dir: Path) -> None:
    app.router.add_get("/demo/", _page)
    app.router.add_get("/demo/upload.html", _page)
    app.router.add_get("/demo/photos.html", _page)
    app.router.add_get("/demo/photos", list_photos)
    app.router.add_post("/demo/token", _token)
    app.router.add_static("/demo/static", STATIC)
    leaflet = vendor_dir / "leaflet" / "dist"
    if leaflet.is_dir():
        app.router.add_static("/demo/vendor/leaflet", leaflet)
    aws_sdk = vendor_dir / ".cdn-gateway"  # the AWS SDK's S3 client, bundled by make install
    if aws_sdk.is_dir():
        app.router.add_static("/demo/vendor/aws-sdk", aws_sdk)
