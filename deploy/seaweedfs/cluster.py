#!/usr/bin/env python3
"""A SeaweedFS cluster on loopback: one master, three volume servers, a filer and the S3 gateway.

Not ``weed mini``: separate processes, as a self-hosted deployment runs them (on three machines
instead of three ports).  Every file is written twice (replication ``001``: another volume server
in the same rack), so losing one volume server loses no object.

    python deploy/seaweedfs/cluster.py --dir /var/lib/seaweedfs --s3-port 8333 \\
        --access-key KEY --secret-key SECRET

Runs in the foreground until SIGINT/SIGTERM; writes ``<dir>/cluster.json`` (ports and process ids)
and prints ``ready <s3 endpoint>`` once an authenticated S3 call succeeds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from weedtools import free_ports, wait_until, weed_binary  # beside this script


def wait_s3(endpoint: str, key: str, secret: str, timeout: float, alive: Callable[[], bool]) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )
    wait_until(client.list_buckets, timeout, alive)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--s3-port", type=int, default=8333)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--volumes", type=int, default=3)
    args = parser.parse_args()
    base: Path = args.dir.resolve()
    base.mkdir(parents=True, exist_ok=True)
    master, filer, *volumes = free_ports(2 + args.volumes, {args.s3_port})
    ip = ["-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    (base / "s3.json").write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": args.access_key, "secretKey": args.secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    os.chmod(base / "s3.json", 0o600)
    commands = {
        "master": [
            "master",
            *ip,
            f"-port={master}",
            f"-mdir={base / 'master'}",
            "-defaultReplication=001",
            "-volumeSizeLimitMB=64",
        ]
    }
    for index, port in enumerate(volumes):
        commands[f"volume{index}"] = [
            "volume",
            *ip,
            f"-port={port}",
            f"-dir={base / f'volume{index}'}",
            f"-mserver=127.0.0.1:{master}",
            "-max=30",
            "-dataCenter=dc1",
            "-rack=rack1",
        ]
    commands["filer"] = [
        "filer",
        *ip,
        f"-port={filer}",
        f"-master=127.0.0.1:{master}",
        "-defaultReplicaPlacement=001",
    ]
    commands["s3"] = [
        "s3",
        "-ip.bind=127.0.0.1",
        f"-port={args.s3_port}",
        f"-filer=127.0.0.1:{filer}",
        f"-config={base / 's3.json'}",
    ]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name, command in commands.items():
            for directory in [a.split("=", 1)[1] for a in command if a.startswith(("-dir=", "-mdir="))]:
                Path(directory).mkdir(parents=True, exist_ok=True)
            with open(base / f"{name}.log", "ab") as log:
                processes[name] = subprocess.Popen(
                    [weed_binary(), f"-logdir={base}", *command],
                    cwd=base,  # the filer keeps its metadata store in its working directory
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            time.sleep(0.5 if name == "master" else 0.1)
        endpoint = f"http://127.0.0.1:{args.s3_port}"
        try:  # a busy machine starts six servers slowly; a dead one ends the wait at once
            wait_s3(
                endpoint,
                args.access_key,
                args.secret_key,
                180,
                lambda: all(p.poll() is None for p in processes.values()),
            )
        except Exception as exc:
            dead = [name for name, p in processes.items() if p.poll() is not None]
            sys.exit(
                f"cluster: S3 did not answer ({type(exc).__name__}); stopped: {dead or 'none'}; see {base}"
            )
        (base / "cluster.json").write_text(
            json.dumps(
                {
                    "s3": endpoint,
                    "master": master,
                    "filer": filer,
                    "volumes": volumes,
                    "pids": {name: p.pid for name, p in processes.items()},
                },
                indent=2,
            )
        )
        print(f"ready {endpoint}", flush=True)
        while not stopping:
            time.sleep(0.2)
        return 0
    finally:
        for process in reversed(list(processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
