"""The local STS's own set-up (devstack/seaweed.py): only the gateway's identity may assume the
role, and the file holding the signing key is private and new for every start."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.seaweed import ROLE_ARN, SeaweedFS


def test_only_the_gateway_identity_may_assume_the_role(seaweed: SeaweedFS) -> None:
    assert seaweed.client("sts").get_caller_identity()["Arn"] == seaweed.gateway_arn
    other = boto3.client(
        "sts",
        endpoint_url=seaweed.endpoint,
        region_name=seaweed.region,
        aws_access_key_id=seaweed.federation_key,  # a valid identity, but not the trusted one
        aws_secret_access_key=seaweed.federation_secret,
    )
    with pytest.raises(ClientError) as refused:
        other.assume_role(RoleArn=ROLE_ARN, RoleSessionName="not-the-gateway", DurationSeconds=900)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    forged = boto3.client(
        "sts",
        endpoint_url=seaweed.endpoint,
        region_name=seaweed.region,
        aws_access_key_id=seaweed.access_key,
        aws_secret_access_key="wrong-secret",
    )
    with pytest.raises(ClientError):
        forged.assume_role(RoleArn=ROLE_ARN, RoleSessionName="forged", DurationSeconds=900)


def test_signing_key_file_is_private_and_per_start(seaweed: SeaweedFS, tmp_path: Path) -> None:
    iam = seaweed.data_dir / "iam.json"
    assert iam.stat().st_mode & 0o777 == 0o600
    assert (seaweed.data_dir / "identities.json").stat().st_mode & 0o777 == 0o600
    config = json.loads(iam.read_text())
    assert base64.b64decode(config["sts"]["signingKey"]) == seaweed.signing_key
    assert len(seaweed.signing_key) >= 32
    (trust,) = config["roles"][0]["trustPolicy"]["Statement"]
    assert trust["Principal"] == {"AWS": seaweed.gateway_arn}  # exactly one principal, never "*"
    assert SeaweedFS(tmp_path, "k", "s").signing_key != seaweed.signing_key
