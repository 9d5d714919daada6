"""Issue 12 item 16: rate limits live in each process.  Behind N replicas a caller gets up to N
times each budget, exactly as the settings, README and docs/operations.md say: here N = 2 real
``cdn-gateway serve`` processes, each enforcing its own budget to the request."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.gateway.conftest import bearer, gateway_process, write_config

BURST = 5


def test_two_replicas_give_a_caller_twice_the_budget_each_enforcing_its_own(
    tmp_path: Path, keyring_dir: Path
) -> None:
    config = write_config(tmp_path, keyring_dir)
    text = config.read_text()
    text = text.replace("rate_limit_per_second = 100000\n", "rate_limit_per_second = 0.01\n", 1)
    text = text.replace("rate_limit_burst = 100000\n", f"rate_limit_burst = {BURST}\n", 1)
    text = text.replace("signatures_per_second = 100000\n", "signatures_per_second = 0.01\n")
    text = text.replace("signature_burst = 100000\n", f"signature_burst = {BURST}\n")
    config.write_text(text)
    headers = bearer("alice")
    with gateway_process(config) as (one, _), gateway_process(config) as (two, _):

        def statuses(base: str, n: int, path: str = "users/alice/a.png") -> list[int]:
            return [
                requests.get(
                    f"{base}/v1/signed-url", params={"path": path}, headers=headers, timeout=5
                ).status_code
                for _ in range(n)
            ]

        assert statuses(one, BURST + 2) == [200] * BURST + [429] * 2  # one replica: exactly its budget
        assert statuses(two, BURST + 2) == [200] * BURST + [429] * 2  # the other knows nothing of it
        # Signatures too: each replica charges new grants against its own budget.
        paths = [f"users/bob/{i}.png" for i in range(BURST + 1)]
        for base in (one, two):
            flood = requests.post(
                f"{base}/v1/signed-urls", json={"paths": paths}, headers=bearer("bob"), timeout=5
            )
            signed = requests.post(
                f"{base}/v1/signed-urls", json={"paths": paths[:BURST]}, headers=bearer("bob"), timeout=5
            )
            assert flood.status_code == 429 and signed.status_code == 200  # BURST signed here, no more
