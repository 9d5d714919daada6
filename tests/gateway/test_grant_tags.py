"""Revocable grants carry their tag in DateGreaterThan, one per principal, byte-stable in a window."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.common.revocation import MAX_TAG, TAG_EPOCH, is_share, make_tag, not_before, tag_of
from gateway.keys.keyring import load_keyring
from gateway.service.grants import Granter
from gateway.service.metrics import Metrics
from gateway.service.settings import SigningSettings
from gateway.signing.policy import parse_policy
from gateway.signing.verify import ViewerRequest, verify_request

NOW = 1_800_000_123


def _granter(keyring_dir: Path) -> Granter:
    keyring = load_keyring(keyring_dir)
    return Granter(SigningSettings(cdn_base_url="https://cdn.test"), lambda: keyring, Metrics())


def test_tags_round_trip_and_keep_their_kind() -> None:
    for number, share in [(1, False), (1, True), (12345, True), (MAX_TAG // 2, False)]:
        tag = make_tag(number, share)
        assert tag_of(not_before(tag)) == tag and is_share(tag) is share
    assert tag_of(NOW - 60) is None  # the gateway's usual skew allowance is no tag
    assert tag_of(TAG_EPOCH) is None and tag_of(TAG_EPOCH + MAX_TAG + 1) is None and tag_of(True) is None
    for bad in (0, -1, MAX_TAG):
        with pytest.raises(ValueError):
            make_tag(bad, share=True)


def test_two_principals_get_different_bytes_each_stable_in_its_window(keyring_dir: Path) -> None:
    granter = _granter(keyring_dir)
    alice, bob = make_tag(1, False), make_tag(2, False)
    first = granter.for_prefix("users/alice/", NOW, tag=alice)
    again = granter.for_prefix("users/alice/", NOW + 30, tag=alice)
    other = granter.for_prefix("users/alice/", NOW, tag=bob)
    untagged = granter.for_prefix("users/alice/", NOW)
    assert first.signed.cookies() == again.signed.cookies()  # byte-stable for one principal
    assert first.signed.cookies() != other.signed.cookies() != untagged.signed.cookies()
    policy = parse_policy(first.signed.policy_bytes)
    assert policy.date_greater_than == TAG_EPOCH + alice and policy.date_less_than == first.expires
    assert len(granter.cache) == 3  # the tag is part of the cache key
    # A tagged grant is as valid as an untagged one: same resource, same expiry.
    keys = load_keyring(keyring_dir).public_keys
    request = ViewerRequest(
        "https", "cdn.test", "/users/alice/a.png", cookies=tuple(first.signed.cookies().items())
    )
    assert verify_request(request, keys, NOW + 1).ok
    assert not verify_request(request, keys, first.expires).ok


def test_a_tagged_url_is_custom_even_when_canned_is_asked(keyring_dir: Path) -> None:
    granter = _granter(keyring_dir)
    url, grant = granter.for_object("users/alice/a.png", NOW, canned=True, tag=make_tag(3, True))
    assert "Policy=" in url and "Expires=" not in url
    assert parse_policy(grant.signed.policy_bytes).date_greater_than == TAG_EPOCH + make_tag(3, True)
    canned_url, _ = granter.for_object("users/alice/a.png", NOW, canned=True)
    assert "Expires=" in canned_url
