"""Why a request is served or refused, told from the verifier's own trace (issue 13).

:func:`explain` runs :func:`~gateway.signing.verify.verify_request` with a trace and tells each
step it recorded: which credentials were read and why, the key, the hash algorithm, whether the
signature decodes and verifies, the policy, the URL it was matched against (and where the two
first differ), the times and the viewer's address.  Hints look further than the verifier (would
the signature verify with the other hash algorithm or another trusted key, would the cookies be
accepted without the stray signing parameter in the query); they never change the verdict.
Pure: ``now`` is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from gateway.signing.cloudfront import SIGNING_PARAMS
from gateway.signing.crypto import PublicKey
from gateway.signing.describe import printable, when
from gateway.signing.explain_steps import TELLERS, Context, Line, hint
from gateway.signing.trace import Trace
from gateway.signing.verify import Verdict, ViewerRequest, verify_request


@dataclass(frozen=True)
class Explanation:
    verdict: Verdict
    lines: tuple[Line, ...]
    failed: str | None  # the step whose failure decided a refusal

    @property
    def code(self) -> str:
        return "OK" if self.verdict.error is None else self.verdict.error.code

    @property
    def summary(self) -> str:
        """One line of printable ASCII, without URLs or policy text (the edge's header)."""
        if self.failed is None:
            return printable(f"{self.code}: {self.verdict.detail}")
        index = next(i for i, line in enumerate(self.lines) if line.status == "FAIL")
        hints = [line.text for line in self.lines[index + 1 :] if line.status == "hint"]
        text = f"{self.code}: {self.failed}: {self.lines[index].text}"
        return printable(text + (f"; hint: {hints[0]}" if hints else ""))


class KeyringEntry(Protocol):
    """What a keyring entry (gateway/keys/keyring.py ``KeyEntry``) tells about a key."""

    @property
    def id(self) -> str: ...
    @property
    def key_pair_id(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def algorithm(self) -> str: ...


def keyring_notes(entries: Iterable[KeyringEntry]) -> dict[str, str]:
    """Key-Pair-Id -> what the keyring says of the key: a retired key is no longer trusted."""
    return {e.key_pair_id: f"{e.state}, {e.algorithm}, id {e.id}" for e in entries if e.key_pair_id}


def explain(
    request: ViewerRequest,
    trusted: Mapping[str, PublicKey],
    now: int,
    keyring: Mapping[str, str] | None = None,
) -> Explanation:
    trace = Trace()
    verdict = verify_request(request, trusted, now, trace)
    return tell(trace, verdict, request, trusted, now, keyring)


def tell(
    trace: Trace,
    verdict: Verdict,
    request: ViewerRequest,
    trusted: Mapping[str, PublicKey],
    now: int,
    keyring: Mapping[str, str] | None = None,
) -> Explanation:
    """Tell a trace the verifier recorded for ``request`` (and ``verdict``, its answer)."""
    context = Context(request, trusted, now, keyring or {})
    lines = [
        Line("info", "now", when(now)),
        Line("info", "viewer", request.client_ip or "(address not given)"),
    ]
    for step in trace.steps:
        if step.check == "source":
            context.source = step
        if step.check == "cookie-set":  # each set is judged on its own
            context.seen = {}
        context.seen[step.check] = step
        lines.extend(TELLERS[step.check](step, context))
    if verdict.error is not None:
        lines.extend(_stray_parameters(context))
    failed = next((s.check for s in trace.steps if not s.ok and s.check != "outcome"), None)
    return Explanation(verdict, tuple(lines), failed if verdict.error is not None else None)


def _stray_parameters(c: Context) -> list[Line]:
    """URL parameters won over cookies: would the cookies alone have been accepted?"""
    source = c.source
    if source is None or source.facts["source"] != "url" or not source.facts["cookie_names"]:
        return []
    kept = [p for p in c.request.raw_query.split("&") if unquote(p.partition("=")[0]) not in SIGNING_PARAMS]
    alone = verify_request(dataclasses.replace(c.request, raw_query="&".join(kept)), c.trusted, c.now)
    names = ", ".join(dict.fromkeys(source.facts["query_names"]))
    outcome = "be accepted" if alone.ok else f"be refused too ({alone.error.code if alone.error else ''})"
    return [hint(f"the query names {names}, so the cookies were not read; without it they would {outcome}")]
