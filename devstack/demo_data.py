"""Demo content for ``make run``: map tiles drawn with Pillow, a few images and sample photos.

Tiles follow the slippy-map scheme ``tiles/{z}/{x}/{y}.png`` for zooms 0-5 (1,365 tiles); each
shows its own coordinates over a colour that drifts with position, so a wrong tile is visible.
The gallery (``/demo/photos.html``) starts with two small albums, alice's and bob's JPEGs, and
two shares made through the API as their owners: one of alice's photos public, bob's album shared
with alice.
"""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image, ImageDraw

MARKER = ".demo-data-v2"  # v2: the gallery's sample photos
MAX_ZOOM = 5


def tile_png(z: int, x: int, y: int) -> bytes:
    n = 2**z
    image = Image.new("RGB", (256, 256), (40 + 180 * x // n, 90 + 120 * y // n, 200 - 25 * z))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 255, 255), outline=(255, 255, 255), width=2)
    for step in range(0, 256, 64):
        draw.line((step, 0, step, 255), fill=(255, 255, 255, 60))
        draw.line((0, step, 255, step), fill=(255, 255, 255, 60))
    draw.text((12, 12), f"z{z} x{x} y{y}", fill=(255, 255, 255), font_size=24)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def picture_png(label: str, colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (320, 200), colour)
    ImageDraw.Draw(image).text((16, 80), label, fill=(255, 255, 255), font_size=28)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def photo_jpeg(label: str, sky: tuple[int, int, int], ground: tuple[int, int, int]) -> bytes:
    """A small landscape: sky, a ground line and the photo's name, a few kilobytes of JPEG."""
    image = Image.new("RGB", (480, 320), sky)
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 220), (140, 150), (300, 210), (480, 160), (480, 320), (0, 320)], fill=ground)
    draw.ellipse((370, 40, 430, 100), fill=(250, 220, 120))
    draw.text((16, 16), label, fill=(255, 255, 255), font_size=26)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


# The gallery's sample albums, users/{sub}/albums/{album}/{photo}: sign in as alice or bob.
SAMPLE_PHOTOS = {
    "users/alice/albums/holiday/beach.jpg": ((90, 160, 220), (220, 200, 140)),
    "users/alice/albums/holiday/hills.jpg": ((120, 170, 230), (70, 130, 60)),
    "users/bob/albums/climbing/crag.jpg": ((150, 150, 190), (110, 100, 90)),
}


# The gallery's sample shares: (owner, POST /v1/shares body).
SAMPLE_SHARES: list[tuple[str, dict[str, Any]]] = [
    ("alice", {"path": "users/alice/albums/holiday/hills.jpg", "with": {"anyone": True}}),
    ("bob", {"prefix": "users/bob/albums/climbing/", "with": {"user": "alice"}}),
]


def objects() -> Iterator[tuple[str, bytes]]:
    for z in range(MAX_ZOOM + 1):
        for x in range(2**z):
            for y in range(2**z):
                yield f"tiles/{z}/{x}/{y}.png", tile_png(z, x, y)
    yield "public/welcome.png", picture_png("public/welcome.png", (30, 120, 60))
    yield "public/logo.png", picture_png("cdn-gateway", (20, 20, 20))
    yield "users/demo/holiday.png", picture_png("users/demo/holiday.png", (160, 60, 40))
    yield "users/demo/notes.png", picture_png("users/demo/notes.png", (60, 60, 160))
    for key, (sky, ground) in SAMPLE_PHOTOS.items():
        yield key, photo_jpeg(key.rsplit("/", 1)[1], sky, ground)


def fill_bucket(client: Any, bucket: str, allowed_origin: str) -> bool:
    """Create and fill the private demo bucket once; False when it was already there."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    # Browser uploads go straight to S3 from the demo page's origin, and so does the upload page's
    # ListObjectsV2 with temporary credentials (CORS only lets the page read what S3 authorises).
    client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [allowed_origin],
                    "AllowedMethods": ["GET", "POST", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )
    try:
        client.head_object(Bucket=bucket, Key=MARKER)
        return False
    except client.exceptions.ClientError:
        pass

    def put(item: tuple[str, bytes]) -> None:
        kind = "image/jpeg" if item[0].endswith(".jpg") else "image/png"
        client.put_object(
            Bucket=bucket, Key=item[0], Body=item[1], ContentType=kind, CacheControl="max-age=86400"
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, objects()))
    client.put_object(Bucket=bucket, Key=MARKER, Body=b"1")
    return True


def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - ours
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL we built
        return json.loads(response.read() or b"{}")


def share_samples(api: str, token: Callable[[str], str]) -> int:
    """Make the sample shares through the gateway's API as their owners, unless a share of the same
    target with the same grantee is already there; returns how many were made."""
    made = 0
    for owner, body in SAMPLE_SHARES:
        bearer = token(owner)
        live = _call("GET", f"{api}/v1/shares?limit=100", bearer)["shares"]
        if any(all(share.get(key) == value for key, value in body.items()) for share in live):
            continue
        _call("POST", f"{api}/v1/shares", bearer, body)
        made += 1
    return made
