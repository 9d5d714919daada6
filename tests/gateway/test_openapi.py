"""The OpenAPI document is valid, and schemathesis finds no 5xx and no schema violation in a
live gateway process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from gateway.service.openapi import openapi_document
from gateway.service.settings import Settings
from tests.gateway.conftest import gateway_process, token, write_config


def test_document_validates() -> None:
    validate(openapi_document(Settings()))


@pytest.fixture
def live_gateway(tmp_path: Path, keyring_dir: Path) -> Iterator[str]:
    with gateway_process(write_config(tmp_path, keyring_dir)) as (base, _):
        yield base


@pytest.mark.parametrize("who", ["alice", None])
def test_schemathesis_finds_nothing(live_gateway: str, who: str | None, tmp_path: Path) -> None:
    # positive_data_acceptance is left out: the Unicode path rules (NFC, no format characters)
    # cannot be written as a JSON Schema pattern, so the server rightly answers 422 to some
    # strings the schema admits.  Every other check runs.
    headers = ["-H", f"Authorization: Bearer {token(who)}"] if who else []
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{live_gateway}/openapi.json",
            *headers,
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "60",
            "--seed",
            "20261123",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=dict(os.environ, NO_COLOR="1"),
    )
    assert done.returncode == 0, done.stdout[-6000:]
    stateful = [line for line in done.stdout.splitlines() if "Stateful" in line]
    assert stateful and not any("not applicable" in line or "Skipped" in line for line in stateful), stateful


def test_document_states_timeouts_and_granted_prefix() -> None:
    paths = openapi_document(Settings())["paths"]
    for path in ("/v1/cookies", "/v1/signed-urls", "/v1/uploads", "/v1/deletes", "/v1/credentials"):
        assert "408" in paths[path]["post"]["responses"], path  # a body too slow to arrive
    cookie = paths["/v1/cookies"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "prefix" in cookie["required"]  # the granted prefix, which may be broader than asked


def test_every_route_is_documented_and_every_documented_operation_is_routed(
    tmp_path: Path, keyring_dir: Path
) -> None:
    """The HTTP contract has one meaning: the router and the OpenAPI document name the same
    operations (status codes per operation are checked live by schemathesis above)."""
    from gateway.service.app import create_app
    from tests.gateway.conftest import make_settings

    app = create_app(make_settings(tmp_path, keyring_dir, None, "b"))
    routed = {
        (route.method.lower(), route.resource.canonical.replace("{path:.+}", "{path}"))
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "OPTIONS")
    }
    paths = openapi_document(Settings())["paths"]
    documented = {(method, path) for path, item in paths.items() for method in item}
    assert routed == documented
    for (method, path), item in ((k, paths[k[1]][k[0]]) for k in documented):
        assert {"200", "201", "204", "302"} & set(item["responses"]), (method, path)
        # Every /v1 operation but the public key list and logout authenticates and is rate limited.
        if path.startswith("/v1/") and (method, path) not in {("get", "/v1/keys"), ("delete", "/v1/cookies")}:
            assert {"401", "429"} <= set(item["responses"]), (method, path)
