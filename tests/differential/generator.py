"""A seeded generator of raw requests: a plausible viewer request, then a few mutations.

``generate(seed, count)`` is reproducible: the same seed gives the same cases (the signatures
inside differ only by the expiry times, which follow the clock).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from tests.differential.case import EDGES, Case
from tests.differential.grants import Grant, catalogue, url_path
from tests.differential.mutations import MUTATIONS
from tests.differential.world import (
    DISTRIBUTION_URLS,
    GRANTED_IP,
    KEYS,
    OTHER_IP,
    TRUSTED_PEER,
    UNTRUSTED_PEER,
    signers,
)

EXTRA_PATHS = (
    "/users/alice/missing.png",
    "/users/alice/",
    "/users/",
    "/",
    "/api/v1/echo",
    "/api/v2/x%2Fy",
    "/api/data.json",
    "/hooks/run",
    "/hooks/h.json",
    "/public/",
    "/nothing-here.txt",
)


class Generator:
    def __init__(self, seed: int, now: int) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.grants = catalogue(signers(), now, random.Random(seed ^ 0x9E3779B9))

    def grants_for(self, family: str, dist: str) -> list[Grant]:
        return [g for g in self.grants[family] if g.dist == dist]

    def choose_grant(self, dist: str, path: str) -> Grant | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return None
        if roll < 0.45:  # the grant a viewer of this path would hold, if any
            fitting = [g for g in self.grants_for("prefix", dist) if g.prefix and path.startswith(g.prefix)]
            fitting += [g for g in self.grants_for("canned", dist) if g.path and g.path.split("?")[0] == path]
            if fitting:
                return rng.choice(fitting)
        if roll < 0.6:
            return rng.choice(self.grants_for("prefix", dist) + self.grants_for("canned", dist))
        if roll < 0.7:  # made for another distribution URL
            return rng.choice(self.grants["prefix"] + self.grants["canned"])
        family = rng.choice(
            (
                "expired",
                "not-yet",
                "started",
                "ip-granted",
                "ip-other-net",
                "odd",
                "odd",
                "raw",
                "raw",
                "forged",
            )
        )
        return rng.choice(self.grants_for(family, dist))

    def base(self) -> Case:
        rng = self.rng
        edge = rng.choice(EDGES)
        dist = rng.choice(
            [d for d in DISTRIBUTION_URLS if d.startswith("https")]
            if edge.endswith("tls")
            else DISTRIBUTION_URLS
        )
        scheme, authority = dist.split("://")
        path = url_path(rng.choice(KEYS)) if rng.random() < 0.8 else rng.choice(EXTRA_PATHS)
        case = Case(edge, UNTRUSTED_PEER, "GET", path, None, [("Host", authority)], scheme, authority)
        if scheme == "https" and not case.tls:
            case.peer = TRUSTED_PEER
            case.headers.append(("X-Forwarded-Proto", "https"))
        grant = self.choose_grant(dist, path)
        if grant is not None:
            case.grant = grant.name
            case.held.append(grant)
            if grant.path is not None and rng.random() < 0.8:
                case.path, _, query = grant.path.partition("?")
                case.query = [query] if query else None
            if grant.name.startswith("ip-") or rng.random() < 0.05:
                case.peer = TRUSTED_PEER
                case.headers.append(("X-Forwarded-For", rng.choice((GRANTED_IP, GRANTED_IP, OTHER_IP))))
            if rng.random() < 0.5:
                case.query = (case.query or []) + [f"{k}={v}" for k, v in grant.params]
            else:
                case.headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in grant.cookie_pairs())))
        return case

    def case(self) -> Case:
        case = self.base()
        for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3, 4))):
            name, mutate = self.rng.choice(MUTATIONS)
            note = mutate(self.rng, case, self)
            case.steps.append(name + (f"({note})" if note else ""))
        return case


def generate(seed: int, count: int, now: int) -> Iterator[Case]:
    generator = Generator(seed, now)
    for _ in range(count):
        yield generator.case()
