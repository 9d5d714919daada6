"""Small pieces an explanation is told with: times, durations, where a URL leaves a pattern.

Pure: every time is given (``now`` included), nothing is read from the clock or the system.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from gateway.signing.wildcard import glob_match, split_pattern, split_url

# Beyond this an epoch is surely milliseconds (or microseconds): seconds would be after year 5000.
MILLISECONDS_FROM = 10**11
# Finding the position costs len(url) x len(pattern) steps; past this only the section is named.
_POSITION_BUDGET = 2_000_000
_MAX_LINE = 400


def printable(text: str, limit: int = _MAX_LINE) -> str:
    """One line of printable ASCII: other characters escaped, long text cut (headers, logs, terminals)."""
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    out = "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in escaped)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def iso(epoch: int) -> str:
    try:
        return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return "after year 9999"


def duration(seconds: int) -> str:
    """``3 min 12 s``: the two largest units, which is what a person compares."""
    if seconds >= 365 * 86400:
        years = seconds // (365 * 86400)
        return f"about {years} year{'s' if years > 1 else ''}"
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size or (size == 1 and not parts):
            count, seconds = divmod(seconds, size)
            parts.append(f"{count} {name}")
    return " ".join(parts[:2])


def when(epoch: int) -> str:
    return f"{epoch} ({iso(epoch)})"


class Difference(NamedTuple):
    section: str  # protocol, domain, path or query
    position: int | None  # 0-based index in the request URL; None when too costly to find


def _sections(url: str) -> list[tuple[str, int]]:
    got = split_url(url)
    domain = len(got.protocol) + 3
    path = domain + len(got.domain)
    return [("protocol", 0), ("domain", domain), ("path", path), ("query", path + len(got.path) + 1)]


def _viable(pattern: str, text: str) -> int:
    """How many leading characters of ``text`` some string matching ``pattern`` also starts with:
    a set-of-states run of the glob, so the first character no match can take is found."""

    def closure(states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            i = todo.pop()
            if i < len(pattern) and pattern[i] == "*" and i + 1 not in seen:
                seen.add(i + 1)
                todo.append(i + 1)
        return seen

    states = closure({0})
    for index, char in enumerate(text):
        step: set[int] = set()
        for i in states:
            if i < len(pattern):
                if pattern[i] == "*":
                    step.add(i)
                elif pattern[i] in ("?", char):
                    step.add(i + 1)
        if not step:
            return index
        states = closure(step)
    # Every character could still start a match: what fails is the end the pattern holds after
    # its last star ("*.png" against "x.jpg"), so point at its first character that differs, or,
    # when the text is too short to hold both ends, at where the starred part begins.
    if "*" not in pattern:
        return len(text)
    head, tail = pattern.partition("*")[0], pattern.rpartition("*")[2]
    if len(head) + len(tail) > len(text):
        return min(len(head), len(text))
    start = len(text) - len(tail)
    return next((start + i for i, want in enumerate(tail) if want not in ("?", text[start + i])), len(text))


def first_difference(pattern: str, url: str) -> Difference | None:
    """Where the request URL first leaves what a custom policy's Resource covers (the sections
    are matched separately, as :func:`gateway.signing.wildcard.resource_matches` does)."""
    want, got = split_pattern(pattern), split_url(url)
    starts = dict(_sections(url))
    pairs = [
        ("protocol", want.protocol, got.protocol),
        ("domain", want.domain, got.domain),
        ("path", want.path, got.path),
    ]
    for section, wanted, text in pairs:
        if not glob_match(wanted, text):
            return Difference(section, _position(wanted, text, starts[section]))
    if want.query is None:
        # The pattern has no query section: a request with one is another URL, from its "?".
        return None if got.query is None else Difference("query", starts["query"] - 1)
    if glob_match(want.query, got.query or ""):
        return None
    if got.query is None:
        return Difference("query", len(url))
    return Difference("query", _position(want.query, got.query, starts["query"]))


def _position(pattern: str, text: str, start: int) -> int | None:
    if len(pattern) * len(text) > _POSITION_BUDGET:
        return None
    return start + _viable(pattern, text)
