"""The gateway believes X-Forwarded-For only from its load balancers, given as addresses or CIDRs
(a load balancer's pool is a range), and refuses entries that are neither."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.common.config import SettingsError
from gateway.service.app import create_app
from gateway.service.settings import load_settings
from tests.gateway.conftest import make_settings, write_config


@pytest.mark.parametrize(("trusted", "separate"), [(("127.0.0.0/8",), True), (("10.0.0.0/8",), False)])
async def test_guest_budgets_follow_the_forwarded_address_only_behind_a_trusted_range(
    aiohttp_client: AiohttpClient, tmp_path: Path, keyring_dir: Path, trusted: tuple[str, ...], separate: bool
) -> None:
    settings = make_settings(tmp_path, keyring_dir, None, "b")
    server = dataclasses.replace(
        settings.server, trusted_proxies=trusted, guest_rate_limit_per_second=0.01, guest_rate_limit_burst=1
    )
    client = await aiohttp_client(create_app(dataclasses.replace(settings, server=server)))

    async def status(viewer: str) -> int:
        response = await client.get(
            "/v1/signed-url", params={"path": "public/a.png"}, headers={"X-Forwarded-For": viewer}
        )
        return int(response.status)

    assert await status("203.0.113.1") == 200
    # Behind a trusted range, another viewer has its own budget; otherwise both are the proxy.
    assert await status("203.0.113.2") == (200 if separate else 429)


def test_trusted_proxies_must_be_addresses_or_cidrs(tmp_path: Path, keyring_dir: Path) -> None:
    config = write_config(tmp_path, keyring_dir)
    config.write_text(
        config.read_text().replace("[server]\n", '[server]\ntrusted_proxies = ["lb.internal"]\n')
    )
    with pytest.raises(SettingsError, match=r"trusted_proxies entry 'lb\.internal'"):
        load_settings(config)
