"""The edge, as a real process in front of a real SeaweedFS, against the independent model.

A bounded campaign of generated raw requests (fixed seeds, so a failure reproduces), and the
minimal requests kept from longer campaigns (``pinned``).  The invariant: the edge never returns
bytes of an object, or reaches a custom-origin path, that the presented grants do not cover.
Beyond it, the edge and the model must name the same object (or none) for every request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.seaweed import SeaweedFS
from tests.differential.compare import Report, Runner
from tests.differential.generator import Generator
from tests.differential.harness import ROOT
from tests.differential.pinned import EDGE_DISAGREES, EXPECTED_TO_HOLD, Pinned
from tests.differential.session import differential

SEEDS = (12, 2024, 7)
CASES_PER_SEED = 1000
ARTIFACTS = ROOT / "test-artifacts" / "differential"


@pytest.fixture(scope="module")
def runner(seaweed: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with differential(seaweed, tmp_path_factory.mktemp("differential")) as running:
        yield running


@pytest.fixture(scope="module")
def campaign(runner: Runner) -> list[Report]:
    reports = []
    for seed in SEEDS:
        generator = Generator(seed, int(time.time()))
        cases = [generator.case() for _ in range(CASES_PER_SEED)]
        reports.append(asyncio.run(runner.run(cases, Report(seed))))
    for report in reports:
        report.write(ARTIFACTS)  # every finding, for a human to read when a test below fails
    return reports


def _brief(findings: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- seed {f['seed']} case {f['index']} [{f['kind']}] {f['raw_request'].splitlines()[0][:120]!r}: "
        f"model {f['model']['served']}, edge {f['edge_served']} ({f['edge_answer']['status']})"
        for f in findings[:20]
    )


def test_campaign_is_large_and_varied(campaign: list[Report]) -> None:
    total = sum(r.cases for r in campaign)
    served = sum(r.served_by_model for r in campaign)
    assert total == len(SEEDS) * CASES_PER_SEED
    assert 0.15 * total < served < 0.6 * total  # both answers are common: the run tests both sides


def test_edge_never_serves_what_the_presented_grants_do_not_cover(campaign: list[Report]) -> None:
    leaks = [f for r in campaign for f in r.leaks]
    assert not leaks, f"{len(leaks)} leaks (details in {ARTIFACTS}):\n{_brief(leaks)}"


def test_edge_and_model_serve_the_same_object(campaign: list[Report]) -> None:
    found = [f for r in campaign for f in r.disagreements]
    summary = "; ".join(r.summary() for r in campaign)
    assert not found, f"{summary}\n{len(found)} disagreements (details in {ARTIFACTS}):\n{_brief(found)}"


async def _check(runner: Runner, pinned: Pinned) -> None:
    record = await runner.one(0, pinned.build(), Report(0))
    detail = json.dumps({k: record[k] for k in ("raw_request", "model", "edge_answer")}, indent=1)[:3000]
    assert tuple(record["model"]["served"] or ()) == tuple(pinned.served or ()), f"the model: {detail}"
    assert record["edge_served"] == pinned.served, f"{pinned.why}\n{detail}"


@pytest.mark.parametrize("pinned", EXPECTED_TO_HOLD, ids=lambda p: p.name)
async def test_attack_is_refused(runner: Runner, pinned: Pinned) -> None:
    await _check(runner, pinned)


@pytest.mark.parametrize("pinned", EDGE_DISAGREES, ids=lambda p: p.name)
async def test_edge_follows_the_rule(runner: Runner, pinned: Pinned) -> None:
    await _check(runner, pinned)


def test_artifacts_directory_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "test-artifacts/" in ignored
    assert Path(ARTIFACTS).is_relative_to(ROOT / "test-artifacts")
