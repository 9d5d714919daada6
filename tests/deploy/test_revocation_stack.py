"""The stack's revocation parts (issue 15): a KeyValueStore, the function that reads it on every
signed request, and the gateway's right to write that one store and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation" / "cdn-gateway.yaml"
FUNCTION = ROOT / "deploy" / "cloudfront" / "revocation.js"
FUNCTION_CODE_LIMIT = 10_240  # "Quotas", CloudFront Developer Guide: function size


def _resources() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert not matches and template is not None
    resources: dict[str, Any] = template["Resources"]
    return resources


def test_the_deployed_function_is_the_tested_source() -> None:
    function = _resources()["RevocationFunction"]["Properties"]
    assert function["FunctionCode"] == FUNCTION.read_text()  # the code node runs in the tests
    assert len(FUNCTION.read_bytes()) < FUNCTION_CODE_LIMIT
    config = function["FunctionConfig"]
    assert config["Runtime"] == "cloudfront-js-2.0" and function["AutoPublish"] is True
    assert config["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": ["RevokedGrants", "Arn"]}}
    ]


def test_every_signed_behaviour_runs_the_function_and_no_other_does() -> None:
    config = _resources()["Distribution"]["Properties"]["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    arn = {"Fn::GetAtt": ["RevocationFunction", "FunctionMetadata.FunctionARN"]}
    for behaviour in behaviours:
        expected = (
            [{"EventType": "viewer-request", "FunctionARN": arn}] if "TrustedKeyGroups" in behaviour else []
        )
        assert behaviour.get("FunctionAssociations", []) == expected, behaviour.get("PathPattern", "default")


def test_the_gateway_writes_the_revocation_store_and_only_it() -> None:
    resources = _resources()
    statements = [
        statement
        for policy in resources["GatewayRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if any(action.startswith("cloudfront-keyvaluestore:") for action in statement["Action"])
    ]
    assert len(statements) == 1
    assert statements[0]["Resource"] == {"Fn::GetAtt": ["RevokedGrants", "Arn"]}
    assert set(statements[0]["Action"]) >= {
        "cloudfront-keyvaluestore:DescribeKeyValueStore",
        "cloudfront-keyvaluestore:PutKey",
        "cloudfront-keyvaluestore:DeleteKey",
    }
    for name, resource in resources.items():  # no other role may touch it
        if resource["Type"] == "AWS::IAM::Role" and name != "GatewayRole":
            assert "keyvaluestore" not in str(resource["Properties"]), name
