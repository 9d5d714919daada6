"""Vend STS credentials: AssumeRole (optionally cross-account, with ExternalId) or
GetFederationToken, with a session policy from the rules, bounded timeouts, and a cache.

A cached set is handed out again only while it still lives for the lifetime the caller asked for
(minus one reuse window), so nobody gets credentials that die sooner than they were told.  A
failing STS gives 503 with Retry-After; there is never a fallback to broader credentials.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cachetools import TTLCache

from gateway.credentials.policy import Scope, session_name, session_policy, tag_value
from gateway.credentials.settings import CredentialsSettings
from gateway.rules.access import Principal

log = logging.getLogger(__name__)
REUSE_WINDOW_SECONDS = 300


class StsUnavailable(Exception):
    """STS failed or timed out; ``retry_after`` seconds is a sensible wait.  Never a fallback."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Vended:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds

    def __repr__(self) -> str:
        return f"Vended(access_key_id={self.access_key_id[:4]}..., expiration={self.expiration})"


CacheKey = tuple[str, str, tuple[str, ...], int, str]


class CredentialVendor:
    def __init__(
        self,
        settings: CredentialsSettings,
        bucket: str,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.settings = settings
        self.bucket = bucket
        # The gateway's own identity (the same as for presigning; else the default chain) calls STS.
        self._client: Any = boto3.client(
            "sts",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                connect_timeout=settings.timeout_seconds,
                read_timeout=settings.timeout_seconds,
                retries={"mode": "standard", "max_attempts": 2},
            ),
        )
        self._cache: TTLCache[CacheKey, Vended] = TTLCache(maxsize=10_000, ttl=settings.max_seconds)
        self._inflight: dict[CacheKey, asyncio.Future[Vended]] = {}

    def duration(self, requested: int | None) -> int:
        """Clamp to the configured range (STS's own minimum is 900 s)."""
        wanted = self.settings.default_seconds if requested is None else requested
        return max(self.settings.min_seconds, min(self.settings.max_seconds, wanted))

    def _call(self, principal: Principal, policy: str, duration: int) -> Vended:
        s = self.settings
        assert principal.sub is not None
        if s.mode == "federation_token":
            answer = self._client.get_federation_token(
                Name=session_name(principal.sub, limit=32), Policy=policy, DurationSeconds=duration
            )
        else:
            kwargs: dict[str, Any] = {
                "RoleArn": s.role_arn,
                "RoleSessionName": session_name(principal.sub),
                "Policy": policy,
                "DurationSeconds": duration,
            }
            if s.external_id:
                kwargs["ExternalId"] = str(s.external_id)
            if s.session_tags:
                kwargs["Tags"] = [{"Key": "sub", "Value": tag_value(principal.sub)}]
            answer = self._client.assume_role(**kwargs)
        c = answer["Credentials"]
        return Vended(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"].timestamp())

    async def vend(self, principal: Principal, scope: Scope, requested: int | None) -> Vended:
        duration = self.duration(requested)
        policy = session_policy(scope, self.bucket)
        key: CacheKey = (principal.issuer, principal.sub or "", principal.groups, duration, policy)
        cached = self._cache.get(key)
        if cached is not None and cached.expiration - time.time() >= duration - REUSE_WINDOW_SECONDS:
            return cached
        if key in self._inflight:  # one STS call serves every concurrent request for the same scope
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[Vended] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            timeout = self.settings.timeout_seconds * 3
            vended = await asyncio.wait_for(
                asyncio.to_thread(self._call, principal, policy, duration), timeout
            )
            self._cache[key] = vended
            future.set_result(vended)
            return vended
        except (ClientError, BotoCoreError, TimeoutError) as exc:
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
            log.error("STS %s failed: %s %s", self.settings.mode, type(exc).__name__, code)
            error = StsUnavailable(f"{type(exc).__name__} {code}".strip(), retry_after=10 if code else 5)
            future.set_exception(error)
            future.exception()  # retrieved: waiting requests get it through await
            raise error from None
        finally:
            self._inflight.pop(key, None)
