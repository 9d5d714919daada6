"""Regenerate the CloudFront known-answer vectors from independent tools.

Signatures come from the `openssl` command line (RSA PKCS#1 v1.5, deterministic) and from the
pure-Python `ecdsa` package (RFC 6979 deterministic ECDSA, DER).  Policy bytes are CloudFront's
documented templates written out here, never produced by the gateway's code.  The committed
vectors.json is the test data; run this only to add vectors:  python tests/vectors/generate.py
"""
import base64
import hashlib
import json
import subprocess
from pathlib import Path

import ecdsa
from ecdsa.util import sigencode_der

HERE = Path(__file__).parent
HOST = "https://d111111abcdef8.cloudfront.net"
EXPIRES = 1893456000  # 2030-01-01T00:00:00Z
NOT_BEFORE = 1861920000  # 2029-01-01T00:00:00Z


def cfb64(data: bytes) -> str:
    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def sign(key: str, hash_name: str, message: bytes) -> bytes:
    if key.startswith("test-rsa"):
        return subprocess.run(["openssl", "dgst", f"-{hash_name.lower()}", "-sign", str(HERE / key)],
                              input=message, capture_output=True, check=True).stdout
    sk = ecdsa.SigningKey.from_pem((HERE / key).read_text())
    hashfunc = hashlib.sha1 if hash_name == "SHA1" else hashlib.sha256
    signature: bytes = sk.sign_deterministic(message, hashfunc=hashfunc, sigencode=sigencode_der)
    return signature


CASES = [
    # name, url, policy kind, resource, not_before, ip
    ("canned", f"{HOST}/tiles/3/4/2.png", "canned", f"{HOST}/tiles/3/4/2.png", None, None),
    ("canned-encoded", f"{HOST}/photos/a%20b/%C3%BC%2Bx.jpg", "canned",
     f"{HOST}/photos/a%20b/%C3%BC%2Bx.jpg", None, None),
    ("custom-wildcard", f"{HOST}/tiles/3/4/2.png", "custom", f"{HOST}/tiles/*", None, None),
    ("custom-full", f"{HOST}/users/alice/a.png", "custom", f"{HOST}/users/alice/*", NOT_BEFORE,
     "192.0.2.0/24"),
]


def policy_for(kind: str, resource: str, not_before: int | None, ip: str | None) -> str:
    if kind == "canned":
        return ('{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}'
                % (resource, EXPIRES))
    cond = '"DateLessThan":{"AWS:EpochTime":%d}' % EXPIRES
    if ip:
        cond += ',"IpAddress":{"AWS:SourceIp":"%s"}' % ip
    if not_before:
        cond += ',"DateGreaterThan":{"AWS:EpochTime":%d}' % not_before
    return '{"Statement":[{"Resource":"%s","Condition":{%s}}]}' % (resource, cond)


def main() -> None:
    vectors = []
    for key, key_id in (("test-rsa-2048.pem", "K2TESTRSA00001"), ("test-ecdsa-p256.pem", "K2TESTECDSA001")):
        for hash_name in ("SHA1", "SHA256"):
            for name, url, kind, resource, not_before, ip in CASES:
                policy = policy_for(kind, resource, not_before, ip)
                signature = cfb64(sign(key, hash_name, policy.encode()))
                first = ("Expires", str(EXPIRES)) if kind == "canned" else ("Policy", cfb64(policy.encode()))
                params = [first, ("Signature", signature), ("Key-Pair-Id", key_id)]
                if hash_name == "SHA256":
                    params.append(("Hash-Algorithm", "SHA256"))
                vectors.append({
                    "name": f"{key.split('.')[0]}-{hash_name.lower()}-{name}",
                    "key_file": key, "key_pair_id": key_id, "hash": hash_name, "kind": kind,
                    "url": url, "resource": resource, "expires": EXPIRES, "not_before": not_before,
                    "ip": ip, "policy": policy, "signature": signature,
                    "signed_url": url + "?" + "&".join(f"{k}={v}" for k, v in params),
                    "cookies": {f"CloudFront-{k}": v for k, v in params},
                })
    (HERE / "cloudfront.json").write_text(json.dumps(vectors, indent=2) + "\n")
    print(f"wrote {len(vectors)} vectors")


if __name__ == "__main__":
    main()
