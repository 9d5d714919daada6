"""``make fuzz``: a long differential campaign with a fresh seed, bounded by FUZZ_SECONDS.

    FUZZ_SECONDS=300 python -m tests.differential.fuzz [--seed N]

Starts its own SeaweedFS, edges and echo origin; prints cases run, cases per second and
disagreements, and writes each disagreement (raw request, the model's reasoning, the edge's
answer) to test-artifacts/fuzz/.  Exit status 1 when there is any disagreement.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from devstack.seaweed import SeaweedFS
from tests.conftest import S3_KEY, S3_SECRET
from tests.differential.compare import Report
from tests.differential.generator import Generator
from tests.differential.harness import ROOT
from tests.differential.session import differential

BATCH = 500
ARTIFACTS = ROOT / "test-artifacts" / "fuzz"


async def campaign(seed: int, seconds: float, work: Path) -> Report:
    seaweed = SeaweedFS(work / "weed", S3_KEY, S3_SECRET)
    seaweed.start()
    try:
        with differential(seaweed, work / "stack") as runner:
            report = Report(seed)
            generator = Generator(seed, int(time.time()))
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await runner.run((generator.case() for _ in range(BATCH)), report)
                print(report.summary(), flush=True)
            return report
    finally:
        seaweed.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=secrets.randbits(32))
    args = parser.parse_args()
    seconds = float(os.environ.get("FUZZ_SECONDS", "300"))
    print(f"differential fuzzing for {seconds:.0f} s with seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        report = asyncio.run(campaign(args.seed, seconds, Path(work)))
    report.write(ARTIFACTS)
    print(f"done: {report.summary()}")
    if report.disagreements or report.observations:
        print(f"findings written to {ARTIFACTS}")
    return 1 if report.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
