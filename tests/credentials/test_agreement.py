"""One session policy, built once from the rules, checked three ways: it is exactly what the
gateway sends to STS (moto records it, as the production path to AWS STS), exactly what the
SeaweedFS session carries, and for every request below SeaweedFS decides as IAM's documented
evaluation does (tests/credentials/iam.py), except for the differences the README lists."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path
from typing import Any

from moto.sts.models import sts_backends

from devstack.seaweed import SeaweedFS
from gateway.credentials.policy import scope_for, session_policy
from gateway.rules.access import Principal
from gateway.rules.load import parse_rules
from tests.credentials import iam
from tests.credentials.realsts import RULES, SEED, gateway, permitted, s3_with, seed, vend

MOTO_ROLE = "arn:aws:iam::210987654321:role/media-clients"
LISTS = (
    "",
    "users/",
    "users/alice/",
    "users/alice/locked/",
    "users/bob/",
    "users/ALICE/",
    "tiles/",
    "tiles/secret/",
)
# README, "Temporary AWS credentials", what differs locally: SeaweedFS matches resource ARNs
# without regard to case (wider: users/ALICE/ is alice's too), and never sets s3:delimiter
# (narrower: the folders-only listing of a prefix holding a refused one is refused).
KNOWN = {
    ("get", "users/ALICE/upper.txt", None): (True, False),
    ("put", "users/ALICE/upper.txt", None): (True, False),
    ("delete", "users/ALICE/upper.txt", None): (True, False),
    ("list", "tiles/", "/"): (False, True),
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _normal(policy: dict[str, Any]) -> dict[str, Any]:
    """IAM's equivalent spellings made one: a single Action, Resource or condition value may be a
    string or a one-element list (SeaweedFS stores the list)."""
    statements = []
    for statement in policy["Statement"]:
        statement = {k: _listed(v) if k in ("Action", "Resource") else v for k, v in statement.items()}
        if "Condition" in statement:
            statement["Condition"] = {
                op: {key: _listed(v) for key, v in values.items()}
                for op, values in statement["Condition"].items()
            }
        statements.append(statement)
    return {**policy, "Statement": statements}


def _requests(bucket: str) -> list[tuple[str, str, str | None]]:
    """Reads and listings first, then writes (same bytes), then deletes, so order changes nothing."""
    listings = [("list", prefix, delimiter) for prefix in LISTS for delimiter in (None, "/")]
    objects = [(op, key, None) for op in ("get", "put", "delete") for key in SEED]
    return [*[r for r in objects if r[0] == "get"], *listings, *[r for r in objects if r[0] != "get"]]


def _iam(policy: str, bucket: str, op: str, target: str, delimiter: str | None) -> bool:
    if op == "list":
        return iam.allowed(policy, iam.list_request(bucket, target, delimiter))
    action = {"get": "s3:GetObject", "put": "s3:PutObject", "delete": "s3:DeleteObject"}[op]
    return iam.allowed(policy, iam.object_request(bucket, action, target))


def _seaweed(s3: Any, bucket: str, op: str, target: str, delimiter: str | None) -> bool:
    if op == "list":
        extra = {"Delimiter": delimiter} if delimiter else {}
        return permitted(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=target, **extra))
    calls = {
        "get": lambda: s3.get_object(Bucket=bucket, Key=target)["Body"].read(),
        "put": lambda: s3.put_object(Bucket=bucket, Key=target, Body=target.encode()),
        "delete": lambda: s3.delete_object(Bucket=bucket, Key=target),
    }
    return permitted(calls[op])


async def test_moto_seaweedfs_and_iam_agree_on_one_policy(
    aiohttp_client: Any,
    tmp_path: Path,
    keyring_dir: Path,
    seaweed: SeaweedFS,
    bucket: str,
    moto_endpoint: str,
) -> None:
    policy = session_policy(scope_for(parse_rules(tomllib.loads(RULES)), Principal("alice")), bucket)

    (tmp_path / "moto").mkdir()
    to_moto = await gateway(
        aiohttp_client,
        tmp_path / "moto",
        keyring_dir,
        seaweed,
        bucket,
        role_arn=MOTO_ROLE,
        endpoint_url=moto_endpoint,
    )
    await vend(to_moto, "alice")
    assert sts_backends["210987654321"]["aws"].assumed_roles[-1].policy == policy

    seed(seaweed, bucket)
    body = await vend(await gateway(aiohttp_client, tmp_path, keyring_dir, seaweed, bucket), "alice")
    payload = body["session_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert _normal(json.loads(claims["spol"])) == _normal(json.loads(policy))  # what SeaweedFS enforces

    s3 = s3_with(body)
    differences = {}
    for request in _requests(bucket):
        local, documented = _seaweed(s3, bucket, *request), _iam(policy, bucket, *request)
        if local != documented:
            differences[request] = (local, documented)
    assert differences == KNOWN
