"""The configuration both sides share: distribution URLs, behaviours, keys and the bucket.

Each object's body names its key, so the bytes the edge returns say which object they are.  The
keys ``api/...`` and ``hooks/...`` also exist in the bucket as canaries: a request that should go
to the custom origin and is answered from S3 shows up as the wrong object.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from gateway.signing.crypto import KeySigner
from tests.conftest import load_vector_key
from tests.differential.model import Behaviour, World

DISTRIBUTION_URLS = (
    "https://cdn.example.test",
    "http://cdn.example.test:8080",
    "http://[2001:db8::7]",
    "https://alt.example.test:8443",
)
TRUSTED_PEER, UNTRUSTED_PEER = "127.0.0.2", "127.0.0.1"
TRUSTED_PROXIES = ("127.0.0.2/32",)
GRANTED_IP, OTHER_IP = "203.0.113.7", "198.51.100.23"

# Edge "a": the demo layout (signed default).  Edge "b": signed islands in a public default.
BEHAVIOURS = {
    "a": (
        Behaviour("/public/*", signed=False, origin="s3"),
        Behaviour("api/*", signed=False, origin="custom"),
        Behaviour("*", signed=True, origin="s3"),
    ),
    "b": (
        Behaviour("/users/*", signed=True, origin="s3"),
        Behaviour("/hooks/*", signed=True, origin="custom"),
        Behaviour("/api/v?/*", signed=False, origin="custom"),
        Behaviour("tiles/*.png", signed=True, origin="s3"),
        Behaviour("*", signed=False, origin="s3"),
    ),
}

KEYS = (
    "users/alice/photo.png",
    "users/alice/notes.txt",
    "users/alice/a b.txt",
    "users/alice/\u00fc.txt",
    "users/alice/100%.txt",
    "users/alice/x+y~z.txt",
    "users/alice/sub/deep.txt",
    "users/alicex/p.txt",
    "users/bob/photo.png",
    "users/bob/secret.txt",
    "tiles/1/0/0.png",
    "tiles/2/1/1.png",
    "tiles/readme.txt",
    "public/logo.png",
    "public/readme.txt",
    "public/staff/plan.txt",
    "misc/item.txt",
    "root.txt",
    "api/v1/data.json",
    "api/data.json",
    "hooks/h.json",
)


def body_of(key: str) -> bytes:
    marker = f"<<OBJECT {key} END>>".encode()
    return marker + b"." * (40 + len(key) % 7) + marker


OBJECTS = {key: body_of(key) for key in KEYS}
MARKER = b"<<OBJECT "


@dataclass(frozen=True)
class Signers:
    rsa: KeySigner
    ecdsa: KeySigner
    rogue_same_id: KeySigner  # an untrusted key claiming a trusted Key-Pair-Id
    rogue_unknown: KeySigner  # an untrusted key with an id nobody trusts


def signers() -> Signers:
    # Derived, not generated: the same seed gives the same bytes on every run.
    rogue = ec.derive_private_key(0x5EED_CAFE_F00D, ec.SECP256R1())
    return Signers(
        KeySigner("K2TESTRSA00001", load_vector_key("test-rsa-2048.pem")),
        KeySigner("K2TESTECDSA001", load_vector_key("test-ecdsa-p256.pem")),
        KeySigner("K2TESTRSA00001", rogue),
        KeySigner("K2ROGUE0000001", rogue),
    )


def world(edge: str) -> World:
    chosen = signers()
    keys = {s.key_pair_id: s.key.public_key() for s in (chosen.rsa, chosen.ecdsa)}
    return World(DISTRIBUTION_URLS, TRUSTED_PROXIES, BEHAVIOURS[edge[0]], keys, OBJECTS)
