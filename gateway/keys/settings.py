"""The ``[keys]`` settings: where public keys are published and how rotation paces itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_DIST_ID = re.compile(r"\A[A-Z0-9]{1,128}\Z")


@dataclass(frozen=True)
class KeysSettings:
    """Where public keys are published, and how a rotation paces itself.

    Attributes:
        publisher: ``local`` (the local edge trusts the keyring itself) or ``cloudfront`` (each key
            becomes a CloudFront public key in ``key_group_id``).
        key_group_id: The CloudFront key group the distribution's behaviours trust (required with
            ``publisher = "cloudfront"``).
        distribution_id: The distribution whose edges verify grants: a rotation also waits until
            ``GetDistribution`` reports it ``Deployed`` (at most 35 minutes).
        algorithm: Type of new keys: ``ecdsa`` (P-256) or ``rsa`` (2048 bits).
        propagation_seconds: Wait, 0-3600 s, between publishing a key and signing with it.  Unset:
            the publisher's safe wait (300 s for CloudFront, 5 s locally); an explicit shorter wait
            is honoured with a warning.
        max_keys_in_group: Live keys (pending, active, trusted) at most, 1-100, for every publisher;
            CloudFront's default quota is 5 public keys per key group.
    """

    publisher: Literal["local", "cloudfront"] = "local"
    key_group_id: str = ""
    distribution_id: str = ""
    algorithm: Literal["rsa", "ecdsa"] = "ecdsa"
    propagation_seconds: float | None = None
    max_keys_in_group: int = 5

    def check(self, problems: list[str]) -> None:
        if self.publisher == "cloudfront" and not self.key_group_id:
            problems.append("keys.key_group_id is required with keys.publisher = cloudfront")
        wait, distribution = self.propagation_seconds, self.distribution_id
        if (wait is not None and not 0 <= wait <= 3600) or not 1 <= self.max_keys_in_group <= 100:
            problems.append("keys.propagation_seconds must be 0-3600 and keys.max_keys_in_group 1-100")
        if distribution and (self.publisher != "cloudfront" or not _DIST_ID.match(distribution)):
            problems.append(
                "keys.distribution_id must be a CloudFront distribution id (publisher = cloudfront)"
            )
