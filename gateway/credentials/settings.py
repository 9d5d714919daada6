"""The ``[credentials]`` settings: how temporary AWS credentials are vended (STS)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gateway.common.config import NO_SECRET, Secret

_ROLE_ARN = re.compile(r"\Aarn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,128}\Z")


@dataclass(frozen=True)
class CredentialsSettings:
    """Temporary AWS credentials (``POST /v1/credentials``) from STS, scoped by the rules.

    Attributes:
        mode: ``off``, ``assume_role`` (AssumeRole on ``role_arn``) or ``federation_token``
            (GetFederationToken with the gateway's own IAM user credentials).
        role_arn: The IAM role to assume; it may be in another account.
        external_id: The ``ExternalId`` the role's trust policy requires, if any; never printed.
        endpoint_url: Empty: AWS STS; else another STS endpoint.
        region: The STS region.
        min_seconds: Shortest lifetime handed out (STS's minimum is 900); shorter requests get it.
        max_seconds: Longest lifetime handed out (at most 43200, and within the role's maximum
            session duration); longer requests get it.
        default_seconds: Lifetime when a request names none.
        timeout_seconds: Bound on one STS call; past it, 503 with ``Retry-After``.
        session_tags: Tag each session with the caller's ``sub`` (the role's trust policy must
            allow ``sts:TagSession``).
    """

    mode: Literal["off", "assume_role", "federation_token"] = "off"
    role_arn: str = ""
    external_id: Secret = NO_SECRET
    endpoint_url: str = ""
    region: str = "us-east-1"
    min_seconds: int = 900
    max_seconds: int = 3600
    default_seconds: int = 3600
    timeout_seconds: float = 3.0
    session_tags: bool = True

    def check(self, problems: list[str]) -> None:
        c = self
        if c.mode == "assume_role" and not _ROLE_ARN.match(c.role_arn):
            problems.append(
                "credentials.role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/name)"
            )
        if not 900 <= c.min_seconds <= c.default_seconds <= c.max_seconds <= 43200:
            problems.append("credentials needs 900 <= min_seconds <= default_seconds <= max_seconds <= 43200")
        if c.timeout_seconds <= 0:
            problems.append("credentials.timeout_seconds must be positive")
