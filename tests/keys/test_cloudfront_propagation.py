"""How long a rotation waits before the new key signs, with CloudFront (issue 12 item 5): at
least the 300 s floor by default, GetDistribution polled until Deployed where a distribution is
configured, an explicit shorter wait honoured with a warning.  moto serves the distribution over
real HTTP and, through its state manager, shows InProgress before Deployed, so no stub is needed
for GetDistribution; moto has no UpdateKeyGroup, so the key group's items are kept by the test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.keys.keyring import load_keyring
from gateway.keys.lifecycle import Lifecycle
from gateway.keys.publish import CloudFrontPublisher, PublishError
from gateway.service.settings import Settings, load_settings
from gateway.signing.crypto import KeyAlgorithm
from tests.keys.conftest import Clock, KeyGroupClient, cloudfront_client


@pytest.fixture
def deploying(moto_endpoint: str) -> Iterator[Callable[[int], None]]:
    """moto's distributions go InProgress -> Deployed; this makes it take ``n`` GetDistribution calls."""
    api = f"{moto_endpoint}/moto-api/state-manager"
    model = "cloudfront::distribution"

    def after(polls: int) -> None:
        transition: dict[str, str | int] = {"progression": "manual", "times": polls}
        body: dict[str, str | dict[str, str | int]] = {"model_name": model, "transition": transition}
        requests.post(f"{api}/set-transition", json=body, timeout=5).raise_for_status()

    yield after
    requests.post(f"{api}/unset-transition", json={"model_name": model}, timeout=5)


def _distribution(client: Any, group_id: str) -> str:
    origin = {
        "Id": "media",
        "DomainName": "media.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    behaviour = {
        "TargetOriginId": "media",
        "ViewerProtocolPolicy": "https-only",
        "TrustedKeyGroups": {"Enabled": True, "Quantity": 1, "Items": [group_id]},
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        "MinTTL": 0,
    }
    config = {
        "CallerReference": uuid.uuid4().hex,
        "Comment": "signed",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": behaviour,
    }
    return str(client.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def test_rotation_polls_get_distribution_until_deployed(
    moto_endpoint: str, deploying: Any, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    client = KeyGroupClient(cloudfront_client(moto_endpoint), keys)
    deploying(3)  # the new distribution reports InProgress twice, then Deployed
    distribution = _distribution(client, client.group_id)
    old = load_keyring(keys).active_id
    polls: list[tuple[str, str]] = []

    def seen(parsed: dict[str, Any], **kwargs: Any) -> None:  # what each GetDistribution answered
        polls.append((parsed["Distribution"]["Status"], load_keyring(keys).active_id))

    client.client.meta.events.register("after-call.cloudfront.GetDistribution", seen)
    clock = Clock()
    publisher = CloudFrontPublisher(client, client.group_id, distribution_id=distribution, poll_seconds=0.01)
    new = Lifecycle(keys, publisher, clock=clock, sleep=clock.sleep, say=lambda m: None).rotate(
        KeyAlgorithm.ECDSA_P256
    )
    assert polls == [
        ("InProgress", old),
        ("InProgress", old),
        ("Deployed", old),
    ]  # the old key signed throughout
    assert clock.sleeps == [300]  # and still the floor: Deployed adds to it, never replaces it
    assert load_keyring(keys).active_id == new.id


def test_not_deployed_in_time_leaves_a_pending_key_a_rerun_resumes(
    moto_endpoint: str, deploying: Any, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    client = KeyGroupClient(cloudfront_client(moto_endpoint), keys)
    deploying(10_000)
    distribution = _distribution(client, client.group_id)
    old = load_keyring(keys).active_id
    clock = Clock()

    def publisher() -> CloudFrontPublisher:
        return CloudFrontPublisher(
            client,
            client.group_id,
            distribution_id=distribution,
            poll_seconds=0.01,
            deploy_timeout_seconds=0.05,
        )

    life = Lifecycle(keys, publisher(), clock=clock, sleep=clock.sleep, say=lambda m: None)
    with pytest.raises(PublishError) as failed:
        life.rotate(KeyAlgorithm.ECDSA_P256)
    message = str(failed.value)
    assert "\n" not in message and f"distribution {distribution}: not Deployed after 0.05s" in message
    assert "stays pending" in message and clock.sleeps == []
    keyring = load_keyring(keys)
    pending = next(e for e in keyring.entries if e.state == "pending")
    assert keyring.active_id == old and pending.key_pair_id in client.items and pending.published == clock.now
    deploying(0)  # deployed now
    clock.now += 100
    said: list[str] = []
    life = Lifecycle(keys, publisher(), clock=clock, sleep=clock.sleep, say=said.append)
    assert life.rotate(KeyAlgorithm.ECDSA_P256).id == pending.id
    assert clock.sleeps == [200] and load_keyring(keys).active_id == pending.id
    assert any("published 100s ago: waiting the remaining 200.0s of 300s" in line for line in said)


def _settings(tmp_path: Path, keys_section: str) -> Settings:
    (tmp_path / "rules.toml").write_text("")
    (tmp_path / "keys").mkdir(exist_ok=True)
    path = tmp_path / "gateway.toml"
    path.write_text(
        'environment = "development"\n[signing]\ncdn_base_url = "https://cdn.test"\n'
        f'[auth]\ndev_secret = "{"x" * 40}"\n[keys]\npublisher = "cloudfront"\nkey_group_id = "KG"\n'
        + keys_section
    )
    return load_settings(path, env={})


def test_cloudfront_default_wait_is_the_floor(moto_endpoint: str, tmp_path: Path) -> None:
    # Before: keys.propagation_seconds defaulted to 5 s whatever the publisher; CloudFront needs minutes.
    settings = _settings(tmp_path, "")
    keys = tmp_path / "keys"
    client = KeyGroupClient(cloudfront_client(moto_endpoint), keys)
    clock = Clock()
    life = Lifecycle(
        keys, CloudFrontPublisher(client, client.group_id), clock=clock, sleep=clock.sleep, say=lambda m: None
    )
    life.rotate(KeyAlgorithm.ECDSA_P256, settings.keys.propagation_seconds)
    assert clock.sleeps == [300]


def test_explicit_short_wait_is_honoured_with_a_warning(moto_endpoint: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, "propagation_seconds = 0\n")
    assert settings.keys.propagation_seconds == 0  # set, not the default
    keys = tmp_path / "keys"
    client = KeyGroupClient(cloudfront_client(moto_endpoint), keys)
    clock = Clock()
    said: list[str] = []
    life = Lifecycle(
        keys, CloudFrontPublisher(client, client.group_id), clock=clock, sleep=clock.sleep, say=said.append
    )
    new = life.rotate(KeyAlgorithm.ECDSA_P256, settings.keys.propagation_seconds)
    assert clock.sleeps == [] and load_keyring(keys).active_id == new.id
    warnings = [line for line in said if line.startswith("warning:")]
    assert len(warnings) == 1 and "less than the 300s" in warnings[0] and "InvalidKey" in warnings[0]


def test_an_unknown_distribution_stops_the_rotation_in_one_line(moto_endpoint: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    client = KeyGroupClient(cloudfront_client(moto_endpoint), keys)
    old = load_keyring(keys).active_id
    publisher = CloudFrontPublisher(client, client.group_id, distribution_id="ENOSUCHDIST", poll_seconds=0.01)
    clock = Clock()
    with pytest.raises(PublishError) as failed:
        Lifecycle(keys, publisher, clock=clock, sleep=clock.sleep, say=lambda m: None).rotate(
            KeyAlgorithm.ECDSA_P256
        )
    assert str(failed.value).startswith(
        "distribution ENOSUCHDIST: GetDistribution failed: NoSuchDistribution;"
    )
    assert load_keyring(keys).active_id == old and clock.sleeps == []
