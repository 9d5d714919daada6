"""deploy/: the CloudFormation template passes cfn-lint and says what the threat model needs;
the Kubernetes manifests pass a schema validator; the Dockerfile runs as non-root with a health
check; the shipped settings load with the gateway's own loaders."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode import decode
from dockerfile_parse import DockerfileParser

from gateway.rules.load import parse_rules
from gateway.service.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BIN = Path(sys.executable).parent


def test_cloudformation_lints_clean() -> None:
    done = subprocess.run(
        [str(BIN / "cfn-lint"), str(DEPLOY / "cloudformation" / "cdn-gateway.yaml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _template() -> dict[str, Any]:
    template, matches = decode(str(DEPLOY / "cloudformation" / "cdn-gateway.yaml"))
    assert not matches
    resources: dict[str, Any] = template["Resources"]
    return resources


def test_template_is_private_tls_only_and_signed() -> None:
    r = _template()
    block = r["MediaBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(
        block[k] is True
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    assert "BucketEncryption" in r["MediaBucket"]["Properties"]
    statements = r["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements
    )
    assert r["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    config = r["Distribution"]["Properties"]["DistributionConfig"]
    assert config["IPV6Enabled"] == {"Fn::If": ["Ipv6", True, False]}  # on unless IpAddress policies
    assert config["Logging"]["IncludeCookies"] is False
    assert "TrustedKeyGroups" in config["DefaultCacheBehavior"]
    api = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/v1/*")
    assert api["TargetOriginId"] == "gateway" and "TrustedKeyGroups" not in api
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert config["Aliases"] and config["ViewerCertificate"]["MinimumProtocolVersion"].startswith("TLSv1.2")


def test_gateway_role_is_least_privilege() -> None:
    role = _template()["GatewayRole"]["Properties"]
    actions = [
        a
        for p in role["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert not any(a.endswith(":*") or a == "*" for a in actions)
    assert {"s3:PutObject", "s3:GetObject", "kms:Decrypt"} <= set(actions)
    assert not any(a.startswith("cloudfront:") for a in actions)  # keys are the rotator's (issue 14)


def test_kubernetes_manifests_validate() -> None:
    files = sorted(str(p) for p in (DEPLOY / "kubernetes").glob("**/*.yaml"))
    done = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", *files], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(files) >= 6


def _docs(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()))


def test_deployment_probes_secrets_and_shutdown() -> None:
    (deployment,) = _docs("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert (
        pod["securityContext"]["runAsNonRoot"] is True
        and container["securityContext"]["readOnlyRootFilesystem"]
    )
    keys = next(v for v in pod["volumes"] if v["name"] == "keys")
    # fsGroup makes the kubelet add group read (kubernetes/kubernetes#57923): 0440 says so, and the
    # keyring refuses anything open to others or writable (tests/deploy/test_kubelet_keys.py).
    assert keys["secret"]["defaultMode"] == 0o440 and pod["securityContext"]["fsGroup"] == 10001
    assert next(m for m in container["volumeMounts"] if m["name"] == "keys")["readOnly"] is True
    assert pod["terminationGracePeriodSeconds"] >= 15 and "preStop" in container["lifecycle"]


def test_shipped_settings_load(tmp_path: Path) -> None:
    (config,) = _docs("configmap.yaml")
    (tmp_path / "keys").mkdir()
    (tmp_path / "rules.toml").write_text(config["data"]["rules.toml"])
    gateway = (
        config["data"]["gateway.toml"]
        .replace('"/keys"', f'"{tmp_path / "keys"}"')
        .replace('"/config/rules.toml"', f'"{tmp_path / "rules.toml"}"')
    )
    (tmp_path / "gateway.toml").write_text(gateway)
    settings = load_settings(tmp_path / "gateway.toml", env={})
    assert settings.environment == "production" and settings.keys.publisher == "cloudfront"
    assert parse_rules(tomllib.loads(config["data"]["rules.toml"])).rules


def test_dockerfile_non_root_with_health_check() -> None:
    parser = DockerfileParser(path=str(DEPLOY / "docker" / "Dockerfile"))
    instructions = [i["instruction"] for i in parser.structure]
    users = [i["value"] for i in parser.structure if i["instruction"] == "USER"]
    assert users and not users[-1].startswith(("0", "root"))
    assert "HEALTHCHECK" in instructions and "/healthz" in parser.content
    assert not any("keys" in i["value"] for i in parser.structure if i["instruction"] in ("COPY", "ADD"))
