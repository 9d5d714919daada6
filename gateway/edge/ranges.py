"""Byte ranges and validators for objects the edge holds (RFC 9110 sections 13.1 and 14).

A single range of a cached object is answered from the cache as 206, at once, whether or not the
origin is reachable; a range past the end is 416.  A syntactically invalid ``Range``, another unit
or several ranges are ignored and the whole object is sent, which RFC 9110 allows ("A server MAY
ignore the Range header field").  Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"\A\s*(\d*)\s*-\s*(\d*)\s*\Z")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class Unsatisfiable(Exception):
    """A well-formed range that starts past the end of the object."""


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one byte range asked for, None to send the whole object, :class:`Unsatisfiable` for 416."""
    unit, sep, ranges = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in ranges:
        return None
    match = _SPEC.match(ranges)
    if match is None or not (match[1] or match[2]):
        return None
    first, last = match[1], match[2]
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - length), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise Unsatisfiable
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(start, end)


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def none_match(header: str, etag: str | None) -> bool:
    """``If-None-Match`` holds the entity tag (weak comparison) or ``*``: answer 304."""
    if etag is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or _opaque(etag) in {_opaque(t) for t in tags}


def if_range_holds(header: str, etag: str | None, last_modified: str | None) -> bool:
    """``If-Range``: the range applies only to the representation it names (strong comparison)."""
    value = header.strip()
    if value.startswith(('"', "W/")):
        return etag is not None and not etag.startswith("W/") and value == etag
    return last_modified is not None and value == last_modified
