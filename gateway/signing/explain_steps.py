"""How each verifier step is told: one :class:`Line` per decision, with hints that look further.

Used by :mod:`gateway.signing.explain`; the step names are those :mod:`gateway.signing.verify`
records.  The rules a line states are CloudFront's (Developer Guide, under
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/): a query naming any signing
parameter makes the request a signed URL and the cookies are not looked at
(private-content-choosing-signed-urls-cookies.html); a SHA-256 signature is announced with
``Hash-Algorithm=SHA256``, SHA-1 otherwise (PrivateCFSignatureCodeAndExamples.html).  Pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from gateway.signing.crypto import HashAlgorithm, PublicKey, verify_signature
from gateway.signing.describe import MILLISECONDS_FROM, duration, first_difference, iso, printable, when
from gateway.signing.trace import Step
from gateway.signing.verify import ViewerRequest

SOURCES = {"url": "URL parameters", "cookie": "cookies"}
_MAX_POLICY_LINES = 40
_MAX_KEYS_TRIED = 10


@dataclass(frozen=True)
class Line:
    status: str  # "ok", "FAIL", "info" or "hint"
    check: str  # the verifier's step (trace) name, or "now", "viewer", "result"
    text: str
    more: tuple[str, ...] = ()  # shown indented under the line (policy JSON, URLs)


@dataclass
class Context:
    request: ViewerRequest
    trusted: Mapping[str, PublicKey]
    now: int
    keyring: Mapping[str, str]  # Key-Pair-Id -> what the keyring says of it (state, algorithm)
    source: Step | None = None
    seen: dict[str, Step] = field(default_factory=dict)  # this credential set's steps


def line(step: Step, text: str, *more: str) -> Line:
    return Line("ok" if step.ok else "FAIL", step.check, printable(text), tuple(printable(m) for m in more))


def hint(text: str) -> Line:
    return Line("hint", "hint", printable(text))


def _source(step: Step, c: Context) -> list[Line]:
    facts, cookies = step.facts, len(step.facts["cookie_names"])
    if not step.ok:
        return [line(step, f"{SOURCES[facts['source']]} refused: {facts['problem']}")]
    if facts["source"] == "url":
        text = f"URL parameters: the query names {', '.join(dict.fromkeys(facts['query_names']))}"
        if cookies:
            text += f"; the {cookies} CloudFront-* cookies are ignored (URL parameters take precedence)"
        return [line(step, text)]
    sets = facts["sets"]
    held = (
        f"{sets} set{'s' if sets > 1 else ''} of CloudFront-* cookies"
        if cookies
        else "no CloudFront-* cookie"
    )
    return [line(step, f"cookies: the query names no signing parameter; {held}")]


def _cookie_set(step: Step, c: Context) -> list[Line]:
    facts = step.facts
    return [
        Line("info", step.check, f"set {facts['index'] + 1} of {facts['count']} (judged whole, in order)")
    ]


def _key_pair_id(step: Step, c: Context) -> list[Line]:
    if step.ok:
        return [line(step, step.facts["key_pair_id"])]
    source = SOURCES[c.source.facts["source"]] if c.source is not None else "request"
    names = step.facts["names"]
    held = f"it holds {', '.join(names)}" if names else "no signing parameter at all"
    return [line(step, f"no Key-Pair-Id in the {source}: {held}")]


def _key(step: Step, c: Context) -> list[Line]:
    key_pair_id = step.facts["key_pair_id"]
    note = f" (keyring: {c.keyring[key_pair_id]})" if key_pair_id in c.keyring else ""
    if step.ok:
        return [line(step, f"{key_pair_id} is trusted{note}")]
    trusted = ", ".join(step.facts["trusted"]) or "none"
    return [line(step, f"{key_pair_id} is not a trusted key{note}; trusted: {trusted}")]


def _hash_algorithm(step: Step, c: Context) -> list[Line]:
    name, sent = step.facts["name"], step.facts["sent"]
    if not step.ok:
        return [line(step, f"{name!r} is neither SHA1 nor SHA256 (spelled exactly so)")]
    return [line(step, name + ("" if sent else " (not sent: CloudFront's default)"))]


def _encoding(step: Step, c: Context) -> list[Line]:
    what = "Signature" if step.check == "signature-encoding" else "Policy"
    if step.ok:
        return [line(step, f"{what} decodes ({step.facts['length']} bytes)")]
    value = step.facts["value"]
    if value is None:
        return [line(step, "no Signature" if what == "Signature" else "neither Policy nor Expires")]
    text = unquote(value)  # what the verifier decodes
    bad = next((i for i, ch in enumerate(text) if not (ch.isascii() and (ch.isalnum() or ch in "-_~"))), None)
    decoded = " once percent-decoded" if text != value else ""
    if bad is not None:
        where = f" (character {bad + 1}{decoded} is {text[bad]!r})"
    elif len(text) % 4:
        where = f" (its length {len(text)}{decoded} is not a multiple of 4: padding missing?)"
    else:
        where = ""
    return [
        line(step, f"{what} is not CloudFront base64{where}"),
        hint("CloudFront base64 writes '+' '=' '/' as '-' '_' '~' and keeps the padding"),
    ]


def _expires(step: Step, c: Context) -> list[Line]:
    if not step.ok:
        return [
            line(step, f"Expires {step.facts['value']!r} is not a whole number of seconds since the epoch")
        ]
    return [line(step, f"{step.facts['value']}: a canned policy, rebuilt from the URL and Expires")]


def _policy_json(message: bytes) -> list[str]:
    try:
        lines = json.dumps(json.loads(message), indent=2).splitlines()
    except (ValueError, RecursionError):
        return [repr(message[:300])]
    return lines if len(lines) <= _MAX_POLICY_LINES else [*lines[:_MAX_POLICY_LINES], "..."]


def _signature(step: Step, c: Context) -> list[Line]:
    facts = step.facts
    key_pair_id, algorithm = c.seen["key"].facts["key_pair_id"], facts["hash"].value
    canned = "expires" in c.seen
    over = "the canned policy rebuilt from the request" if canned else "the Policy bytes"
    policy = ["policy:", *_policy_json(facts["message"])]
    if step.ok:
        return [line(step, f"verifies with {key_pair_id} ({algorithm}) over {over}", *policy)]
    lines = [line(step, f"does not verify with {key_pair_id} ({algorithm}) over {over}", *policy)]
    other = HashAlgorithm.SHA256 if facts["hash"] is HashAlgorithm.SHA1 else HashAlgorithm.SHA1
    if verify_signature(facts["key"], facts["signature"], facts["message"], other):
        said = "announces" if c.seen["hash-algorithm"].facts["sent"] else "names none, so CloudFront takes"
        name = (
            "Hash-Algorithm"
            if c.source is None or c.source.facts["source"] == "url"
            else "CloudFront-Hash-Algorithm"
        )
        send = f"send {name}={other.value}" if other is HashAlgorithm.SHA256 else f"drop {name}"
        signed = f"it verifies with {other.value}: signed with {other.value}"
        lines.append(hint(f"{signed}, the request {said} {algorithm} ({send})"))
    for other_id, other_key in list(c.trusted.items())[:_MAX_KEYS_TRIED]:
        if other_id != key_pair_id and any(
            verify_signature(other_key, facts["signature"], facts["message"], h) for h in HashAlgorithm
        ):
            lines.append(hint(f"it verifies with trusted key {other_id}: the Key-Pair-Id names another key"))
    if len(lines) == 1:
        lines.append(
            hint(
                "a canned signature covers exactly one URL and Expires: compare scheme, host, path and query "
                "with the URL that was signed"
            )
            if canned
            else hint("the signature was made over other bytes: another policy, or this one changed since")
        )
    return lines


def _policy(step: Step, c: Context) -> list[Line]:
    if step.ok:
        return [line(step, "one statement, well-formed")]
    return [line(step, step.facts["problem"])]


def _resource(step: Step, c: Context) -> list[Line]:
    pattern, url = step.facts["pattern"], step.facts["url"]
    shown = (f"policy Resource: {pattern}", f"request URL:     {url}")
    if step.ok:
        return [line(step, "the policy's Resource covers the request URL", *shown)]
    difference = first_difference(pattern, url)
    if difference is None:  # resource_matches and first_difference disagree: say so, never guess
        return [line(step, "the policy's Resource does not cover the request URL", *shown)]
    if difference.position is None:
        return [line(step, f"the {difference.section} differs", *shown)]
    at = difference.position
    found = repr(url[at]) if at < len(url) else "the end of the URL"
    text = f"the {difference.section} differs at character {at + 1} of the request URL ({found})"
    return [line(step, text, *shown, " " * (len("request URL:     ") + at) + "^")]


def _milliseconds(label: str, value: int) -> list[Line]:
    if value < MILLISECONDS_FROM:
        return []
    return [hint(f"{label} {value} is {iso(value)}: milliseconds? CloudFront wants seconds since the epoch")]


def _date_less_than(step: Step, c: Context) -> list[Line]:
    now, value = step.facts["now"], step.facts["value"]
    label = "Expires" if "expires" in c.seen else "DateLessThan"
    if step.ok:
        text = f"now is before {label} {when(value)}: valid for another {duration(value - now)}"
        return [line(step, text), *_milliseconds(label, value)]
    return [
        line(
            step, f"now {when(now)} is not before {label} {when(value)}: expired {duration(now - value)} ago"
        )
    ]


def _date_greater_than(step: Step, c: Context) -> list[Line]:
    now, value = step.facts["now"], step.facts["value"]
    if step.ok:
        return [line(step, f"now is after DateGreaterThan {when(value)}, by {duration(now - value)}")]
    text = f"now {when(now)} is not after DateGreaterThan {when(value)}: valid in {duration(value + 1 - now)}"
    return [line(step, text), *_milliseconds("DateGreaterThan", value)]


def _ip_address(step: Step, c: Context) -> list[Line]:
    cidr, viewer = step.facts["cidr"], step.facts["viewer"]
    if step.ok:
        return [line(step, f"the viewer {viewer} is in {cidr}")]
    if viewer is None:
        return [line(step, f"the policy allows {cidr} only, and the viewer's address is not known")]
    if ":" in viewer:
        return [line(step, f"the viewer {viewer} is IPv6; the policy allows the IPv4 range {cidr} only")]
    return [line(step, f"the viewer {viewer} is not in {cidr}")]


def _outcome(step: Step, c: Context) -> list[Line]:
    if "cookie-set" not in c.seen:
        return []
    error = step.facts["error"]
    return [
        Line(
            "info",
            "outcome",
            f"set {c.seen['cookie-set'].facts['index'] + 1}: "
            + ("accepted" if error is None else f"{error.code} ({step.facts['detail']})"),
        )
    ]


TELLERS: dict[str, Callable[[Step, Context], list[Line]]] = {
    "source": _source,
    "cookie-set": _cookie_set,
    "key-pair-id": _key_pair_id,
    "key": _key,
    "hash-algorithm": _hash_algorithm,
    "signature-encoding": _encoding,
    "policy-encoding": _encoding,
    "expires": _expires,
    "signature": _signature,
    "policy": _policy,
    "resource": _resource,
    "date-less-than": _date_less_than,
    "date-greater-than": _date_greater_than,
    "ip-address": _ip_address,
    "outcome": _outcome,
}
