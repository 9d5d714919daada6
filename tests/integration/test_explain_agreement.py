"""``cdn-gateway explain`` gives the edge verifier's verdict: run as a user runs it on requests of
the differential generator, its last line names the code ``verify_request`` answers."""

from __future__ import annotations

from pathlib import Path

from gateway.edge.app import parse_cookies
from gateway.edge.viewer import Refusal, canonical_authority, read_target
from gateway.keys.keyring import load_keyring
from gateway.signing.verify import ViewerRequest, verify_request
from tests.conftest import run_cli
from tests.differential.generator import generate
from tests.differential.harness import write_keyring_dir

NOW = 1_800_000_000


def test_the_command_and_the_edge_verifier_agree(tmp_path: Path) -> None:
    keys = write_keyring_dir(tmp_path / "keys")
    trusted = load_keyring(keys, private=False).public_keys
    wanted: dict[str, int] = {}
    for case in generate(seed=7, count=600, now=NOW):
        query = "" if case.query is None else "?" + "&".join(case.query)
        url = f"{case.scheme}://{case.authority}{case.path}{query}"
        cookies = [value for name, value in case.headers if name.lower() == "cookie"]
        if not url.isascii() or not url.isprintable() or len(cookies) > 1:
            continue
        try:
            served = {(case.scheme, canonical_authority(case.scheme, case.authority))}
            target = read_target(url, None, case.scheme, served)
        except (ValueError, Refusal):
            continue
        request = ViewerRequest(
            target.scheme, target.host, target.raw_path, target.raw_query, parse_cookies(cookies), "192.0.2.7"
        )
        verdict = verify_request(request, trusted, NOW)
        code = "OK" if verdict.error is None else verdict.error.code
        if wanted.get(code, 0) >= 2:
            continue
        wanted[code] = wanted.get(code, 0) + 1
        done = run_cli(
            "explain",
            url,
            *(["--cookie", cookies[0]] if cookies else []),
            "--keys",
            str(keys),
            "--now",
            str(NOW),
            "--ip",
            "192.0.2.7",
        )
        assert done.stdout.splitlines()[-1].split()[1] == code, (case.steps, done.stdout)
        assert done.returncode == (0 if code == "OK" else 1)
    assert set(wanted) == {
        "OK",
        "MissingKey",
        "InvalidKey",
        "MalformedSignature",
        "MalformedPolicy",
        "AccessDenied",
    }, wanted
