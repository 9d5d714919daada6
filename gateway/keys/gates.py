"""What a rotation proves before it acts: the distribution accepts the new key before any replica
signs with it (the probe), and no replica still signs with a key before it is retired (the
replicas' reports).

A probe is one signed GET through the distribution, from where the command runs: it shows that
the key group, the distribution's trusted key groups and the key agree at the edge location it
reaches, not at every location (the propagation wait and ``Deployed`` cover those).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner
from gateway.signing.describe import printable
from gateway.signing.policy import Policy, PolicyError

PROBE_SECONDS = 300  # the probe's own signature lives this long
_CODE = re.compile(rb"<Code>([A-Za-z]{1,40})</Code>")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer to judge, not a place to go: only the distribution's own 200 counts."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _get(url: str, timeout: float) -> tuple[int, str]:
    """The status and, for an error answer, CloudFront's ``<Code>`` (or the network failure)."""
    try:
        with _OPENER.open(urllib.request.Request(url, method="GET"), timeout=timeout) as answer:  # noqa: S310
            answer.read(4096)
            return int(answer.status), ""
    except urllib.error.HTTPError as error:
        found = _CODE.search(error.read(4096) or b"")
        return int(error.code), found.group(1).decode("ascii") if found else ""
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return 0, printable(str(reason))[:120]


def distribution_probe(
    url: str, hash_algorithm: HashAlgorithm, clock: Callable[[], float], timeout: float = 10.0
) -> Callable[[KeySigner], str | None]:
    """A probe of ``url``: None when the distribution refuses it unsigned and serves it signed
    with the key, else one line saying what it answered."""

    def probe(signer: KeySigner) -> str | None:
        status, code = _get(url, timeout)
        if status == 0:
            return f"the probe {url} could not be reached ({code})"
        if status == 200:
            return (
                f"the probe {url} answered 200 without a signature, which proves nothing: set "
                "keys.probe_url to an object under a signed behaviour"
            )
        try:
            policy = Policy.make_canned(url, int(clock()) + PROBE_SECONDS)
        except PolicyError as error:
            return f"keys.probe_url cannot be signed: {error}"
        status, code = _get(sign_policy(policy, signer, hash_algorithm).url(url), timeout)
        if status == 200:
            return None
        said = f"{status} ({code})" if code else str(status) if status else f"nothing ({code})"
        meaning = (
            f"the distribution does not trust {signer.key_pair_id} (yet?)"
            if code == "InvalidKey"
            else "the distribution does not serve it with the new key"
        )
        return f"the probe {url} signed with {signer.key_pair_id} answered {said}: {meaning}"

    return probe


@dataclass(frozen=True)
class ReplicaReport:
    """What one gateway process said it signs with, and how long ago."""

    name: str
    key_id: str
    key_pair_id: str
    version: str
    age_seconds: float


@dataclass(frozen=True)
class Replicas:
    live: list[ReplicaReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reports ignored, and why


def report_body(name: str, key_id: str, key_pair_id: str, version: str) -> bytes:
    return json.dumps(
        {"replica": name, "key_id": key_id, "key_pair_id": key_pair_id, "version": version}
    ).encode()


def parse_report(name: str, body: bytes, age_seconds: float) -> ReplicaReport | None:
    try:
        doc = json.loads(body)
        fields = [doc["key_id"], doc["key_pair_id"], doc["version"]]
    except (ValueError, TypeError, KeyError):
        return None
    if not all(isinstance(value, str) for value in fields):
        return None
    key_id, key_pair_id, version = (printable(value)[:64] for value in fields)
    return ReplicaReport(printable(name)[:100], key_id, key_pair_id, version, age_seconds)


def serving_report(url: str, timeout: float = 5.0) -> ReplicaReport | str:
    """One gateway's ``GET /v1/keys`` ``serving`` answer, or why it could not be had."""
    target = url.rstrip("/") + "/v1/keys"
    try:
        with _OPENER.open(urllib.request.Request(target, method="GET"), timeout=timeout) as answer:  # noqa: S310
            doc = json.loads(answer.read(1_000_000))
        serving = doc["serving"]
        body = json.dumps(
            {k: serving.get(k) for k in ("key_id", "key_pair_id")}
            | {"version": serving.get("keyring_version")}
        ).encode()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"replica {url} did not report ({printable(str(error))[:100]})"
    return parse_report(url, body, 0.0) or f"replica {url} sent no usable report"
