"""A fake STS at the network boundary: an aiohttp server answering AssumeRole with STS's XML,
broken in chosen ways (missing fields, bad timestamps, expired sets, refusals, hangs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import urllib.parse

from aiohttp import web

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
# RoleSessionName as STS validates it: ASCII only (AssumeRole API reference, "RoleSessionName").
NAME = re.compile(r"\A[\w+=,.@-]{2,64}\Z", re.ASCII)


class FakeSts:
    """``mode``: ok | missing | baddate | past | soon | refuse | hang.  ``calls`` records every
    request's form fields; ``release`` ends hanging requests."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls: list[dict[str, str]] = []
        self.release = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_post("/", self.handle)

    def _credentials(self, expiration: str, secret: bool = True) -> str:
        n = len(self.calls)
        secret_xml = f"<SecretAccessKey>secret{n}</SecretAccessKey>" if secret else ""
        return (
            f"<Credentials><AccessKeyId>ASIAFAKE{n:08d}</AccessKeyId>{secret_xml}"
            f"<SessionToken>token{n}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
        )

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in urllib.parse.parse_qsl((await request.read()).decode())}
        self.calls.append(form)
        if self.mode == "hang":
            await self.release.wait()
        if self.mode == "refuse" or not NAME.match(form.get("RoleSessionName", "")):
            return self._error("InvalidParameterValue", "1 validation error detected: roleSessionName")
        lifetime = int(form.get("DurationSeconds", "3600"))
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime)
        expiration = {
            "baddate": "notadate",
            "past": "2001-01-01T00:00:00Z",
            "soon": (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }.get(self.mode, when.strftime("%Y-%m-%dT%H:%M:%SZ"))
        body = (
            f'<AssumeRoleResponse xmlns="{NS}"><AssumeRoleResult>'
            f"{self._credentials(expiration, secret=self.mode != 'missing')}"
            "<AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/r/s</Arn>"
            "<AssumedRoleId>AROAFAKE:s</AssumedRoleId></AssumedRoleUser>"
            "</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"
        )
        return web.Response(body=body.encode(), content_type="text/xml")

    def _error(self, code: str, message: str) -> web.Response:
        body = (
            f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
        return web.Response(status=400, body=body.encode(), content_type="text/xml")
