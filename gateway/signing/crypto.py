"""The two key types CloudFront accepts, and the signer the pure core is handed.

RSA-2048 signs with PKCS#1 v1.5; ECDSA P-256 signs DER with RFC 6979 deterministic nonces, so
two gateway instances with the same key emit the same bytes (stable, cacheable grants).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class HashAlgorithm(enum.Enum):
    """The digest named by ``Hash-Algorithm``; CloudFront assumes SHA1 when it is absent."""

    SHA1 = "SHA1"
    SHA256 = "SHA256"

    def digest(self) -> hashes.HashAlgorithm:
        return hashes.SHA1() if self is HashAlgorithm.SHA1 else hashes.SHA256()  # noqa: S303

    @classmethod
    def parse(cls, text: str) -> HashAlgorithm:
        """Accept ``sha1``/``sha256`` in any case from operators (the wire form is exact)."""
        try:
            return cls(text.upper())
        except ValueError:
            raise ValueError(f"hash algorithm must be sha1 or sha256, not {text!r}") from None


class KeyAlgorithm(enum.StrEnum):
    RSA_2048 = "rsa-2048"
    ECDSA_P256 = "ecdsa-p256"

    @classmethod
    def parse(cls, text: str) -> KeyAlgorithm:
        aliases = {
            "rsa": cls.RSA_2048,
            "rsa-2048": cls.RSA_2048,
            "ecdsa": cls.ECDSA_P256,
            "ecdsa-p256": cls.ECDSA_P256,
            "p256": cls.ECDSA_P256,
        }
        try:
            return aliases[text.lower()]
        except KeyError:
            raise ValueError(f"key algorithm must be rsa or ecdsa, not {text!r}") from None


class UnsupportedKey(ValueError):
    """A key CloudFront would not accept (wrong type, size or curve)."""


def key_algorithm(key: PrivateKey | PublicKey | object) -> KeyAlgorithm:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size != 2048:
            raise UnsupportedKey(f"RSA key is {key.key_size} bits; CloudFront needs 2048")
        return KeyAlgorithm.RSA_2048
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UnsupportedKey(f"EC key is on {key.curve.name}; CloudFront needs P-256")
        return KeyAlgorithm.ECDSA_P256
    raise UnsupportedKey("not an RSA or EC key")


def generate_private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm is KeyAlgorithm.RSA_2048:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PrivateKey | PublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(pem: str | bytes) -> PublicKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise UnsupportedKey("not an RSA or EC public key")
    key_algorithm(key)
    return key


class Signer(Protocol):
    """What the pure core needs from a key: an id to name and a way to sign bytes."""

    @property
    def key_pair_id(self) -> str: ...

    def sign(self, message: bytes, hash_algorithm: HashAlgorithm) -> bytes: ...


@dataclass(frozen=True, repr=False)
class KeySigner:
    """A :class:`Signer` over an in-memory private key; its repr never shows the key."""

    key_pair_id: str
    key: PrivateKey
    # Worked out once: type checks and padding objects cost as much as an ECDSA signature.
    algorithm: KeyAlgorithm = field(init=False)
    _schemes: dict[HashAlgorithm, tuple[Any, ...]] = field(init=False)

    def __post_init__(self) -> None:
        algorithm = key_algorithm(self.key)
        schemes: dict[HashAlgorithm, tuple[Any, ...]]
        if algorithm is KeyAlgorithm.RSA_2048:
            schemes = {h: (padding.PKCS1v15(), h.digest()) for h in HashAlgorithm}
        else:
            schemes = {h: (ec.ECDSA(h.digest(), deterministic_signing=True),) for h in HashAlgorithm}
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "_schemes", schemes)

    def __repr__(self) -> str:
        return f"KeySigner(key_pair_id={self.key_pair_id!r})"

    def sign(self, message: bytes, hash_algorithm: HashAlgorithm) -> bytes:
        signature: bytes = self.key.sign(message, *self._schemes[hash_algorithm])
        return signature


def verify_signature(key: PublicKey, signature: bytes, message: bytes, hash_algorithm: HashAlgorithm) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hash_algorithm.digest())
        else:
            key.verify(signature, message, ec.ECDSA(hash_algorithm.digest()))
    except (InvalidSignature, ValueError):
        return False
    return True
