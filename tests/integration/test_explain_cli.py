"""``cdn-gateway explain`` run as a user runs it: one case per cause of a 403, each naming the check
that refused and, on the last line, the answer the edge gives; with the edge's config, its Host,
scheme and behaviour decisions.  (Agreement with the verifier: test_explain_agreement.py; bad
arguments: test_cli.py.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gateway.keys.keyring import KeyEntry, Keyring, KeyState, load_keyring, write_keyring
from gateway.signing.cloudfront import SignedPolicy, sign_policy
from gateway.signing.crypto import HashAlgorithm, KeyAlgorithm, KeySigner, public_pem
from gateway.signing.encoding import cf_b64encode
from gateway.signing.policy import Policy
from tests.conftest import load_vector_key, run_cli

SIGNER = KeySigner("K2TESTRSA00001", load_vector_key("test-rsa-2048.pem"))
RETIRED = KeySigner("K2RETIRED00001", load_vector_key("test-ecdsa-p256.pem"))
BASE = "https://cdn.example.com"
NOW = 1_800_000_000
LATER = NOW + 600


@pytest.fixture
def keys(keyring_dir: Path) -> Path:
    """The test keyring, plus a key that signed once and has been retired since."""
    keyring = load_keyring(keyring_dir, private=False)
    retired = KeyEntry(
        "KRETIRED",
        KeyAlgorithm.ECDSA_P256,
        KeyState.RETIRED,
        1,
        public_pem(RETIRED.key),
        RETIRED.key_pair_id,
        1,
        2,
    )
    write_keyring(Keyring(keyring_dir, keyring.active_id, (*keyring.entries, retired), None))
    return keyring_dir


@pytest.fixture
def config(tmp_path: Path, keys: Path) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(f"""keys_dir = "{keys}"
[distribution]
urls = ["{BASE}"]
[origin]
access_key_id = "AKIALOCALTEST0000001"
secret_access_key = "local-test-secret-not-for-production"
[[behaviors]]
path_pattern = "/public/*"
signed = false
[[behaviors]]
path_pattern = "*"
""")
    return path


def _cookie(signed: SignedPolicy, drop: str = "", **replace: str) -> str:
    values = {**signed.cookies(), **{f"CloudFront-{k.replace('_', '-')}": v for k, v in replace.items()}}
    return "; ".join(f"{k}={v}" for k, v in values.items() if k != f"CloudFront-{drop}")


def _custom(
    resource: str = f"{BASE}/tiles/*",
    signer: KeySigner = SIGNER,
    not_before: int | None = None,
    ip_address: str | None = None,
) -> SignedPolicy:
    return sign_policy(Policy.make_custom(resource, LATER, not_before, ip_address), signer)


def _raw(document: bytes) -> str:
    signature = cf_b64encode(SIGNER.sign(document, HashAlgorithm.SHA1))
    return f"CloudFront-Policy={cf_b64encode(document)}; CloudFront-Signature={signature}; CloudFront-Key-Pair-Id={SIGNER.key_pair_id}"


GRANT = _custom()
SHA256 = sign_policy(Policy.make_canned(f"{BASE}/tiles/1.png", LATER), SIGNER, HashAlgorithm.SHA256)
TWO = (
    b'{"Statement":[{"Resource":"https://cdn.example.com/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800003600}}},'
    b'{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}'
)
# (name, URL, Cookie, extra arguments, answer, refusing check, words on the refusing line)
CASES = [
    (
        "no Key-Pair-Id",
        "/tiles/1.png",
        _cookie(GRANT, drop="Key-Pair-Id"),
        [],
        "MissingKey",
        "key-pair-id",
        "no Key-Pair-Id in the cookies",
    ),
    (
        "unknown key",
        "/tiles/1.png",
        _cookie(GRANT, Key_Pair_Id="KUNKNOWN"),
        [],
        "InvalidKey",
        "key",
        "KUNKNOWN is not a trusted key; trusted: K2TESTRSA00001",
    ),
    (
        "retired key",
        "/tiles/1.png",
        _cookie(_custom(signer=RETIRED)),
        [],
        "InvalidKey",
        "key",
        "K2RETIRED00001 is not a trusted key (keyring: retired",
    ),
    (
        "signature not base64",
        "/tiles/1.png",
        _cookie(GRANT, Signature="a/b"),
        [],
        "MalformedSignature",
        "signature-encoding",
        "character 2 is '/'",
    ),
    (
        "policy not base64",
        "/tiles/1.png",
        _cookie(GRANT, Policy="e30="),
        [],
        "MalformedPolicy",
        "policy-encoding",
        "character 4 is '='",
    ),
    (
        "policy not JSON",
        "/tiles/1.png",
        _raw(b"{not json"),
        [],
        "MalformedPolicy",
        "policy",
        "policy is not JSON",
    ),
    ("two statements", "/tiles/1.png", _raw(TWO), [], "MalformedPolicy", "policy", "exactly one statement"),
    (
        "signature over other bytes",
        "/tiles/1.png",
        _cookie(GRANT, Signature=_custom(f"{BASE}/*").cookies()["CloudFront-Signature"]),
        [],
        "AccessDenied",
        "signature",
        "does not verify",
    ),
    (
        "signed SHA-256, announced SHA-1",
        "/tiles/1.png?" + "&".join(f"{k}={v}" for k, v in SHA256.params() if k != "Hash-Algorithm"),
        "",
        [],
        "AccessDenied",
        "signature",
        "does not verify with K2TESTRSA00001 (SHA1)",
    ),
    (
        "expired",
        "/tiles/1.png",
        _cookie(GRANT),
        ["--now", str(LATER + 192)],
        "AccessDenied",
        "date-less-than",
        "expired 3 min 12 s ago",
    ),
    (
        "not yet valid",
        "/tiles/1.png",
        _cookie(_custom(not_before=NOW + 60)),
        [],
        "AccessDenied",
        "date-greater-than",
        "valid in 1 min 1 s",
    ),
    (
        "resource one character off",
        "/tiles/1.png",
        _cookie(_custom(f"{BASE}/tiles/1.pn")),
        [],
        "AccessDenied",
        "resource",
        "the path differs at character 35 of the request URL ('g')",
    ),
    (
        "wrong scheme",
        "http://cdn.example.com/tiles/1.png",
        _cookie(GRANT),
        [],
        "AccessDenied",
        "resource",
        "the protocol differs at character 5",
    ),
    (
        "wrong host",
        "https://cdn.example.org/tiles/1.png",
        _cookie(GRANT),
        [],
        "AccessDenied",
        "resource",
        "the domain differs at character 21",
    ),
    (
        "IP not allowed",
        "/tiles/1.png",
        _cookie(_custom(ip_address="192.0.2.0/24")),
        ["--ip", "198.51.100.4"],
        "AccessDenied",
        "ip-address",
        "the viewer 198.51.100.4 is not in 192.0.2.0/24",
    ),
    (
        "stray Expires beside valid cookies",
        "/tiles/1.png?Expires=1800000600",
        _cookie(GRANT),
        [],
        "MissingKey",
        "key-pair-id",
        "no Key-Pair-Id in the URL parameters: it holds Expires",
    ),
]


def _explain(url: str, cookie: str, *args: str) -> subprocess.CompletedProcess[str]:
    url = url if url.startswith("http") else BASE + url
    return run_cli("explain", url, *(["--cookie", cookie] if cookie else []), "--now", str(NOW), *args)


def _refusing_line(out: str) -> tuple[str, str]:
    match = re.search(r"^FAIL  (\S+)\s+(.*)$", out, re.M)
    assert match is not None, out
    return match[1], match[2]


@pytest.mark.parametrize(
    ("url", "cookie", "extra", "code", "check", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_cause_is_named(
    keys: Path, url: str, cookie: str, extra: list[str], code: str, check: str, words: str
) -> None:
    done = _explain(url, cookie, "--keys", str(keys), *extra)
    assert done.returncode == 1 and done.stderr == "", done
    assert _refusing_line(done.stdout)[0] == check and words in _refusing_line(done.stdout)[1], done.stdout
    assert done.stdout.splitlines()[-1] == f"result: {code} (HTTP 403, refused at {check})"


def test_an_expired_cookie_tells_every_step(keys: Path) -> None:
    done = _explain("/tiles/1.png", _cookie(GRANT), "--keys", str(keys), "--now", str(LATER + 192))
    out = done.stdout
    assert (
        "ok    source             cookies: the query names no signing parameter; 1 set of CloudFront-* cookies"
        in out
    )
    assert (
        "ok    key                K2TESTRSA00001 is trusted (keyring: active, rsa-2048, id KTESTRSA)" in out
    )
    assert '"Resource": "https://cdn.example.com/tiles/*",' in out  # the decoded policy, pretty
    assert "request URL:     https://cdn.example.com/tiles/1.png" in out
    assert "(2027-01-15T08:13:12Z) is not before DateLessThan 1800000600 (2027-01-15T08:10:00Z)" in out
    served = _explain("/tiles/1.png", _cookie(GRANT), "--keys", str(keys))
    assert served.returncode == 0 and served.stdout.splitlines()[-1].startswith("result: OK")
    assert "valid for another 10 min" in served.stdout


def test_with_the_edge_config_the_host_scheme_and_behaviour_are_the_edge_s(config: Path) -> None:
    def explain(url: str, cookie: str = _cookie(GRANT)) -> subprocess.CompletedProcess[str]:
        return _explain(url, cookie, "--config", str(config))

    other_host = explain("https://cdn.example.org/tiles/1.png")
    assert other_host.returncode == 1
    assert _refusing_line(other_host.stdout) == (
        "distribution",
        "no distribution is configured for this host",
    )
    assert "configured: https://cdn.example.com" in other_host.stdout
    assert other_host.stdout.splitlines()[-1].startswith("result: refused (HTTP 403")
    http = explain("http://cdn.example.com/tiles/1.png")
    assert _refusing_line(http.stdout) == ("distribution", "this distribution does not serve http")
    spelled = explain("https://CDN.Example.com.:443/tiles/1.png")
    assert spelled.returncode == 0, spelled.stdout
    assert "CDN.Example.com.:443 is read as cdn.example.com" in spelled.stdout
    public = explain("https://cdn.example.com/public/logo.png", "")
    assert public.returncode == 0 and "#1 '/public/*' matches /public/logo.png: public" in public.stdout
    encoded = explain("https://cdn.example.com/%70ublic/logo.png", "")  # matched decoded, as on CloudFront
    assert encoded.returncode == 0 and "#1 '/public/*' matches /public/logo.png" in encoded.stdout
    # The grant covers this raw path, but the edge names no object by a path with dot segments.
    dots = explain("https://cdn.example.com/tiles/a/../1.png")
    assert dots.returncode == 1 and _refusing_line(dots.stdout)[0] == "object-key", dots.stdout
