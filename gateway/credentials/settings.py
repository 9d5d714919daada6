"""The ``[credentials]`` settings: how temporary AWS credentials are vended (STS)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gateway.common.config import NO_SECRET, Secret

_ROLE_ARN = re.compile(r"\Aarn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,128}\Z")


@dataclass(frozen=True)
class CredentialsSettings:
    mode: Literal["off", "assume_role", "federation_token"] = "off"
    role_arn: str = ""  # may name a role in another account
    external_id: Secret = NO_SECRET
    endpoint_url: str = ""  # empty: AWS STS
    region: str = "us-east-1"
    min_seconds: int = 900  # STS's minimum
    max_seconds: int = 3600
    default_seconds: int = 3600
    timeout_seconds: float = 3.0
    session_tags: bool = True  # the role's trust policy must allow sts:TagSession

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
