"""The CloudFormation template works on AWS the first time (issue 14): each role trusts what it runs
as, IAM policies pass parliament, key management is out of the serving role, the key group is not
the stack's, CORS lets the apps upload, logs can be delivered, old versions expire, checkov is
clean with every skip justified, and the alarms watch metrics the gateway really exports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.decode import decode

from deploy.cloudformation.iam_check import Resolver
from gateway.service.metrics import Metrics
from gateway.service.settings import ServerSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATE = DEPLOY / "cloudformation" / "cdn-gateway.yaml"
BIN = Path(sys.executable).parent
CHECKOV = BIN.parent / "checkov" / "bin" / "checkov"  # its own virtualenv (Makefile)
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
KEY_MANAGEMENT = {
    "cloudfront:CreatePublicKey",
    "cloudfront:DeletePublicKey",
    "cloudfront:UpdatePublicKey",
    "cloudfront:CreateKeyGroup",
    "cloudfront:DeleteKeyGroup",
    "cloudfront:UpdateKeyGroup",
}
REQUIRED = {"DomainName": "cdn.example.com", "KeyGroupId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}


def _template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert not matches and template is not None
    return dict(template)


def _resolved(node: Any, **given: str) -> Any:
    """``node`` as CloudFormation makes it with these parameters (the rest at their defaults)."""
    value = next(Resolver(_template(), {**REQUIRED, **given}).variants(node))
    return json.loads(value) if isinstance(value, str) and value.lstrip().startswith("{") else value


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = _template()["Resources"]
    return resources


def _statements(document: Any) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_actions(role: str) -> set[str]:
    """Every action any policy of ``role`` allows, inline or attached by a RolePolicy."""
    resources = _resources()
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::RolePolicy" and r["Properties"]["RoleName"] == {"Ref": role}
    ]
    return {a for d in documents for s in _statements(d) for a in _listed(s["Action"])}


def test_iam_policies_pass_parliament() -> None:
    done = subprocess.run(
        [str(BIN / "python"), "-m", "deploy.cloudformation.iam_check", str(TEMPLATE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_iam_check_refuses_a_key_group_arn(tmp_path: Path) -> None:
    """What issue 14 found: GetKeyGroup/UpdateKeyGroup scoped to a key-group ARN, which IAM never
    matches (the Service Authorization Reference defines no such resource type)."""
    text = TEMPLATE.read_text().replace(
        '                         cloudfront:GetKeyGroup, cloudfront:UpdateKeyGroup]\n                Resource: "*"',
        "                         cloudfront:GetKeyGroup, cloudfront:UpdateKeyGroup]\n                Resource: "
        '!Sub "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:key-group/${KeyGroupId}"',
    )
    assert text != TEMPLATE.read_text()
    (tmp_path / "t.yaml").write_text(text)
    done = subprocess.run(
        [str(BIN / "python"), "-m", "deploy.cloudformation.iam_check", str(tmp_path / "t.yaml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "RESOURCE_MISMATCH" in done.stdout and "UpdateKeyGroup" in done.stdout


def test_checkov_is_clean_and_every_skip_says_why() -> None:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: make install (or make deploy-check) makes it"
    done = subprocess.run(
        [
            str(CHECKOV),
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            "cloudformation",
            "-f",
            str(TEMPLATE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "Failed checks: 0" in done.stdout, done.stdout + done.stderr
    skips = [
        s for r in _resources().values() for s in r.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips and all(len(s.get("comment", "").split()) >= 5 for s in skips), skips


@pytest.mark.parametrize("runtime", ["ecs", "ec2", "eks-irsa", "eks-pod-identity"])
def test_the_gateway_role_trusts_where_it_runs(runtime: str) -> None:
    trust = _resolved(
        _resources()["GatewayRole"]["Properties"]["AssumeRolePolicyDocument"],
        GatewayRuntime=runtime,
        EksOidcProvider=ISSUER,
    )
    (statement,) = _statements(trust)
    principal, actions = statement["Principal"], set(_listed(statement["Action"]))
    assert principal != {"Service": "eks.amazonaws.com"}  # the cluster's own role, never a pod's
    if runtime == "eks-irsa":
        assert principal == {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"}
        assert actions == {"sts:AssumeRoleWithWebIdentity"}
        assert statement["Condition"]["StringEquals"] == {
            f"{ISSUER}:sub": "system:serviceaccount:cdn-gateway:cdn-gateway",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    elif runtime == "eks-pod-identity":
        assert principal == {"Service": "pods.eks.amazonaws.com"}
        assert actions == {"sts:AssumeRole", "sts:TagSession"}
        tags = statement["Condition"]["StringEquals"]
        assert tags["aws:RequestTag/kubernetes-service-account"] == "cdn-gateway"
    else:
        service = "ec2.amazonaws.com" if runtime == "ec2" else "ecs-tasks.amazonaws.com"
        assert principal == {"Service": service} and actions == {"sts:AssumeRole"}
    profile = _resources()["GatewayInstanceProfile"]
    assert Resolver(_template(), {**REQUIRED, "GatewayRuntime": runtime}).condition(profile["Condition"]) == (
        runtime == "ec2"
    )


def test_the_trusted_service_accounts_are_the_manifests() -> None:
    """IRSA's ``sub`` must name the namespace and service account the pods really use."""
    parameters = _template()["Parameters"]
    account = yaml.safe_load((DEPLOY / "kubernetes" / "serviceaccount.yaml").read_text())
    assert parameters["KubernetesServiceAccount"]["Default"] == account["metadata"]["name"]
    assert parameters["KubernetesNamespace"]["Default"] == account["metadata"].get("namespace", "default")
    rotation = DEPLOY / "kubernetes" / "rotation" / "serviceaccount.yaml"
    if rotation.exists():  # the rotation CronJob's account is "<gateway's>-rotator"
        rotator = yaml.safe_load(rotation.read_text())
        assert rotator["metadata"]["name"] == account["metadata"]["name"] + "-rotator"
    trust = _resolved(
        _resources()["RotatorRole"]["Properties"]["AssumeRolePolicyDocument"],
        GatewayRuntime="eks-irsa",
        EksOidcProvider=ISSUER,
    )
    subjects = [s["Condition"]["StringEquals"].get(f"{ISSUER}:sub") for s in _statements(trust)]
    assert "system:serviceaccount:cdn-gateway:cdn-gateway-rotator" in subjects


def test_key_management_is_out_of_the_serving_role() -> None:
    gateway, rotator = _role_actions("GatewayRole"), _role_actions("RotatorRole")
    assert not gateway & KEY_MANAGEMENT and not any(a.startswith("cloudfront:") for a in gateway)
    assert {
        "cloudfront:CreatePublicKey",
        "cloudfront:UpdateKeyGroup",
        "cloudfront:DeletePublicKey",
    } <= rotator
    assert "sts:AssumeRole" in gateway and "s3:PutObject" in gateway  # it still presigns and vends


def test_the_vending_role_trusts_exactly_the_gateway_role() -> None:
    (statement,) = _statements(_resources()["VendingRole"]["Properties"]["AssumeRolePolicyDocument"])
    assert statement["Principal"] == {"AWS": {"Fn::GetAtt": ["GatewayRole", "Arn"]}}
    assert "Condition" not in statement  # no role/${StackName}-* pattern beside it


def test_the_key_group_is_not_the_stacks() -> None:
    resources = _resources()
    kinds = {r["Type"] for r in resources.values()}
    assert not {"AWS::CloudFront::KeyGroup", "AWS::CloudFront::PublicKey"} & kinds
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["TrustedKeyGroups"] == [{"Ref": "KeyGroupId"}]
    assert "Default" not in _template()["Parameters"]["KeyGroupId"]


def test_bucket_cors_lets_the_apps_upload_and_delete() -> None:
    (rule,) = _resources()["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    apps = "https://app.example.com,https://admin.example.com"
    assert _resolved(rule["AllowedOrigins"], AppOrigins=apps) == [
        "https://cdn.example.com",
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert _resolved(rule["AllowedOrigins"]) == ["https://cdn.example.com"]
    # The methods the gateway presigns (uploads.py), and the SDK's reads with vended credentials.
    assert {"PUT", "POST", "DELETE", "GET", "HEAD"} <= set(rule["AllowedMethods"])
    assert "ETag" in rule["ExposedHeaders"]


def test_the_origin_secret_travels_from_secrets_manager_only() -> None:
    template = _template()
    origin = next(
        o
        for o in template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]
        if o["Id"] == "gateway"
    )
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == {"Ref": "OriginSecretHeaderName"}
    assert header["HeaderValue"] == {"Fn::Sub": "{{resolve:secretsmanager:${OriginSecret}:SecretString}}"}
    assert (
        template["Parameters"]["OriginSecretHeaderName"]["Default"] == ServerSettings().origin_secret_header
    )
    assert "resolve:" not in json.dumps(template["Outputs"])
    assert "SecretString" not in json.dumps(template["Outputs"])
    api = next(
        b
        for b in template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
        if b["PathPattern"] == "/v1/*"
    )
    # Managed-AllViewerExceptHostHeader: forwards CloudFront-Viewer-Address to the gateway.
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def test_access_logs_can_be_delivered_and_old_versions_expire() -> None:
    resources = _resources()
    statements = _statements(resources["LogBucketPolicy"]["Properties"]["PolicyDocument"])
    (logging,) = [s for s in statements if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    assert logging["Effect"] == "Allow" and logging["Action"] == "s3:PutObject"
    assert logging["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    sources = logging["Condition"]["ArnLike"]["aws:SourceArn"]
    written = _resolved(logging["Resource"])
    for name, resource in resources.items():
        config = resource["Properties"].get("LoggingConfiguration")
        if resource["Type"] == "AWS::S3::Bucket" and config:
            assert {"Fn::GetAtt": [name, "Arn"]} in sources, name
            target = _resolved({"Fn::Sub": "${LogBucket.Arn}/"}) + config["LogFilePrefix"]
            assert target.startswith(written.rstrip("*")), (name, target, written)
    rules = resources["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in r and r["Status"] == "Enabled" for r in rules)
    assert any(r.get("ExpiredObjectDeleteMarker") is True and r["Status"] == "Enabled" for r in rules)


def test_ipv6_is_on_unless_chosen_off() -> None:
    config = _resources()["Distribution"]["Properties"]["DistributionConfig"]
    assert _resolved(config["IPV6Enabled"]) is True
    assert _resolved(config["IPV6Enabled"], EnableIpv6="false") is False


def test_alarms_watch_metrics_the_gateway_exports() -> None:
    exported = {metric.name for metric in Metrics().registry.collect()}
    exported |= {f"{name}_total" for name in exported}  # counters are exposed with _total
    resources = _resources()
    alarms = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = set()
    for alarm in alarms.values():
        metrics = [alarm] + [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        for metric in metrics:
            if metric.get("Namespace") == {"Ref": "GatewayMetricsNamespace"}:
                assert metric["MetricName"] in exported, metric["MetricName"]
                watched.add(metric["MetricName"])
    assert {"gateway_requests_total", "gateway_keyring_stale", "gateway_active_key_age_seconds"} <= watched
    assert {"CloudFront5xxRate", "CloudFront4xxRate", "StsThrottled", "GatewayThrottling"} <= set(alarms)


def test_the_scheduled_rotation_runs_the_task_as_the_rotator() -> None:
    resources = _resources()
    given = {
        "RotationSchedule": "rate(30 days)",
        "RotationClusterName": "ops",
        "RotationTaskFamily": "cdn-gateway-rotate",
        "RotationExecutionRoleName": "ecs-exec",
    }
    resolver = Resolver(_template(), {**REQUIRED, **given})
    assert resolver.condition(resources["ScheduledRotation"]["Condition"])
    assert not Resolver(_template(), REQUIRED).condition(resources["ScheduledRotation"]["Condition"])
    (target,) = _resolved(resources["ScheduledRotation"]["Properties"]["Targets"], **given)
    assert target["Arn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/ops"
    assert target["EcsParameters"]["TaskDefinitionArn"].endswith(":task-definition/cdn-gateway-rotate")
    policy = _resolved(
        resources["RotationEventsRole"]["Properties"]["Policies"][0]["PolicyDocument"], **given
    )
    passed = next(s for s in _statements(policy) if s["Action"] == "iam:PassRole")["Resource"]
    assert _resolved({"Fn::GetAtt": ["RotatorRole", "Arn"]}) in passed
