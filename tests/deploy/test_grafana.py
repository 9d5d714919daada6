"""deploy/grafana/cdn-gateway.json asks only for what the gateway exports, and shows all of it.

A real ``cdn-gateway serve`` process gets traffic of every kind the panels show (requests, a 401,
grant cache misses and hits, signatures, presigned PUT and POST).  Its /metrics is read twice: by
the test, which checks every metric and label each panel's PromQL names; and by a real Prometheus
(Debian's) on loopback scraping it every second, which evaluates every panel's query as Grafana
would and must return series for each.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deploy.seaweedfs.weedtools import free_ports
from tests.gateway.conftest import bearer, gateway_process, write_config

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "cdn-gateway.json"
PROMETHEUS = "/usr/bin/prometheus"
# What Grafana puts in place of its variables when "All" jobs are shown over a short range.
GRAFANA_VARIABLES = {"$job": ".*", "$__rate_interval": "30s", "${datasource}": ""}
ADDED_BY_PROMETHEUS = {"job", "instance"}


def _panels() -> list[dict[str, Any]]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels: list[dict[str, Any]] = [p for p in dashboard["panels"] if p["type"] != "row"]
    return panels


def _queries() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def _as_grafana_sends(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``cdn-gateway serve`` process with a fresh RSA keyring (S3 unreachable: presigning is local)."""
    tmp = tmp_path_factory.mktemp("grafana")
    keys = tmp / "keys"
    made = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "init", "--keys", str(keys)], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    with gateway_process(write_config(tmp, keys)) as (base, _):
        yield base


def _traffic(base: str) -> None:
    alice = bearer("alice")
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    for _ in range(2):  # a grant cache miss (a signature), then a hit
        done = requests.post(f"{base}/v1/cookies", json={"prefix": "tiles/"}, headers=alice, timeout=5)
        assert done.status_code == 200, done.text
    refused = requests.post(
        f"{base}/v1/cookies", json={"prefix": "tiles/"}, headers={"Authorization": "Bearer x.y.z"}, timeout=5
    )
    assert refused.status_code == 401
    for method in ("PUT", "POST"):
        upload: dict[str, str | int] = {
            "path": "users/alice/a.png",
            "content_type": "image/png",
            "content_length": 10,
            "method": method,
        }
        done = requests.post(f"{base}/v1/uploads", json=upload, headers=alice, timeout=5)
        assert done.status_code == 200, done.text


def _exported(base: str) -> dict[str, set[str]]:
    """Sample name -> the label names it carries, from the gateway's own /metrics."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def test_every_query_names_exported_metrics_and_labels(gateway: str) -> None:
    _traffic(gateway)
    exported = _exported(gateway)
    used: set[str] = set()
    for expr in _queries():
        names = set(re.findall(r"\b(gateway_[a-z0-9_]+)\b", expr))
        assert names, f"no gateway metric in {expr}"
        assert names <= exported.keys(), f"{expr}: {names - exported.keys()} not exported"
        labels = set(re.findall(r"(\w+)\s*=~?\s*\"", expr))
        for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            labels.update(name.strip() for name in group.split(","))
        carried = set().union(*(exported[n] for n in names)) | ADDED_BY_PROMETHEUS
        assert labels <= carried, f"{expr}: labels {labels - carried} are not on {names}"
        used |= names
    # Every family the gateway exports is on the dashboard (its _created twins say only when).
    families = {re.sub(r"_(bucket|count|sum)$", "", n) for n in exported if n.startswith("gateway_")}
    shown = {re.sub(r"_(bucket|count|sum)$", "", n) for n in used}
    assert {f for f in families if not f.endswith("_created")} <= shown


def test_every_panel_has_a_query_and_a_place() -> None:
    panels = _panels()
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert 0 <= panel["gridPos"]["x"] and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


@pytest.fixture(scope="module")
def prometheus(gateway: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert shutil.which(PROMETHEUS), "make install installs Debian's prometheus for this test"
    tmp = tmp_path_factory.mktemp("prometheus")
    target = gateway.removeprefix("http://")
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: cdn-gateway, static_configs: [{{targets: ['{target}']}}]}}\n"
    )
    (port,) = free_ports(1)
    log = open(tmp / "prometheus.log", "wb")  # closed once the process has ended
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _value(base, 'count_over_time(up{job="cdn-gateway"}[1m])') < 2:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "prometheus.log").read_text()
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    try:
        answer = requests.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
    except requests.ConnectionError:
        return []
    assert answer["status"] == "success", f"{expr}: {answer}"
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _value(base: str, expr: str) -> float:
    result = _query(base, expr)
    return float(result[0]["value"][1]) if result else 0.0


def test_prometheus_answers_every_panel(gateway: str, prometheus: str) -> None:
    _traffic(gateway)
    scraped = _value(prometheus, 'count_over_time(up{job="cdn-gateway"}[1m])')
    deadline = time.monotonic() + 30
    while _value(prometheus, 'count_over_time(up{job="cdn-gateway"}[1m])') < scraped + 3:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    empty = [expr for expr in _queries() if not _query(prometheus, _as_grafana_sends(expr))]
    assert not empty, f"no series for: {empty}"
    # And the figures are the traffic's: signatures were made with the RSA key, a 401 was counted.
    assert _value(prometheus, 'sum(gateway_auth_failures_total{job="cdn-gateway"})') >= 1
    assert _value(prometheus, 'sum(gateway_signatures_total{algorithm="rsa-2048"})') >= 1
