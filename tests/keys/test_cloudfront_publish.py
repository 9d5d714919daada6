"""Publishing to CloudFront.  moto serves what it implements (public keys, key groups) over real
HTTP; UpdateKeyGroup, which moto lacks, is checked with botocore's Stubber against the service model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from gateway.keys.keyring import KeyEntry, KeyState, load_keyring
from gateway.keys.lifecycle import Lifecycle
from gateway.keys.publish import CloudFrontPublisher, PublishError
from gateway.signing.crypto import KeyAlgorithm
from tests.conftest import VECTORS
from tests.keys.conftest import KeyGroupClient, cloudfront_client

ENTRY = KeyEntry(
    "KABCDEFGHIJKLM",
    KeyAlgorithm.ECDSA_P256,
    KeyState.PENDING,
    1,
    (VECTORS / "test-ecdsa-p256.pub.pem").read_text(),
)


def _group(items: list[str], etag: str = "E1") -> dict[str, Any]:
    return {
        "KeyGroup": {
            "Id": "KG1",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
            "KeyGroupConfig": {"Name": "signers", "Items": items},
        },
        "ETag": etag,
    }


def _update(items: list[str], if_match: str) -> dict[str, Any]:
    return {"KeyGroupConfig": {"Name": "signers", "Items": items}, "Id": "KG1", "IfMatch": if_match}


def test_add_to_group_uses_the_etag_and_retries_on_a_race() -> None:
    client = cloudfront_client()
    with Stubber(client) as stub:
        stub.add_response("get_key_group", _group(["K1"], "E1"), {"Id": "KG1"})
        stub.add_client_error(
            "update_key_group",
            "PreconditionFailed",
            http_status_code=412,
            expected_params=_update(["K1", "KNEW"], "E1"),
        )
        stub.add_response("get_key_group", _group(["K1", "K2"], "E2"), {"Id": "KG1"})
        stub.add_response(
            "update_key_group", _group(["K1", "K2", "KNEW"], "E3"), _update(["K1", "K2", "KNEW"], "E2")
        )
        CloudFrontPublisher(client, "KG1").add_to_group("KNEW")
        stub.assert_no_pending_responses()


def test_group_full_is_refused_before_calling_update() -> None:
    client = cloudfront_client()
    with Stubber(client) as stub:
        stub.add_response("get_key_group", _group(["K1", "K2", "K3", "K4", "K5"]), {"Id": "KG1"})
        with pytest.raises(PublishError, match="already holds 5 keys"):
            CloudFrontPublisher(client, "KG1").add_to_group("KNEW")
        stub.assert_no_pending_responses()


def test_remove_and_delete() -> None:
    client = cloudfront_client()
    with Stubber(client) as stub:
        stub.add_response("get_key_group", _group(["K1", "KOLD"], "E7"), {"Id": "KG1"})
        stub.add_response("update_key_group", _group(["K1"], "E8"), _update(["K1"], "E7"))
        stub.add_response(
            "get_public_key",
            {
                "PublicKey": {
                    "Id": "KOLD",
                    "CreatedTime": "2026-01-01T00:00:00Z",
                    "PublicKeyConfig": {"CallerReference": "x", "Name": "n", "EncodedKey": "pem"},
                },
                "ETag": "P1",
            },
            {"Id": "KOLD"},
        )
        stub.add_response("delete_public_key", {}, {"Id": "KOLD", "IfMatch": "P1"})
        publisher = CloudFrontPublisher(client, "KG1")
        publisher.remove_from_group("KOLD")
        publisher.delete("KOLD")
        stub.assert_no_pending_responses()
    with Stubber(client) as stub:  # deleting a key that is already gone is not an error
        stub.add_client_error("get_public_key", "NoSuchPublicKey", http_status_code=404)
        CloudFrontPublisher(client, "KG1").delete("KOLD")
        stub.assert_no_pending_responses()
    with Stubber(client) as stub:
        stub.add_response("get_key_group", _group(["KOLD"]), {"Id": "KG1"})
        with pytest.raises(PublishError, match="empty"):
            CloudFrontPublisher(client, "KG1").remove_from_group("KOLD")


def test_publish_is_idempotent_against_moto(moto_endpoint: str) -> None:
    client = cloudfront_client(moto_endpoint)
    publisher = CloudFrontPublisher(client, "unused")
    key_id = publisher.publish(ENTRY)
    stored = client.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]
    assert stored["EncodedKey"] == ENTRY.public_key and stored["Name"] == "cdn-gateway-KABCDEFGHIJKLM"
    assert publisher.publish(ENTRY) == key_id  # a resumed rotation finds it instead of a duplicate
    names = [k["Name"] for k in client.list_public_keys()["PublicKeyList"]["Items"]]
    assert names.count("cdn-gateway-KABCDEFGHIJKLM") == 1
    publisher.delete(key_id)
    assert "Items" not in client.list_public_keys()["PublicKeyList"] or all(
        k["Id"] != key_id for k in client.list_public_keys()["PublicKeyList"]["Items"]
    )


def test_rotation_through_cloudfront(moto_endpoint: str, tmp_path: Path) -> None:
    # The whole rotation against moto, with UpdateKeyGroup stubbed (moto does not implement it).
    keys = tmp_path / "keys"
    client = KeyGroupClient(cloudfront_client(moto_endpoint), keys)
    first = client.items[0]
    publisher = CloudFrontPublisher(client, client.group_id)
    life = Lifecycle(keys, publisher, sleep=lambda s: None, say=lambda m: None)
    new = life.rotate(KeyAlgorithm.ECDSA_P256, 0)
    assert new.key_pair_id and new.key_pair_id != new.id  # CloudFront assigned the Key-Pair-Id
    assert client.items == [first, new.key_pair_id]
    assert load_keyring(keys).active.key_pair_id == new.key_pair_id
