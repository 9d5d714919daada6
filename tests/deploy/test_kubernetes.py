"""deploy/kubernetes/ holds together: one namespace, the settings agree with the pod (ports, mounts,
proxies, CORS, an explicit publisher), the rotation jobs run commands the CLI accepts under their
own service account, the network policy keeps /metrics in, and checkov finds nothing unjustified."""

from __future__ import annotations

import ipaddress
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import build_parser
from gateway.service.settings import load_settings

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
CHECKOV = Path(__file__).resolve().parents[2] / ".venv" / "checkov" / "bin" / "checkov"


def _all() -> list[dict[str, Any]]:
    return [d for p in sorted(KUBERNETES.glob("**/*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _all() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _settings() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(_one("ConfigMap", "cdn-gateway-config")["data"]["gateway.toml"])
    return data


def test_everything_in_one_namespace() -> None:
    namespaced = [d for d in _all() if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"cdn-gateway"}
    namespace = _one("Namespace", "cdn-gateway")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_settings_agree_with_the_pod() -> None:
    pod = _one("Deployment", "cdn-gateway")["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    settings = _settings()
    assert settings["server"]["port"] == ports["http"] and settings["server"]["host"] == "0.0.0.0"  # noqa: S104 - in its pod
    assert settings["server"]["metrics_port"] == ports["metrics"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"])
    assert settings["signing"]["keys_dir"] == mounts["keys"]
    assert settings["rules_file"].startswith(mounts["config"] + "/")
    # Kubernetes: the load balancer's pool, given as networks (a single pod IP changes).
    proxies = [ipaddress.ip_network(p) for p in settings["server"]["trusted_proxies"]]
    assert proxies and all(p.is_private and p.num_addresses > 1 for p in proxies)
    origins = settings["cors"]["origins"]
    assert origins and all(o.startswith("https://") and o.count("/") == 2 for o in origins)
    assert settings["keys"]["publisher"] == "cloudfront"  # never left to a default in production


def test_shipped_settings_with_the_shared_keyring_load(tmp_path: Path) -> None:
    """The runbook says: uncomment keys.store and keys.probe_url.  That must give valid settings."""
    text = _one("ConfigMap", "cdn-gateway-config")["data"]["gateway.toml"]
    uncommented = text
    for name in ("store", "store_kms_key_id", "probe_url"):
        uncommented = uncommented.replace(f"# {name} = ", f"{name} = ")
    assert uncommented != text
    (tmp_path / "rules.toml").write_text("")
    (tmp_path / "gateway.toml").write_text(
        uncommented.replace('"/config/rules.toml"', f'"{tmp_path / "rules.toml"}"')
    )
    settings = load_settings(tmp_path / "gateway.toml", env={})
    assert settings.keys.store.startswith("s3://") and settings.keys.probe_url.startswith("https://")
    assert settings.keys.store_kms_key_id.startswith("arn:aws:kms:")
    assert settings.cors.origins and settings.server.metrics_port


@pytest.mark.parametrize("name", ["cdn-gateway-rotate-keys", "cdn-gateway-retire-keys"])
def test_rotation_jobs(name: str) -> None:
    job = _one("CronJob", name)
    deployment = _one("Deployment", "cdn-gateway")["spec"]["template"]["spec"]
    spec = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid" and spec["restartPolicy"] == "Never"
    # Its own identity: the rotator's role may manage keys, the gateway's may not.
    account = _one("ServiceAccount", spec["serviceAccountName"])
    gateway_account = _one("ServiceAccount", deployment["serviceAccountName"])
    assert account["metadata"]["name"] != gateway_account["metadata"]["name"]
    role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role != gateway_account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert spec["automountServiceAccountToken"] is False and account["automountServiceAccountToken"] is False
    assert not [d for d in _all() if d["kind"] in ("Role", "RoleBinding", "ClusterRole")]  # S3, not Secrets
    assert container["image"] == deployment["containers"][0]["image"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The command is one the CLI really accepts, with the settings the gateway uses.
    command = container["command"]
    assert command[0] == "cdn-gateway"
    args = build_parser().parse_args(command[1:])
    assert args.keys_command in ("rotate", "retire") and str(args.config) == "/config/gateway.toml"


def test_network_policy_keeps_metrics_inside() -> None:
    policy = _one("NetworkPolicy", "cdn-gateway")["spec"]
    labels = _one("Deployment", "cdn-gateway")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    open_rules = [r for r in policy["ingress"] if "from" not in r]
    assert [p["port"] for r in open_rules for p in r["ports"]] == [8080]
    metrics = next(r for r in policy["ingress"] if any(p["port"] == 9090 for p in r["ports"]))
    assert all("namespaceSelector" in f for f in metrics["from"])


def test_checkov_clean() -> None:
    """Every finding fixed, or skipped in place with its reason (a checkov.io/skip annotation)."""
    assert CHECKOV.is_file(), "make install puts checkov in .venv/checkov"
    done = subprocess.run(
        [
            str(CHECKOV),
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework=kubernetes",
            f"--directory={KUBERNETES}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    skips = [
        value
        for d in _all()
        for key, value in (d["metadata"].get("annotations") or {}).items()
        if key.startswith("checkov.io/skip")
    ]
    assert all("=" in s and len(s.split("=", 1)[1]) > 20 for s in skips), skips
