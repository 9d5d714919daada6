"""Vend STS credentials: AssumeRole (optionally cross-account, with ExternalId) or
GetFederationToken, with a session policy from the rules, bounded timeouts, and a cache.

A cached set is handed out again only while it still lives for the lifetime the caller asked for
(minus one reuse window), so nobody gets credentials that die sooner than they were told.  A
failing STS gives 503 with Retry-After; there is never a fallback to broader credentials.  STS
refusing the request itself (an invalid parameter or policy) is :class:`StsRefused`: retrying
cannot help, so it is never a 503.

STS calls run on the vendor's own small thread pool, never the default one that readiness checks,
key watching and revocation mirroring share: a hanging STS ties up only these threads.  Calls not
yet finished (running or queued, including ones a request has given up on) are capped globally
and per caller, and after a few consecutive STS failures vending fails fast for a short while.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from cachetools import TTLCache

from gateway.credentials.policy import Scope, session_name, session_policy, tag_value
from gateway.credentials.settings import CredentialsSettings
from gateway.rules.access import Principal

log = logging.getLogger(__name__)
REUSE_WINDOW_SECONDS = 300
# Lifetimes are rounded down to one of these (and min_seconds/max_seconds), so callers asking for
# slightly different lifetimes share one cached set instead of each costing an STS call.
DURATION_STEPS = (900, 1800, 3600, 7200, 14400, 28800, 43200)
STS_THREADS = 4  # the vendor's own pool
MAX_PENDING = 8  # STS calls not finished yet, all callers
MAX_PENDING_PER_CALLER = 2
BREAKER_FAILURES = 3  # consecutive STS failures ...
BREAKER_SECONDS = 10  # ... make vending fail fast for this long
# STS error codes that say the request itself is invalid: the same request fails again.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_Errors
REFUSALS = frozenset(
    {"ValidationError", "InvalidParameterValue", "MalformedPolicyDocument", "PackedPolicyTooLarge"}
)


class StsUnavailable(Exception):
    """STS failed or timed out; ``retry_after`` seconds is a sensible wait.  Never a fallback."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class StsRefused(Exception):
    """STS rejected the request as invalid (``code``): asking again gives the same answer."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Vended:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds

    def __repr__(self) -> str:
        return f"Vended(access_key_id={self.access_key_id[:4]}..., expiration={self.expiration})"


CacheKey = tuple[str, str, tuple[str, ...], int, str]


def _text(credentials: Any, field: str) -> str:
    value = credentials[field]
    if not isinstance(value, str) or not value:
        raise ValueError(f"STS answered an empty or non-text {field}")
    return value


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
                max_pool_connections=STS_THREADS,
            ),
        )
        self._executor = concurrent.futures.ThreadPoolExecutor(STS_THREADS, thread_name_prefix="sts")
        self._cache: TTLCache[CacheKey, Vended] = TTLCache(maxsize=10_000, ttl=settings.max_seconds)
        self._inflight: dict[CacheKey, asyncio.Future[Vended]] = {}
        self._pending: dict[str, int] = {}  # caller -> STS calls not finished (threads, not requests)
        self._failures = 0
        self._open_until = 0.0

    def duration(self, requested: int | None) -> int:
        """Clamp to the configured range (STS's own minimum is 900 s), then round down to a step."""
        s = self.settings
        wanted = max(s.min_seconds, min(s.max_seconds, s.default_seconds if requested is None else requested))
        steps = [d for d in (*DURATION_STEPS, s.min_seconds, s.max_seconds) if s.min_seconds <= d <= wanted]
        return max(steps)

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
        expiration = c["Expiration"].timestamp()
        # Dead or nearly dead on arrival (a broken STS, or a clock far off): never hand it out.
        if expiration - time.time() < duration - REUSE_WINDOW_SECONDS:
            raise ValueError(f"STS answered credentials expiring at {expiration:.0f}, too soon")
        return Vended(
            _text(c, "AccessKeyId"), _text(c, "SecretAccessKey"), _text(c, "SessionToken"), expiration
        )

    def _admit(self, caller: str) -> None:
        now = time.monotonic()
        if now < self._open_until:
            raise StsUnavailable(
                "failing fast after STS failures", retry_after=int(self._open_until - now) + 1
            )
        if (
            sum(self._pending.values()) >= MAX_PENDING
            or self._pending.get(caller, 0) >= MAX_PENDING_PER_CALLER
        ):
            raise StsUnavailable("too many STS calls in flight", retry_after=2)

    def _start(self, caller: str, principal: Principal, policy: str, duration: int) -> asyncio.Future[Vended]:
        self._pending[caller] = self._pending.get(caller, 0) + 1

        def finished(job: asyncio.Future[Vended]) -> None:  # the thread is free (waited for or not)
            if not job.cancelled():
                job.exception()  # a request that gave up has already answered 503
            left = self._pending.get(caller, 1) - 1
            if left:
                self._pending[caller] = left
            else:
                self._pending.pop(caller, None)

        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._executor, self._call, principal, policy, duration)
        job.add_done_callback(finished)
        return job

    def _failed(self, exc: BaseException) -> Exception:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        log.error("STS %s failed: %s %s %s", self.settings.mode, type(exc).__name__, code, exc)
        if code in REFUSALS:
            self._failures = 0  # STS answered: it is up
            return StsRefused(code)
        self._failures += 1
        if self._failures >= BREAKER_FAILURES:
            self._open_until = time.monotonic() + BREAKER_SECONDS
        return StsUnavailable(f"{type(exc).__name__} {code}".strip(), retry_after=10 if code else 5)

    async def vend(self, principal: Principal, scope: Scope, requested: int | None) -> Vended:
        duration = self.duration(requested)
        policy = session_policy(scope, self.bucket)
        caller = f"{principal.issuer}\n{principal.sub or ''}"
        key: CacheKey = (principal.issuer, principal.sub or "", principal.groups, duration, policy)
        cached = self._cache.get(key)
        if cached is not None and cached.expiration - time.time() >= duration - REUSE_WINDOW_SECONDS:
            return cached
        if key in self._inflight:  # one STS call serves every concurrent request for the same scope
            return await asyncio.shield(self._inflight[key])
        self._admit(caller)
        future: asyncio.Future[Vended] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            job = self._start(caller, principal, policy, duration)
            vended = await asyncio.wait_for(asyncio.shield(job), self.settings.timeout_seconds * 3)
            self._failures = 0
            self._cache[key] = vended
            future.set_result(vended)
            return vended
        except Exception as exc:  # anything at all: the waiters must get an answer, never hang
            error = self._failed(exc)
            future.set_exception(error)
            future.exception()  # retrieved: waiting requests get it through await
            raise error from None
        finally:
            self._inflight.pop(key, None)
            if not future.done():  # cancelled (the client went away): waiters still get an answer
                future.set_exception(StsUnavailable("abandoned", retry_after=1))
                future.exception()
