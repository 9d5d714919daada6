"""``[revocation]`` settings of the gateway (docs/design.md, "Revocation")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.common.config import positive

_KVS_ARN = re.compile(r"\Aarn:aws[a-z-]*:cloudfront::\d{12}:key-value-store/[A-Za-z0-9-]{1,64}\Z")


@dataclass(frozen=True)
class RevocationSettings:
    """Revocation before expiry: grants that stop working at the edge when taken back.

    Grant tags and revocations live in the share store (``[sharing]``: its SQLite file or
    PostgreSQL), which edges read (the edge's ``revocation.store``).

    Attributes:
        enabled: Every grant for a signed-in caller (cookies and URLs; URLs then use custom
            policies, which can carry the tag) and every share grant carries a tag naming its
            principal and source, and ``POST /v1/revocations`` is served.  Each principal then has
            its own signature per source and window instead of one shared by every caller.
        poll_seconds: How often the revocation list is read again; a tag revoked through another
            replica stops being handed out within it.
        kvs_arn: Empty: no CloudFront.  Else the KeyValueStore the revocation function reads (the
            stack's ``RevokedGrantsArn`` output), kept equal to the revocation list.
        kvs_sync_seconds: How often the KeyValueStore is compared with the list and corrected
            (each revocation also syncs at once); an entry is deleted once its grants expired.
    """

    enabled: bool = False
    poll_seconds: float = 1.0
    kvs_arn: str = ""
    kvs_sync_seconds: float = 5.0


def revocation_problems(settings: RevocationSettings, problems: list[str]) -> None:
    positive(
        problems,
        **{
            "revocation.poll_seconds": settings.poll_seconds,
            "revocation.kvs_sync_seconds": settings.kvs_sync_seconds,
        },
    )
    if settings.kvs_arn and not _KVS_ARN.match(settings.kvs_arn):
        problems.append(
            "revocation.kvs_arn must be a KeyValueStore ARN, "
            "arn:aws:cloudfront::<account>:key-value-store/<id> (the stack's RevokedGrantsArn output)"
        )
    if settings.kvs_arn and not settings.enabled:
        problems.append("revocation.kvs_arn is set but revocation.enabled is false")
