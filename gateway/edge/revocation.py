"""Refuse revoked grants, as the CloudFront Function in ``deploy/cloudfront/revocation.js`` does.

The policies judged are the ones CloudFront will verify: the URL's ``Policy`` when the query holds
any signing parameter (a signed URL), else every ``CloudFront-Policy`` cookie (a browser may send
several sets).  Any of them carrying a revoked tag refuses the request, and so does a share tag
while the revocation list is stale (fail closed); a policy that does not decode is left to the
verifier.  Decoding here is as lenient as the function's (JSON's last duplicate wins, an integral
number in any spelling counts) so that both take the same decisions on the same vectors
(tests/edge/test_revocation_function.py); only signed policies can pass the verifier anyway.
Pure: no I/O; the revocation list and ``now`` are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from gateway.common.config import NO_SECRET, Secret
from gateway.common.revocation import RevocationWatcher, Tag, Verdict, tag_of
from gateway.signing.cloudfront import COOKIE_PREFIX, SIGNING_PARAMS
from gateway.signing.encoding import EncodingError, cf_b64decode
from gateway.signing.verify import ViewerRequest

POLICY_COOKIE = f"{COOKIE_PREFIX}Policy"


@dataclass(frozen=True)
class EdgeRevocation:
    """Revoked grants, refused before their windows end (docs/design.md, "Revocation").

    Attributes:
        store: Empty: no check.  Else the gateways' share store, read only: its SQLite file
            (relative to this file) or PostgreSQL DSN (``postgresql://``, a read-only role
            suffices: it reads the ``revocations`` table).  A revoked grant gets 403.
        poll_seconds: How often the revocation list is read; a revocation takes effect within it.
        max_stale_seconds: Past this long without a successful read, share grants are refused
            (fail closed); rule grants keep working on the last list.
    """

    store: Secret = NO_SECRET  # a DSN may hold a password: never printed
    poll_seconds: float = 1.0
    max_stale_seconds: float = 10.0


def _policies(request: ViewerRequest) -> Iterator[str]:
    pairs = [part.partition("=") for part in request.raw_query.split("&")] if request.raw_query else []
    if any(unquote(name) in SIGNING_PARAMS for name, _, _ in pairs):
        yield from (value for name, _, value in pairs if unquote(name) == "Policy")
        return
    yield from (value for name, value in request.cookies if name == POLICY_COOKIE)


def _integral(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def policy_tag(text: str) -> Tag | None:
    """The tag one ``Policy`` value carries, or None (untagged, or not a readable policy)."""
    try:
        raw = unquote(text, errors="strict") if "%" in text else text
        doc = json.loads(cf_b64decode(raw).decode("utf-8"))
    except (EncodingError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        return None
    condition = statements[0].get("Condition")
    after = condition.get("DateGreaterThan") if isinstance(condition, dict) else None
    epoch = after.get("AWS:EpochTime") if isinstance(after, dict) else None
    return tag_of(_integral(epoch))


def request_tags(request: ViewerRequest) -> list[Tag]:
    """Every tag the request's signing policies carry, in order."""
    return [tag for text in _policies(request) if (tag := policy_tag(text)) is not None]


def judge(request: ViewerRequest, revocations: RevocationWatcher, now: float) -> tuple[Verdict, Tag | None]:
    """``ok``, or the first refused tag with why (``revoked``, or ``unknown``: a stale list)."""
    for tag in request_tags(request):
        verdict = revocations.verdict(tag, now)
        if verdict != "ok":
            return verdict, tag
    return "ok", None
