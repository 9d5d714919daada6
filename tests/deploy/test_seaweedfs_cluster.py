"""Self-hosted at scale: the gateway and two edges (behind one host name, as behind a load
balancer) in front of a SeaweedFS cluster.  Uploads land, both edges serve, and losing a volume
server loses no read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from deploy.seaweedfs.weedtools import free_ports
from devstack.demo_data import tile_png
from gateway.keys.keyring import init_keyring
from gateway.signing.crypto import KeyAlgorithm
from tests.gateway.conftest import DEV_SECRET, RULES, answers, bearer

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "AKIACLUSTERTEST00001", "cluster-test-secret-not-for-production"
HOST = "cdn.test"  # the load balancer's name: both edges verify against it


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("cluster")
    (s3_port,) = free_ports(1)
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy/seaweedfs/cluster.py"),
            "--dir",
            str(directory),
            "--s3-port",
            str(s3_port),
            "--access-key",
            KEY,
            "--secret-key",
            SECRET,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert line.startswith("ready "), line + process.stdout.read()
        yield json.loads((directory / "cluster.json").read_text())
    finally:  # also when it did not start: no process or pipe outlives the test
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", *args], stdout=out, stderr=subprocess.STDOUT
        )


def test_gateway_and_two_edges_on_a_cluster(cluster: dict[str, Any], tmp_path: Path) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=cluster["s3"],
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )
    try:
        s3.create_bucket(Bucket="media")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass  # a slow first answer, retried by botocore, already created it
    tiles = {f"tiles/2/{x}/{y}.png": tile_png(2, x, y) for x in range(4) for y in range(4)}
    for key, body in tiles.items():
        s3.put_object(Bucket="media", Key=key, Body=body, ContentType="image/png")
    keys = tmp_path / "keys"
    init_keyring(keys, KeyAlgorithm.ECDSA_P256)
    (tmp_path / "rules.toml").write_text(RULES)
    gateway_port, edge_a, edge_b = free_ports(3)
    (tmp_path / "gateway.toml").write_text(f"""environment = "development"
rules_file = "rules.toml"
[signing]
keys_dir = "{keys}"
cdn_base_url = "http://{HOST}"
[s3]
bucket = "media"
endpoint_url = "{cluster["s3"]}"
access_key_id = "{KEY}"
secret_access_key = "{SECRET}"
[auth]
dev_secret = "{DEV_SECRET}"
""")
    (tmp_path / "edge.toml").write_text(f"""keys_dir = "{keys}"
[distribution]
urls = ["http://{HOST}"]
[origin]
endpoint_url = "{cluster["s3"]}"
bucket = "media"
access_key_id = "{KEY}"
secret_access_key = "{SECRET}"
[[behaviors]]
path_pattern = "*"
cache = false
""")
    processes = [
        _spawn(
            ["serve", "--config", str(tmp_path / "gateway.toml"), "--port", str(gateway_port)],
            tmp_path / "gateway.log",
        )
    ]
    processes += [
        _spawn(
            ["edge", "--config", str(tmp_path / "edge.toml"), "--port", str(port)],
            tmp_path / f"edge{port}.log",
        )
        for port in (edge_a, edge_b)
    ]
    try:
        gateway = f"http://127.0.0.1:{gateway_port}"
        deadline = time.monotonic() + 40
        while not answers(gateway) or not all(_edge_up(port) for port in (edge_a, edge_b)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
            time.sleep(0.2)
        # An upload through the gateway lands in the cluster.
        body = os.urandom(1000)  # within the test rules' 1 KiB upload limit
        answer = requests.post(
            f"{gateway}/v1/uploads",
            headers=bearer("alice"),
            timeout=10,
            json={"path": "users/alice/photo.png", "content_type": "image/png", "content_length": len(body)},
        ).json()
        assert "url" in answer, answer
        assert (
            requests.put(answer["url"], data=body, headers=answer["headers"], timeout=10).status_code == 200
        )
        cookies = {}
        for prefix in ("tiles/", "users/alice/"):
            granted = requests.post(
                f"{gateway}/v1/cookies", json={"prefix": prefix}, headers=bearer("alice"), timeout=10
            )
            cookies[prefix] = "; ".join(f"{k}={v}" for k, v in granted.cookies.items())

        def read_all() -> None:
            for port in (edge_a, edge_b):  # both edges serve, verifying the same signatures
                for key, expected in [*tiles.items(), ("users/alice/photo.png", body)]:
                    prefix = "tiles/" if key.startswith("tiles/") else "users/alice/"
                    response = requests.get(
                        f"http://127.0.0.1:{port}/{key}",
                        timeout=10,
                        headers={"Host": HOST, "Cookie": cookies[prefix]},
                    )
                    assert response.status_code == 200 and response.content == expected, (port, key)

        read_all()
        os.killpg(cluster["pids"]["volume0"], signal.SIGKILL)  # a volume server dies
        time.sleep(1)
        read_all()  # every object has a replica on another volume server
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


def _edge_up(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=1)
        return True
    except requests.ConnectionError:
        return False
