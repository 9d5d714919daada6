"""Reference servers measured beside the gateway in the same run.

bare PORT                  the framework limit: aiohttp returning a small JSON document
static PORT FILE           a bare aiohttp static file: the limit for the edge's cached tile
baseline PORT PEM KEY_ID SECRET
                           the blog-post approach: per request, check the JWT, then sign one
                           CloudFront URL per tile with botocore's CloudFrontSigner, no cache
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import jwt
from aiohttp import web
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gateway.common.runtime import new_loop

TILES = [f"https://cdn.example.com/tiles/3/{x}/{y}.png" for x in range(8) for y in range(7)][:50]


def bare() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"resource": "https://cdn.example.com/tiles/*", "expires": 1800000000})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def static(path: str) -> web.Application:
    app = web.Application()
    app.router.add_static("/", Path(path).parent)
    return app


def baseline(pem: str, key_id: str, secret: str) -> web.Application:
    key = serialization.load_pem_private_key(Path(pem).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)

    async def view(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        jwt.decode(token, secret, algorithms=["HS256"])
        signer = CloudFrontSigner(key_id, lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA1()))
        expires = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
        urls = [signer.generate_presigned_url(tile, date_less_than=expires) for tile in TILES]
        return web.json_response({"urls": urls})

    app = web.Application()
    app.router.add_post("/map-view", view)
    return app


def main() -> None:
    kind, port, *rest = sys.argv[1:]
    # Each kind takes its own number of string arguments from the command line.
    factories: dict[str, Callable[..., web.Application]] = {
        "bare": bare,
        "static": static,
        "baseline": baseline,
    }
    app = factories[kind](*rest)
    # The same event loop as the gateway, so the reference is the framework's own limit.
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None, loop=new_loop())


if __name__ == "__main__":
    main()
