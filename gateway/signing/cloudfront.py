"""One policy, signed once, rendered as URL query parameters or as cookies.

Pure: the caller passes the policy (with its times already decided) and the signer.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.signing.crypto import HashAlgorithm, Signer
from gateway.signing.encoding import cf_b64encode
from gateway.signing.policy import Policy

# Names CloudFront reserves in a query string; their presence makes a request a signed URL.
SIGNING_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")
COOKIE_PREFIX = "CloudFront-"


@dataclass(frozen=True, repr=False, slots=True)
class SignedPolicy:
    policy: Policy
    policy_bytes: bytes
    signature: str  # CloudFront base64
    key_pair_id: str
    hash_algorithm: HashAlgorithm

    def __repr__(self) -> str:  # signatures never reach logs through a repr
        return f"SignedPolicy(resource={self.policy.resource!r}, key_pair_id={self.key_pair_id!r})"

    def params(self) -> list[tuple[str, str]]:
        """The signing parameters in botocore's order, ``Hash-Algorithm`` only for SHA-256."""
        first = (
            ("Expires", str(self.policy.date_less_than))
            if self.policy.canned
            else ("Policy", cf_b64encode(self.policy_bytes))
        )
        out = [first, ("Signature", self.signature), ("Key-Pair-Id", self.key_pair_id)]
        if self.hash_algorithm is not HashAlgorithm.SHA1:
            out.append(("Hash-Algorithm", self.hash_algorithm.value))
        return out

    def cookies(self) -> dict[str, str]:
        """``CloudFront-*`` cookie values; each needs its own ``Set-Cookie`` header."""
        return {COOKIE_PREFIX + name: value for name, value in self.params()}

    def url(self, url: str) -> str:
        """``url`` (already canonical) with the signing parameters appended, nothing re-encoded."""
        query = "&".join(f"{name}={value}" for name, value in self.params())
        return f"{url}{'&' if '?' in url else '?'}{query}"


def sign_policy(
    policy: Policy, signer: Signer, hash_algorithm: HashAlgorithm = HashAlgorithm.SHA1
) -> SignedPolicy:
    data = policy.to_bytes()
    signature = cf_b64encode(signer.sign(data, hash_algorithm))
    return SignedPolicy(policy, data, signature, signer.key_pair_id, hash_algorithm)


def has_signing_params(query: str) -> bool:
    """True when a raw query string names any CloudFront signing parameter."""
    names = {part.split("=", 1)[0] for part in query.split("&") if part}
    return any(name in names for name in SIGNING_PARAMS)
