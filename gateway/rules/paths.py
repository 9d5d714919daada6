"""Object-key validation (docs/design.md, "Object keys"): refuse, before anything is signed,
every key that could widen a policy or reach another prefix through a normalising client, proxy
or origin.
"""

from __future__ import annotations

import re
import unicodedata

MAX_KEY_BYTES = 1024  # S3's limit on a key, in UTF-8 bytes
MAX_SEGMENT_BYTES = 128  # for {sub} and {group} values
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


class PathError(ValueError):
    """The public reason a path was refused."""


_SAFE_ASCII = re.compile(r"\A[\x20-\x29\x2b-\x3e\x40-\x5b\x5d-\x7e]*\Z")  # printable, minus * ? \\


def _check_characters(text: str) -> None:
    if _SAFE_ASCII.match(text):  # the common case, without a per-character Unicode lookup
        if _ENCODED.search(text):
            raise PathError("percent-encoded sequences are not allowed (send the key itself)")
        return
    for ch in text:
        if ch in "*?\\":
            raise PathError(f"'{ch}' is not allowed in a path")
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):  # controls, bidi/zero-width, separators
            raise PathError("control, format and line-separator characters are not allowed")
    if _ENCODED.search(text):
        raise PathError("percent-encoded sequences are not allowed (send the key itself)")
    if unicodedata.normalize("NFC", text) != text:
        raise PathError("path must be NFC-normalised Unicode")


def validate_key(key: object, *, prefix: bool = False) -> str:
    """Return ``key`` if it is a safe object key (or, with ``prefix``, a key prefix ending in "/")."""
    if not isinstance(key, str) or not key:
        raise PathError("path must be a non-empty string")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise PathError("path must be valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise PathError(f"path is longer than {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise PathError("path must not start with '/'")
    if prefix and not key.endswith("/"):
        raise PathError("a prefix must end with '/'")
    segments = key.split("/")
    body = segments[:-1] if key.endswith("/") else segments
    for segment in body:
        if segment in ("", ".", ".."):
            raise PathError("empty, '.' and '..' path segments are not allowed")
    _check_characters(key)
    return key


def validate_segment(value: object) -> str | None:
    """A ``{sub}``/``{group}`` value usable as one path segment, or None when it is not."""
    if not isinstance(value, str) or not value or value in (".", "..") or "/" in value:
        return None
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES or "{" in value or "}" in value:
        return None
    try:
        validate_key(value)
    except PathError:
        return None
    return value
