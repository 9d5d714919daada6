"""The ``[keys]`` settings: where public keys are published and how rotation paces itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_DIST_ID = re.compile(r"\A[A-Z0-9]{1,128}\Z")


@dataclass(frozen=True)
class KeysSettings:
    publisher: Literal["local", "cloudfront"] = "local"  # local: the edge trusts the keyring itself
    key_group_id: str = ""  # the CloudFront key group the distribution trusts
    # The distribution whose edges verify grants: rotation waits until it reports Deployed.
    distribution_id: str = ""
    algorithm: Literal["rsa", "ecdsa"] = "ecdsa"
    # Wait between publishing a key and signing with it.  Unset: the publisher's safe wait
    # (CloudFront 300 s, local 5 s); set, it is honoured even below that, with a warning.
    propagation_seconds: float | None = None
    # Live keys (pending + active + trusted) at most, whatever the publisher: rotation refuses past it.
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
