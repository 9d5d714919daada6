"""Credentials vended on the local stack reach SeaweedFS's IAM API on the S3 port: they must not
create, update or delete access keys (issue 16, item 6).  SeaweedFS's IAM is read only because
devstack passes ``-s3.iam.readOnly=true`` itself, not because of a default that may change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.seaweed import FEDERATION_USER, SeaweedFS
from tests.credentials.realsts import gateway, seed, vend


async def test_vended_credentials_cannot_change_access_keys(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    args = seaweed.process.args if seaweed.process else None
    assert isinstance(args, list) and "-s3.iam.readOnly=true" in args
    seed(seaweed, bucket)
    body = await vend(await gateway(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket), "alice")
    iam = boto3.client(
        "iam",
        endpoint_url=body["endpoint_url"],
        region_name=body["region"],
        aws_access_key_id=body["access_key_id"],
        aws_secret_access_key=body["secret_access_key"],
        aws_session_token=body["session_token"],
    )
    key = seaweed.federation_key
    calls: dict[str, Callable[[], Any]] = {
        "create": lambda: iam.create_access_key(UserName=FEDERATION_USER),
        "update": lambda: iam.update_access_key(UserName=FEDERATION_USER, AccessKeyId=key, Status="Inactive"),
        "delete": lambda: iam.delete_access_key(UserName=FEDERATION_USER, AccessKeyId=key),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as refused:
            call()
        assert 400 <= refused.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500, name
    # The federation identity's key still works: nothing was changed behind the refusals.
    sts = boto3.client(
        "sts",
        endpoint_url=seaweed.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=seaweed.federation_secret,
    )
    assert sts.get_federation_token(Name="check", DurationSeconds=900)["Credentials"]["AccessKeyId"]
