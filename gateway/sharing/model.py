"""What a share is, pure: its target, its grantee, the JSON it travels as, and list cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from gateway.rules.access import Principal

TargetKind = Literal["prefix", "path"]
GranteeKind = Literal["user", "group", "anyone"]
# 128 random bits, URL-safe: a share id is unguessable and reveals nothing.
ID_BYTES = 16
ID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{22}\Z")


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


@dataclass(frozen=True, slots=True)
class Share:
    """One row of ``shares``: ``owner`` (of ``issuer``) lets ``grantee`` read ``target``."""

    id: str
    issuer: str
    owner: str
    target_kind: TargetKind
    target: str
    grantee_kind: GranteeKind
    grantee: str  # empty for anyone
    created: int
    expires: int | None
    revoked_at: int | None = None

    @property
    def wildcard(self) -> bool:
        return self.target_kind == "prefix"

    def active(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires is None or now < self.expires)

    def covers(self, path: str) -> bool:
        """Does the target hold ``path`` (an object key or a prefix)?"""
        return path.startswith(self.target) if self.wildcard else path == self.target

    @property
    def with_(self) -> dict[str, Any]:
        if self.grantee_kind == "anyone":
            return {"anyone": True}
        return {self.grantee_kind: self.grantee}

    def to_json(self) -> dict[str, Any]:
        """What ``/v1/shares`` answers (the owner's name only to others: they need to know whose)."""
        return {
            "id": self.id,
            self.target_kind: self.target,
            "with": self.with_,
            "owner": self.owner,
            "created": self.created,
            "expires": self.expires,
        }


COLUMNS = "id, issuer, owner, target_kind, target, grantee_kind, grantee, created, expires, revoked_at"
# The rows of live shares, at a time bound as the one parameter; ``revoked_at IS NULL`` written
# out so that both databases use the partial indexes on live rows (migration 0002).
LIVE = "revoked_at IS NULL AND (expires IS NULL OR expires > ?)"


def from_row(row: tuple[Any, ...]) -> Share:
    return Share(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        row[3],
        str(row[4]),
        row[5],
        str(row[6]),
        int(row[7]),
        None if row[8] is None else int(row[8]),
        None if row[9] is None else int(row[9]),
    )


@dataclass(frozen=True, slots=True)
class Page:
    shares: list[Share]
    next_cursor: str | None


# A cursor's time must fit the store's 64-bit column (a forged one must not overflow the query).
MAX_CREATED = 2**62


class BadCursor(ValueError):
    pass


def encode_cursor(share: Share) -> str:
    """Opaque to clients; it only orders the caller's own rows, so a forged one reveals nothing."""
    raw = json.dumps([share.created, share.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    if len(cursor) > 128:
        raise BadCursor("cursor is not one this gateway gave")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("cursor is not one this gateway gave") from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or isinstance(value[0], bool)
        or not isinstance(value[0], int)
        or not 0 <= value[0] <= MAX_CREATED
        or not isinstance(value[1], str)
        or not ID_PATTERN.match(value[1])
    ):
        raise BadCursor("cursor is not one this gateway gave")
    return value[0], value[1]


def owner_lock(owner: Principal) -> int:
    """A signed 64-bit advisory lock key per owner (a collision only serialises two owners)."""
    digest = hashlib.blake2b(f"{owner.issuer}\0{owner.sub}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def grantee_clauses(principal: Principal) -> list[tuple[str, list[object]]]:
    """Rows shared with ``principal``, one clause per kind: anyone; by name or group, only
    within its issuer."""
    clauses: list[tuple[str, list[object]]] = [("grantee_kind = 'anyone'", [])]
    if principal.sub is not None and "\0" not in principal.sub + principal.issuer:
        clauses.append(
            ("grantee_kind = 'user' AND grantee = ? AND issuer = ?", [principal.sub, principal.issuer])
        )
        groups = [group for group in principal.groups if "\0" not in group]
        if groups:
            marks = ", ".join("?" * len(groups))
            clauses.append(
                (
                    f"grantee_kind = 'group' AND grantee IN ({marks}) AND issuer = ?",
                    [*groups, principal.issuer],
                )
            )
    return clauses
