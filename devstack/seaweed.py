"""Run SeaweedFS ``weed mini`` on loopback as the local S3 (tests and ``make run``).

Always with credentials: without them SeaweedFS turns S3 auth off and accepts any presigned URL.
Bound to 127.0.0.1, every port chosen or given explicitly, the gRPC ones too: weed would otherwise
move a busy one to another port without a word.

With an STS too (``-s3.iam.config``): AssumeRole and GetFederationToken on the S3 port, whose
credentials SeaweedFS enforces as role (or caller) policy AND session policy (README, "Temporary
AWS credentials"; what differs from AWS is listed there).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from deploy.seaweedfs.weedtools import free_ports, port_free, wait_until, weed_binary

MAX_VOLUMES = 2000  # one or more per bucket; tests make a bucket each
GRPC_OFFSET = 10000  # weed opens each server's gRPC port this far above its HTTP port
SERVERS = ("s3", "master", "volume", "filer", "admin")  # what weed mini runs here (admin without UI)
# SeaweedFS's IAM puts every principal in this account (weed/s3api/auth_credentials.go,
# defaultAccountID) and looks roles up by name, so a role ARN here names this account.
ACCOUNT = "000000000000"
ROLE_NAME = "media-clients"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
FEDERATION_USER = "federation-caller"  # the -s3.config identity that may call GetFederationToken
# What a session policy can grant (gateway/credentials/policy.py); the session policy narrows it
# to the caller's prefixes, as on AWS, where the role would allow the bucket.  Any bucket: the
# tests make one per test, and the roles are read once, at start.
CLIENT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def iam_config(gateway_arn: str, signing_key: bytes) -> dict[str, Any]:
    """The ``-s3.iam.config`` document: one role that only ``gateway_arn`` may assume."""
    clients = {
        "Effect": "Allow",
        "Action": CLIENT_ACTIONS,
        "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"],
    }
    trust = {"Effect": "Allow", "Principal": {"AWS": gateway_arn}, "Action": ["sts:AssumeRole"]}
    federation = {"Effect": "Allow", "Action": ["sts:GetFederationToken"], "Resource": ["*"]}
    return {
        # Go's []byte is base64 in JSON; tokens are HS256 JWTs signed with it (weed/iam/sts).
        "sts": {
            "tokenDuration": "1h",
            "maxSessionLength": "12h",
            "issuer": "cdn-gateway-local-sts",
            "signingKey": base64.b64encode(signing_key).decode("ascii"),
        },
        "policy": {"defaultEffect": "Deny"},
        "policies": [
            {"name": "Clients", "document": _policy([clients])},
            {"name": "FederationCaller", "document": _policy([federation])},
        ],
        "roles": [
            {
                "roleName": ROLE_NAME,
                "roleArn": ROLE_ARN,
                "trustPolicy": _policy([trust]),
                "attachedPolicies": ["Clients"],
            }
        ],
    }


@dataclass
class SeaweedFS:
    data_dir: Path
    access_key: str
    secret_key: str
    s3_port: int = 0
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None
    # The master, volume, filer and admin HTTP ports; empty: free ones.  ``make run`` gives them,
    # so that the ports it opens are the ones the README lists.
    server_ports: tuple[int, ...] = ()
    ports: dict[str, int] = field(default_factory=dict)  # every port weed listens on, once started
    # STS: a new signing key per start (sessions of an earlier run stop working), and the
    # GetFederationToken caller's key pair; none of them is ever printed.
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    federation_key: str = field(default_factory=lambda: "FED" + secrets.token_hex(8).upper())
    federation_secret: str = field(default_factory=lambda: secrets.token_urlsafe(30), repr=False)

    @property
    def gateway_arn(self) -> str:
        """The env-var identity's ARN: weed mini names it ``admin-`` + the key's first 8 characters."""
        return f"arn:aws:iam::{ACCOUNT}:user/admin-{self.access_key[:8]}"

    def _write_iam(self) -> list[str]:
        """The STS files (0600: they hold the signing key and a secret) and the flags naming them."""
        iam, identities = self.data_dir / "iam.json", self.data_dir / "identities.json"
        federation = {
            "name": FEDERATION_USER,
            "credentials": [{"accessKey": self.federation_key, "secretKey": self.federation_secret}],
            # GetFederationToken's session is bounded by its caller's policies, as on AWS.
            "policyNames": ["Clients", "FederationCaller"],
        }
        for path, document in (
            (iam, iam_config(self.gateway_arn, self.signing_key)),
            (identities, {"identities": [federation]}),
        ):
            path.touch(mode=0o600)
            path.chmod(0o600)
            path.write_text(json.dumps(document, indent=2))
        return [f"-s3.iam.config={iam}", f"-s3.config={identities}"]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def client(self, service: str = "s3") -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def start(self, timeout: float = 60) -> None:
        picked = free_ports(5)
        self.s3_port = self.s3_port or picked[0]
        http = dict(zip(SERVERS, (self.s3_port, *(self.server_ports or picked[1:])), strict=True))
        self.ports = {**http, **{f"{name} gRPC": port + GRPC_OFFSET for name, port in http.items()}}
        busy = [f"{port} ({name})" for name, port in self.ports.items() if not port_free(port)]
        if busy:
            raise RuntimeError(f"SeaweedFS needs port {', '.join(busy)} on 127.0.0.1, which is in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        log = open(self.data_dir / "weed.log", "ab")
        self.process = subprocess.Popen(
            [
                weed_binary(),
                f"-logdir={self.data_dir}",
                "mini",
                f"-dir={self.data_dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                *(f"-{name}.port={port}" for name, port in http.items()),
                *(f"-{name}.port.grpc={port + GRPC_OFFSET}" for name, port in http.items()),
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                # Vended credentials reach the IAM API on the S3 port and pass its authorization for
                # access-key calls; only a read-only IAM stops them creating or deleting keys.  It is
                # weed mini's default, said here so a changed default cannot open it.
                "-s3.iam.readOnly=true",
                # Every bucket is a collection with volumes of its own, and weed mini allows as many
                # volumes as its (disk-sized, up to 1 GB) volume size fits in the free space: 73 on a
                # disk with 74 GB free, fewer than the buckets one test run makes.  Small volumes and
                # an explicit count (volume files grow as written, nothing is preallocated) lift it.
                "-master.volumeSizeLimitMB=64",
                f"-volume.max={MAX_VOLUMES}",
                *self._write_iam(),
            ],
            cwd=self.data_dir,  # nothing SeaweedFS writes lands in the caller's directory
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """Ready means an authenticated ListBuckets succeeds."""
        alive = lambda: self.process is None or self.process.poll() is None  # noqa: E731
        try:
            wait_until(self.client().list_buckets, timeout, alive)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"SeaweedFS did not start; see {self.data_dir}/weed.log") from exc

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
