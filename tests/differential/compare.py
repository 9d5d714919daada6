"""Run cases against the edges and the model; count and record every disagreement.

A disagreement is a case where the model and the edge name a different object (or custom-origin
path), or one of them none.  A *leak* is the subset that breaks the invariant: the edge returned
bytes of an object (or reached a custom-origin path) that sits behind a signed behaviour, and no
valid grant the viewer presented covers it.  Observations change nothing that is served: a
different status or CloudFront error code, or signing parameters forwarded to a custom origin.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.differential.case import Case
from tests.differential.grants import url_path
from tests.differential.model import (
    Refused,
    Verdict,
    World,
    expected,
    normalise,
    parse,
    pct_decode,
    viewer_ip,
)
from tests.differential.model_signatures import glob, resource_covers
from tests.differential.wire import Answer, client_tls, exchange

_MARKER = re.compile(rb"<<OBJECT (.+?) END>>", re.S)
_CODE = re.compile(r"<Code>([^<]*)</Code>")


@dataclass
class Report:
    seed: int
    cases: int = 0
    started: int = 0
    seconds: float = 0.0
    served_by_model: int = 0
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def leaks(self) -> list[dict[str, Any]]:
        return [d for d in self.disagreements if d["kind"] == "leak"]

    def summary(self) -> str:
        rate = self.cases / self.seconds if self.seconds else 0.0
        return (
            f"seed {self.seed}: {self.cases} cases in {self.seconds:.1f} s ({rate:.0f}/s), "
            f"model served {self.served_by_model}, disagreements {len(self.disagreements)} "
            f"(leaks {len(self.leaks)}), observations {len(self.observations)}; "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items()))
        )

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for finding in self.disagreements + self.observations:
            name = f"{self.seed}-{finding['index']:06d}-{finding['kind']}.json"
            (directory / name).write_text(json.dumps(finding, indent=1, ensure_ascii=False))


def identify(answer: Answer, etags: dict[str, str]) -> tuple[str, ...] | None:
    """Which object (or origin path) the edge's bytes are, from the body, the ETag or the echo."""
    markers = [m.group(1).decode("utf-8", "replace") for m in _MARKER.finditer(answer.body)]
    success = 200 <= answer.status < 300 or answer.status == 304
    if success and (answer.header("Content-Type") or "").startswith("application/x-directory"):
        return None  # SeaweedFS's empty entry for a "prefix/" key: no object bytes
    if success and answer.header("X-Echo-Path") is not None:
        return ("origin", answer.header("X-Echo-Method") or "", answer.header("X-Echo-Path") or "")
    if success and answer.header("ETag") in etags:
        return ("s3", etags[answer.header("ETag") or ""])
    if markers:  # object bytes, even inside an error page, are that object
        return ("s3", markers[0])
    if success:
        return ("unidentified", str(answer.status), answer.body[:60].decode("latin-1"))
    return None


def behind_signature(world: World, served: tuple[str, ...]) -> bool:
    """Would the plain request for this object or origin path need a signature?"""
    if served[0] == "unidentified":
        return True
    path = (
        normalise("/" + served[1])
        if served[0] == "s3"
        else normalise(pct_decode(served[-1]).decode("utf-8", "replace"))
    )
    patterns = [(b.pattern if b.pattern.startswith("/") else "/" + b.pattern, b) for b in world.behaviours]
    return next(b for pattern, b in patterns if glob(pattern, path)).signed


def true_viewer(case: Case, raw: bytes, world: World) -> str:
    """The client address: the peer, or what the trusted proxy (the peer) appended last."""
    try:
        return viewer_ip(parse(raw), case.peer, world.trusted_proxies)
    except Refused:
        return case.peer


def covered(case: Case, raw: bytes, world: World, served: tuple[str, ...]) -> bool:
    """Does a valid grant the viewer holds name this object or origin path on some served URL?

    The oracle for the invariant: it knows what each grant was signed for (and for which client
    address), so it does not depend on how the model or the edge read credentials or paths.
    """
    viewer = true_viewer(case, raw, world)
    path = url_path(served[1]) if served[0] == "s3" else served[-1]
    dists = [url.split("://") for url in world.distribution_urls]
    return any(
        grant.valid
        and grant.ip in (None, viewer)
        and resource_covers(grant.resource, scheme, authority, path, query)
        for grant in case.held
        for scheme, authority in dists
        for query in ("", "v=1")
    )


def _kind(
    case: Case, raw: bytes, world: World, verdict: Verdict, seen: tuple[str, ...] | None, answer: Answer
) -> str:
    """ "" when both sides agree; else what kind of disagreement or observation this is."""
    if seen != verdict.served:
        if seen is not None and behind_signature(world, seen) and not covered(case, raw, world, seen):
            return "leak"
        return "different" if seen and verdict.served else "edge-only" if seen else "model-only"
    forwarded = answer.header("X-Echo-Query")
    if verdict.origin_query is not None and forwarded is not None and forwarded != verdict.origin_query:
        return "origin-query"  # CloudFront removes the signing parameters before it calls an origin
    code = _CODE.search(answer.body.decode("latin-1"))
    if answer.status not in verdict.statuses:
        return "status"
    if answer.status == 403 and verdict.codes and code is not None and code.group(1) not in verdict.codes:
        return "code"
    return ""


class Runner:
    def __init__(self, ports: dict[str, int], worlds: dict[str, World], etags: dict[str, str]) -> None:
        self.ports, self.worlds, self.etags = ports, worlds, etags
        self.tls = client_tls()

    async def one(self, index: int, case: Case, report: Report) -> dict[str, Any]:
        """Run one case; the record says what each side did ("kind" is empty when they agree)."""
        raw = case.render()
        world = self.worlds[case.edge]
        answer = await exchange(
            self.ports[case.edge], raw, case.peer, self.tls if case.tls else None, case.method == "HEAD"
        )
        verdict = expected(raw, case.tls, case.peer, world, int(time.time()))
        seen = identify(answer, self.etags)
        kind = _kind(case, raw, world, verdict, seen, answer)
        report.cases += 1
        report.served_by_model += verdict.served is not None
        record = {
            "index": index,
            "seed": report.seed,
            "kind": kind,
            "edge": case.edge,
            "tls": case.tls,
            "peer": case.peer,
            "grant": case.grant,
            "mutations": case.steps,
            "raw_request": raw.decode("latin-1"),
            "model": {
                "served": verdict.served,
                "statuses": sorted(verdict.statuses),
                "codes": sorted(verdict.codes),
                "why": verdict.why,
            },
            "edge_answer": answer.describe(),
            "edge_served": seen,
        }
        if kind:
            report.kinds[kind] += 1
            minor = kind in ("origin-query", "status", "code")
            (report.observations if minor else report.disagreements).append(record)
        return record

    async def run(self, cases: Iterable[Case], report: Report, parallel: int = 12) -> Report:
        started = time.monotonic()
        pending: set[asyncio.Task[dict[str, Any]]] = set()

        def settle(done: set[asyncio.Task[dict[str, Any]]]) -> None:
            for task in done:
                task.result()  # a harness error must surface, not vanish with its task

        for index, case in enumerate(cases, start=report.started):
            report.started += 1
            if len(pending) >= parallel:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                settle(done)
            pending.add(asyncio.create_task(self.one(index, case, report)))
        if pending:
            settle((await asyncio.wait(pending))[0])
        report.seconds += time.monotonic() - started
        return report
