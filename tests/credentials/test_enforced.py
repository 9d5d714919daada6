"""Credentials from ``POST /v1/credentials`` used with an ordinary boto3 client on a real S3 that
enforces them (SeaweedFS's STS): what the rules refuse, S3 refuses; a changed or expired session
token is refused.  Until SeaweedFS served STS, vending here answered 503 and none of this ran."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError

from devstack.seaweed import ROLE_ARN, SeaweedFS
from tests.conftest import stored
from tests.credentials.realsts import attempts, gateway, permitted, s3_with, seed, vend

ALL = {"get", "put", "delete", "list"}


async def _alice(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> Any:
    seed(seaweed, bucket)
    client = await gateway(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)
    return await vend(client, "alice")


async def test_own_prefix_read_write_delete_list(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    body = await _alice(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)
    assert body["endpoint_url"] == seaweed.endpoint and body["bucket"] == bucket
    assert body["prefixes"]["write"] == ["users/alice/"]
    s3 = s3_with(body)
    assert s3.get_object(Bucket=bucket, Key="users/alice/a.txt")["Body"].read() == b"users/alice/a.txt"
    s3.put_object(Bucket=bucket, Key="users/alice/new.txt", Body=b"mine")
    assert stored(seaweed, bucket, "users/alice/new.txt") == b"mine"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="users/alice/")
    assert {o["Key"] for o in listed["Contents"]} == {
        "users/alice/a.txt",
        "users/alice/locked/l.txt",
        "users/alice/new.txt",
    }
    s3.delete_object(Bucket=bucket, Key="users/alice/new.txt")
    assert stored(seaweed, bucket, "users/alice/new.txt") is None


@pytest.mark.parametrize(
    ("prefix", "key", "refused"),
    [
        ("users/bob/", "users/bob/b.txt", ALL),  # another user's prefix
        ("", "root.txt", ALL),  # the bucket root
        ("users/alice/locked/", "users/alice/locked/l.txt", {"put", "delete"}),  # nested, read only
        ("tiles/secret/", "tiles/secret/s.txt", ALL),  # nested, refused, under a readable tiles/
    ],
)
async def test_what_the_rules_refuse_s3_refuses(
    aiohttp_client: Any,
    tmp_path: Path,
    keyring_dir: Path,
    seaweed: SeaweedFS,
    bucket: str,
    prefix: str,
    key: str,
    refused: set[str],
) -> None:
    body = await _alice(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)
    outcome = {op: permitted(call) for op, call in attempts(s3_with(body), bucket, prefix, key).items()}
    assert outcome == {op: op not in refused for op in ALL}
    assert stored(seaweed, bucket, key) == key.encode()  # not deleted
    assert stored(seaweed, bucket, f"{prefix}new.txt") is None  # not written


def _claims(token: str) -> tuple[dict[str, Any], list[str]]:
    parts = token.split(".")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload)), parts


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(token: str, other_token: str) -> dict[str, str]:
    claims, (head, payload, signature) = _claims(token)
    widened = {k: v for k, v in claims.items() if k != "spol"}  # the session policy taken out
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    none = _b64({"alg": "none", "typ": "JWT"})
    return {
        "signature changed": f"{head}.{payload}.{flipped}",
        "session policy removed, signature kept": f"{head}.{_b64(widened)}.{signature}",
        "alg none, session policy removed": f"{none}.{_b64(widened)}.",
        "signed with another key": jwt.encode(widened, b"k" * 32, algorithm="HS256"),
        "another session's token": other_token,
    }


async def test_changed_session_token_refused(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    seed(seaweed, bucket)
    client = await gateway(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)
    body, bob = await vend(client, "alice"), await vend(client, "bob")

    def get(s3: Any, key: str) -> Callable[[], Any]:
        return lambda: s3.get_object(Bucket=bucket, Key=key)

    assert permitted(get(s3_with(body), "users/alice/a.txt"))  # the control: as issued
    for name, token in _tampered(body["session_token"], bob["session_token"]).items():
        s3 = s3_with(body, aws_session_token=token)
        assert not permitted(get(s3, "users/alice/a.txt")), name
        assert not permitted(get(s3, "users/bob/b.txt")), name
    assert not permitted(get(s3_with(body, aws_session_token=""), "users/alice/a.txt"))


async def test_expired_credentials_refused(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    """STS's shortest session is 900 s, so the expiry is moved instead of waited for: the real
    token's claims re-signed with the server's own key, ``exp`` in the past; the same with ``exp``
    in the future is the control that only the expiry differs."""
    body = await _alice(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)
    claims, _ = _claims(body["session_token"])
    expiration = dt.datetime.strptime(body["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs(claims["exp"] - expiration.timestamp()) <= 1  # the expiry the device is told is enforced
    now = int(time.time())

    def with_exp(exp: int) -> Any:
        token = jwt.encode(dict(claims, exp=exp), seaweed.signing_key, algorithm="HS256")
        return s3_with(body, aws_session_token=token)

    def get(s3: Any) -> bool:
        return permitted(lambda: s3.get_object(Bucket=bucket, Key="users/alice/a.txt"))

    assert get(with_exp(now + 600))
    assert not get(with_exp(now - 5))
    assert not permitted(lambda: with_exp(now - 5).list_objects_v2(Bucket=bucket, Prefix="users/alice/"))


async def test_federation_token_mode_enforced_too(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    """GetFederationToken is called as an IAM-style user (SeaweedFS's env-var admin has no policies,
    so its federated sessions are denied everything): its session is its policies AND ours."""
    seed(seaweed, bucket)
    identity = (seaweed.federation_key, seaweed.federation_secret)
    client = await gateway(
        aiohttp_client, tmp_path, keyring_dir, seaweed, bucket, identity, mode="federation_token", role_arn=""
    )
    s3 = s3_with(await vend(client, "alice"))
    own = {
        op: permitted(call) for op, call in attempts(s3, bucket, "users/alice/", "users/alice/a.txt").items()
    }
    assert own == {op: True for op in ALL}
    for prefix, key in (("users/bob/", "users/bob/b.txt"), ("", "root.txt")):
        outcome = {op: permitted(call) for op, call in attempts(s3, bucket, prefix, key).items()}
        assert outcome == {op: False for op in ALL}, prefix
    assert stored(seaweed, bucket, "users/bob/b.txt") == b"users/bob/b.txt"


async def test_vended_credentials_cannot_shed_the_session_policy(
    aiohttp_client: Any, tmp_path: Path, keyring_dir: Path, seaweed: SeaweedFS, bucket: str
) -> None:
    """A device holding credentials asks the same STS for new ones: assuming the role again (no
    session policy: the whole role) or a federation token.  Both refused; the gateway's own
    identity is the only one the role trusts."""
    body = await _alice(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket)
    sts = boto3.client(
        "sts",
        endpoint_url=body["endpoint_url"],
        region_name=body["region"],
        aws_access_key_id=body["access_key_id"],
        aws_secret_access_key=body["secret_access_key"],
        aws_session_token=body["session_token"],
    )
    calls: list[Callable[[], Any]] = [
        lambda: sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="escape", DurationSeconds=900),
        lambda: sts.get_federation_token(Name="escape", DurationSeconds=900),
    ]
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert seaweed.client("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="gateway", DurationSeconds=900)
