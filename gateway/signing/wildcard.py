"""CloudFront's resource wildcards, matched section by section in linear time.

``*`` matches any run of characters and ``?`` exactly one; nothing else is special (no ``[]``,
no case folding: ``fnmatch`` would add both).  A pattern is cut into protocol, domain, path and
query sections and each is matched only within its own section (CloudFront Developer Guide,
"Create a signed URL using a custom policy", "Wildcard characters").
The matcher never backtracks: the literal pieces between stars are each found once, leftmost.
"""

from __future__ import annotations

from typing import NamedTuple


class Sections(NamedTuple):
    protocol: str
    domain: str
    path: str  # from the first "/" after the domain, "" when absent
    query: str | None  # None when the URL or pattern has no query section


def _split_query(rest: str) -> tuple[str, str | None]:
    # A pattern may write the query separator as "\?" (older docs) or as a plain "?".
    for sep in ("\\?", "?"):
        if sep in rest:
            path, query = rest.split(sep, 1)
            return path, query
    return rest, None


def split_url(url: str) -> Sections:
    protocol, _, rest = url.partition("://")
    slash = rest.find("/")
    if slash < 0:
        return Sections(protocol, rest, "", None)
    path, query = rest[slash:].split("?", 1) if "?" in rest[slash:] else (rest[slash:], None)
    return Sections(protocol, rest[:slash], path, query)


def split_pattern(pattern: str) -> Sections:
    if pattern == "*":
        return Sections("*", "*", "*", "*")
    if "://" in pattern:
        protocol, _, rest = pattern.partition("://")
    else:  # "*example.com" means "*://*example.com/"
        protocol, rest = "*", pattern
    slash = rest.find("/")
    domain, tail = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    path, query = _split_query(tail)
    if not path and domain.endswith("*"):
        path, query = "*", "*"  # a trailing * in the domain implies * in path and query
    if path.endswith("*") and query is None:
        query = "*"  # a trailing * in the path implies * in the query
    return Sections(protocol, domain, path, query)


def _find(text: str, piece: str, start: int) -> int:
    """Leftmost index >= start where ``piece`` (which may hold '?') matches, or -1."""
    if "?" not in piece:
        return text.find(piece, start)
    first = max(piece.split("?"), key=len)
    if not first:
        return start if len(text) - start >= len(piece) else -1
    offset = piece.index(first)
    pos = text.find(first, start + offset)
    while pos >= 0:
        begin = pos - offset
        if begin + len(piece) <= len(text) and _here(text, piece, begin):
            return begin
        pos = text.find(first, pos + 1)
    return -1


def _here(text: str, piece: str, at: int) -> bool:
    if at + len(piece) > len(text):
        return False
    return all(p == "?" or p == t for p, t in zip(piece, text[at : at + len(piece)], strict=False))


def glob_match(pattern: str, text: str) -> bool:
    """Whole-string match of ``*``/``?`` glob ``pattern`` against ``text``, case-sensitive."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return len(text) == len(pattern) and _here(text, pattern, 0)
    head, *middle, tail = pieces
    if len(head) + len(tail) > len(text):
        return False
    if not _here(text, head, 0) or not _here(text, tail, len(text) - len(tail)):
        return False
    pos, end = len(head), len(text) - len(tail)
    for piece in middle:
        if not piece:
            continue
        found = _find(text[:end], piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def resource_matches(pattern: str, url: str) -> bool:
    """Does a custom-policy ``Resource`` pattern cover this request URL?"""
    want, got = split_pattern(pattern), split_url(url)
    if not (glob_match(want.protocol, got.protocol) and glob_match(want.domain, got.domain)):
        return False
    if not glob_match(want.path, got.path):
        return False
    if want.query is None:
        return got.query is None
    return glob_match(want.query, got.query or "")
