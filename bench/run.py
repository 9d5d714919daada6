"""``make bench``: every figure next to its physical limit, measured in the same run.

Writes ``bench/results/latest.json`` and ``bench/results/latest.md``.  References: raw signatures
per second on one core (cryptography), a bare aiohttp JSON endpoint and a bare aiohttp static file
under the same load generator (wrk), raw boto3 presigning, and the blog-post approach.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import wrk
from bench.revocation import revocation_costs
from devstack.seaweed import SeaweedFS
from devstack.stack import RULES
from gateway.keys.keyring import init_keyring, load_keyring
from gateway.service.auth import dev_token
from gateway.service.settings import AuthSettings, Secret
from gateway.signing.cloudfront import sign_policy
from gateway.signing.crypto import HashAlgorithm, KeyAlgorithm, KeySigner
from gateway.signing.policy import Policy

SECRET = "bench-only-hs256-secret-0123456789abcdefgh"
SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def per_second(action: Callable[[], object], seconds: float = 2.0) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            action()
        count += 20
    return count / elapsed


@contextlib.contextmanager
def process(args: list[str], health: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(health, timeout=1).close()
            break
        except urllib.error.HTTPError:
            break  # it answers, whatever the status
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start; see {log}") from None
            time.sleep(0.1)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def rss_mib(pid: int) -> float:
    total = 0
    for candidate in [
        pid,
        *map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()),
    ]:
        status = Path(f"/proc/{candidate}/status")
        if status.exists():
            total += next(
                int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS")
            )
    return total / 1024


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.py = sys.executable
        self.results: dict[str, Any] = {"references": {}, "measurements": {}, "ratios": {}, "memory": {}}
        (work / "rules.toml").write_text(RULES)
        self.rsa_keys = work / "keys-rsa"
        self.ec_keys = work / "keys-ec"
        init_keyring(self.rsa_keys, KeyAlgorithm.RSA_2048)
        init_keyring(self.ec_keys, KeyAlgorithm.ECDSA_P256)
        self.token = dev_token(AuthSettings(dev_secret=Secret(SECRET)), "bench", [], ttl=3600)

    def config(self, keys: Path, name: str) -> Path:
        path = self.work / f"{name}.toml"
        path.write_text(f"""environment = "development"
rules_file = "rules.toml"
[server]
rate_limit_per_second = 1000000
rate_limit_burst = 1000000
guest_rate_limit_per_second = 1000000
guest_rate_limit_burst = 1000000
signatures_per_second = 1000000
signature_burst = 1000000
[signing]
keys_dir = "{keys}"
cdn_base_url = "https://cdn.example.com"
cache_size = {1 if name.endswith("nocache") else 200000}
[s3]
bucket = "media"
endpoint_url = "http://127.0.0.1:9"
access_key_id = "AKIABENCH"
secret_access_key = "bench"
[auth]
dev_secret = "{SECRET}"
""")
        return path

    @contextlib.contextmanager
    def gateway(self, keys: Path, name: str, workers: int = 1) -> Iterator[str]:
        port = free_port()
        args = [
            self.py,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(self.config(keys, name)),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        base = f"http://127.0.0.1:{port}"
        with process(args, f"{base}/healthz", self.work / f"{name}.log"):
            yield base

    def load(self, url: str, name: str, script: str | None = None, **env: str) -> dict[str, float]:
        wrk.run(url, script=script, seconds=1, env={**os.environ, **env})  # warm up (and fill caches)
        result = wrk.run(url, script=script, seconds=SECONDS, env={**os.environ, **env}).as_dict()
        self.results["measurements"][name] = result
        print(
            f"  {name:28s} {result['rps']:>10.1f} req/s  p50 {result['p50_ms']:.2f} ms  "
            f"p99 {result['p99_ms']:.2f} ms  errors {result['errors']}",
            flush=True,
        )
        return result

    def raw_crypto(self) -> None:
        rsa = load_keyring(self.rsa_keys).require_signer()
        ec = load_keyring(self.ec_keys).require_signer()
        message = Policy.make_custom("https://cdn.example.com/tiles/*", 1_900_000_000).to_bytes()
        refs = self.results["references"]
        refs["raw_rsa_sha1_signs_per_s"] = per_second(lambda: rsa.sign(message, HashAlgorithm.SHA1))
        refs["raw_rsa_sha256_signs_per_s"] = per_second(lambda: rsa.sign(message, HashAlgorithm.SHA256))
        refs["raw_ecdsa_sha256_signs_per_s"] = per_second(lambda: ec.sign(message, HashAlgorithm.SHA256))
        import boto3

        client = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="AKIABENCH", aws_secret_access_key="x"
        )
        refs["raw_boto3_presign_put_per_s"] = per_second(
            lambda: client.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": "media",
                    "Key": "users/bench/a.png",
                    "ContentType": "image/png",
                    "ContentLength": 10,
                },
                ExpiresIn=900,
            )
        )
        for name, value in refs.items():
            print(f"  {name:28s} {value:>10.1f}", flush=True)

    def bare(self) -> None:
        port = free_port()
        with process(
            [self.py, "-m", "bench.servers", "bare", str(port)],
            f"http://127.0.0.1:{port}/",
            self.work / "bare.log",
        ):
            result = self.load(
                f"http://127.0.0.1:{port}/v1/cookies",
                "bare_aiohttp_json",
                "post_json.lua",
                BODY='{"prefix": "tiles/"}',
                TOKEN=self.token,
            )
        self.results["references"]["bare_aiohttp_json_rps"] = result["rps"]

    def gateway_endpoints(self) -> None:
        m = self.results["measurements"]
        with self.gateway(self.rsa_keys, "gateway-rsa") as base:
            self.load(
                f"{base}/v1/cookies",
                "cookie_hit",
                "post_json.lua",
                BODY='{"prefix": "tiles/"}',
                TOKEN=self.token,
            )
            self.load(base, "signed_urls_50_uncached_rsa", "uncached_batch.lua", TOKEN=self.token)
            self.load(f"{base}/v1/r/public/logo.png", "redirect_r")
            self.load(
                f"{base}/v1/uploads",
                "uploads_put",
                "post_json.lua",
                TOKEN=self.token,
                BODY='{"path": "users/bench/a.png", "content_type": "image/png", "content_length": 10}',
            )
            m["gateway_1_worker_rss_mib"] = rss_mib_of(base)
        with self.gateway(self.rsa_keys, "gateway-rsa-nocache") as base:
            self.load(base, "cookie_miss", "alternate_prefixes.lua", TOKEN=self.token)
        with self.gateway(self.ec_keys, "gateway-ec") as base:
            self.load(base, "signed_urls_50_uncached_ecdsa", "uncached_batch.lua", TOKEN=self.token)
        with self.gateway(self.rsa_keys, "gateway-2-workers", workers=2) as base:
            self.load(
                f"{base}/v1/cookies",
                "cookie_hit_2_workers",
                "post_json.lua",
                BODY='{"prefix": "tiles/"}',
                TOKEN=self.token,
            )

    def edge_vs_static(self) -> None:
        tile = self.work / "static" / "tile.png"
        tile.parent.mkdir()
        from devstack.demo_data import tile_png

        tile.write_bytes(tile_png(3, 4, 2))
        port = free_port()
        with process(
            [self.py, "-m", "bench.servers", "static", str(port), str(tile)],
            f"http://127.0.0.1:{port}/tile.png",
            self.work / "static.log",
        ):
            static = self.load(f"http://127.0.0.1:{port}/tile.png", "bare_aiohttp_static")
        self.results["references"]["bare_aiohttp_static_rps"] = static["rps"]
        s3 = SeaweedFS(self.work / "s3", "AKIABENCHS3000000001", "bench-secret-not-for-production")
        s3.start()
        try:
            client = s3.client()
            client.create_bucket(Bucket="media")
            client.put_object(
                Bucket="media",
                Key="tiles/3/4/2.png",
                Body=tile.read_bytes(),
                ContentType="image/png",
                CacheControl="max-age=86400",
            )
            port = free_port()
            config = self.work / "edge.toml"
            config.write_text(f"""keys_dir = "{self.rsa_keys}"
[distribution]
urls = ["http://127.0.0.1:{port}"]
[origin]
endpoint_url = "{s3.endpoint}"
bucket = "media"
access_key_id = "{s3.access_key}"
secret_access_key = "{s3.secret_key}"
""")
            signer = load_keyring(self.rsa_keys).require_signer()
            grant = sign_policy(
                Policy.make_custom(f"http://127.0.0.1:{port}/tiles/*", int(time.time()) + 3600),
                KeySigner(signer.key_pair_id, signer.key),
                HashAlgorithm.SHA256,
            )
            cookie = "; ".join(f"{k}={v}" for k, v in grant.cookies().items())
            url = f"http://127.0.0.1:{port}/tiles/3/4/2.png"
            with process(
                [self.py, "-m", "gateway", "edge", "--config", str(config), "--port", str(port)],
                f"http://127.0.0.1:{port}/healthz",
                self.work / "edge.log",
            ):
                self.load(url, "edge_cached_tile_verified", "cookie_get.lua", COOKIE=cookie)
        finally:
            s3.stop()

    def baseline(self) -> None:
        tokens = self.work / "tokens.txt"
        settings = AuthSettings(dev_secret=Secret(SECRET))
        tokens.write_text(
            "\n".join(dev_token(settings, f"user{i}", [], ttl=3600) for i in range(1000)) + "\n"
        )
        signer = load_keyring(self.rsa_keys).require_signer()
        pem = next(self.rsa_keys.glob("K*.pem"))
        port = free_port()
        args = [self.py, "-m", "bench.servers", "baseline", str(port), str(pem), signer.key_pair_id, SECRET]
        with process(args, f"http://127.0.0.1:{port}/", self.work / "baseline.log"):
            self.load(
                f"http://127.0.0.1:{port}/map-view",
                "map_views_botocore_per_request",
                "map_views.lua",
                TOKENS_FILE=str(tokens),
                VIEW_PATH="/map-view",
                BODY="{}",
            )
        with self.gateway(self.rsa_keys, "gateway-map") as base:
            self.load(
                base,
                "map_views_gateway_cookies",
                "map_views.lua",
                TOKENS_FILE=str(tokens),
                VIEW_PATH="/v1/cookies",
                BODY='{"prefix": "tiles/"}',
            )

    def memory(self) -> None:
        script = f"""
import sys, time
from pathlib import Path
from gateway.service.app import create_app
from gateway.service.settings import load_settings
from gateway.service import appkeys
app = create_app(load_settings(Path({str(self.config(self.ec_keys, "memory"))!r})))
granter = app[appkeys.GRANTER]
now = time.time()
for i in range(100_000):
    granter.for_prefix(f"users/u{{i}}/", now)
assert len(granter.cache) == 100_000
print(next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS")))
"""
        done = subprocess.run(
            [self.py, "-c", script], capture_output=True, text=True, check=True, timeout=600
        )
        self.results["memory"]["rss_mib_100k_grants"] = round(int(done.stdout.strip()) / 1024, 1)
        print(
            f"  rss with 100k cached grants   {self.results['memory']['rss_mib_100k_grants']} MiB", flush=True
        )


def rss_mib_of(base: str) -> float:
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    pids = {int(p.split("=")[1]) for p in out.replace(",", " ").split() if p.startswith("pid=")}
    return round(sum(rss_mib(pid) for pid in pids), 1)


def ratios(r: dict[str, Any]) -> dict[str, float]:
    m, ref = r["measurements"], r["references"]
    return {
        "cookie_hit_vs_bare": m["cookie_hit"]["rps"] / ref["bare_aiohttp_json_rps"],
        "batch_vs_raw_rsa": m["signed_urls_50_uncached_rsa"]["rps"] * 50 / ref["raw_rsa_sha256_signs_per_s"],
        "batch_vs_raw_ecdsa": m["signed_urls_50_uncached_ecdsa"]["rps"]
        * 50
        / ref["raw_ecdsa_sha256_signs_per_s"],
        "ecdsa_vs_rsa": m["signed_urls_50_uncached_ecdsa"]["rps"] / m["signed_urls_50_uncached_rsa"]["rps"],
        "cookie_miss_vs_raw_rsa": m["cookie_miss"]["rps"] / ref["raw_rsa_sha256_signs_per_s"],
        "workers2_vs_workers1": m["cookie_hit_2_workers"]["rps"] / m["cookie_hit"]["rps"],
        "edge_hit_vs_static": m["edge_cached_tile_verified"]["rps"] / ref["bare_aiohttp_static_rps"],
        "uploads_vs_raw_boto3": m["uploads_put"]["rps"] / ref["raw_boto3_presign_put_per_s"],
        "vs_botocore_per_request": m["map_views_gateway_cookies"]["rps"]
        / m["map_views_botocore_per_request"]["rps"],
    }


TARGETS = {
    "cookie_hit_vs_bare": 0.7,
    "batch_vs_raw_rsa": 0.9,
    "ecdsa_vs_rsa": 10,
    "workers2_vs_workers1": 1.8,
    "edge_hit_vs_static": 0.6,
    "vs_botocore_per_request": 20,
}


def markdown(r: dict[str, Any]) -> str:
    lines = ["| figure | value | target | met |", "|---|---|---|---|"]
    for name, value in r["ratios"].items():
        target = TARGETS.get(name)
        met = "" if target is None else ("yes" if value >= target else "no")
        lines.append(f"| `{name}` | {value:.2f} | {'' if target is None else f'>= {target}'} | {met} |")
        lines.append("")
    rss = r["memory"]["rss_mib_100k_grants"]
    lines = [line for line in lines if line] + [
        f"| `rss_mib_100k_grants` | {rss} MiB | <= 150 MiB | {'yes' if rss <= 150 else 'no'} |",
        "",
        "| measurement | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
    ]
    for name, m in r["measurements"].items():
        if isinstance(m, dict):
            lines.append(f"| {name} | {m['rps']} | {m['p50_ms']} | {m['p99_ms']} | {m['errors']} |")
    lines += ["", "| reference | per second |", "|---|---|"]
    lines += [f"| {name} | {value:.1f} |" for name, value in r["references"].items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (make bench installs it)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cdn-gateway-bench-"))
    bench = Bench(work)
    started = time.time()
    print("raw crypto (one core)", flush=True)
    bench.raw_crypto()
    print("load (wrk, 1 thread, 32 connections)", flush=True)
    bench.bare()
    bench.gateway_endpoints()
    bench.edge_vs_static()
    bench.baseline()
    bench.memory()
    results = bench.results
    results["ratios"] = {k: round(v, 3) for k, v in ratios(results).items()}
    print("revocable grants (one process)", flush=True)
    revocation_costs(results, work, bench.rsa_keys)  # docs/design.md, "Revocation"
    results["targets"] = TARGETS
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seconds_per_load": SECONDS,
        "duration_s": round(time.time() - started, 1),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(results))
    print("\n" + markdown(results))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
