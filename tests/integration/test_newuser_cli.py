"""The command line as a new user meets it (issue 13): real processes, exit codes, stderr."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import jwt
import pytest

from tests.conftest import run_cli
from tests.gateway.conftest import DEV_SECRET, gateway_process, write_config


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_dev_token_uses_make_runs_settings_and_says_so(tmp_path: Path, keyring_dir: Path) -> None:
    (tmp_path / ".local").mkdir()
    config = write_config(tmp_path, keyring_dir)
    config.rename(tmp_path / ".local" / "gateway.toml")
    (tmp_path / "rules.toml").rename(tmp_path / ".local" / "rules.toml")
    made = run_cli("dev-token", "--sub", "alice", "--groups", "design,ops", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (
        made.stderr.strip()
        == "cdn-gateway: using .local/gateway.toml (written by make run; --config to choose)"
    )
    claims = jwt.decode(made.stdout.strip(), DEV_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice" and claims["groups"] == ["design", "ops"]
    explicit = run_cli(
        "dev-token", "--config", str(tmp_path / ".local" / "gateway.toml"), "--sub", "a", cwd=tmp_path
    )
    assert explicit.returncode == 0 and explicit.stderr == ""  # an explicit file needs no remark


def test_dev_token_without_settings_says_what_to_do(tmp_path: Path) -> None:
    done = run_cli("dev-token", "--sub", "alice", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "(no --config, and no .local/gateway.toml here: run make run first)" in _one_line(done)


def test_a_mistyped_keyring_is_said_plainly(tmp_path: Path, keyring_dir: Path) -> None:
    typo = tmp_path / "kyes"
    for command in (
        ["sign", "https://cdn.test/a.png", "--ttl", "60", "--keys", str(typo)],
        ["sign-cookies", "--resource", "https://cdn.test/*", "--ttl", "60", "--keys", str(typo)],
        ["verify", "https://cdn.test/a.png", "--keys", str(typo)],
    ):
        done = run_cli(*command)
        assert done.returncode == 2
        line = _one_line(done)
        assert (
            line == f"cdn-gateway: error: no keyring at {typo}: the directory does not exist (check --keys)"
        )
        assert not typo.exists()  # and nothing suggested, nor created, in the typo
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_cli("sign", "https://cdn.test/a.png", "--ttl", "60", "--keys", str(empty))
    assert done.returncode == 2
    assert f"create the first key with: cdn-gateway keys init --keys {empty}" in _one_line(done)


@pytest.mark.parametrize("command", ["list", "rotate", "retire", "revoke"])
def test_keys_commands_say_a_missing_keyring_directory_plainly(tmp_path: Path, command: str) -> None:
    typo = tmp_path / "kyes"
    done = run_cli("keys", command, "--keys", str(typo), *(["K1"] if command == "revoke" else []))
    assert done.returncode == 2
    assert (
        _one_line(done)
        == f"cdn-gateway: error: no keyring at {typo}: the directory does not exist (check --keys)"
    )
    assert not typo.exists()


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (["--ttl", "0"], "--ttl must be at least 1 second, not 0"),
        (["--expires", "5"], "--expires 5 (1970-01-01T00:00:05Z) is in the past; give a later time or --ttl"),
        (["--expires", "{now}"], "is in the past"),
    ],
)
def test_grants_that_never_work_are_refused(keyring_dir: Path, when: list[str], message: str) -> None:
    when = [w.format(now=int(time.time())) for w in when]
    for command in (
        ["sign", "https://cdn.test/a.png"],
        ["sign-cookies", "--resource", "https://cdn.test/*"],
    ):
        done = run_cli(*command, *when, "--keys", str(keyring_dir))
        assert done.returncode == 2 and done.stdout == ""
        assert message in _one_line(done)


def _photoapp_config(tmp_path: Path, keyring_dir: Path, cookies: str, cors: str = "") -> Path:
    config = write_config(tmp_path, keyring_dir)
    text = config.read_text().replace(
        'cdn_base_url = "https://cdn.test"', 'cdn_base_url = "https://cdn.photoapp.test"'
    )
    config.write_text(f"{text}[cookies]\n{cookies}\n[cors]\norigins = [{cors}]\n")
    return config


def test_serve_refuses_a_cookie_domain_browsers_drop(tmp_path: Path, keyring_dir: Path) -> None:
    config = _photoapp_config(tmp_path, keyring_dir, 'domain = "https://photoapp.test"')
    done = run_cli("serve", "--config", str(config))
    assert done.returncode == 2
    assert _one_line(done).endswith(
        "cookies.domain 'https://photoapp.test' must be a host name without a scheme: write \"photoapp.test\""
    )


def test_serve_warns_once_when_an_app_origin_cannot_share_the_cookies(
    tmp_path: Path, keyring_dir: Path
) -> None:
    origins = '"https://app.photoapp.test", "https://photoapp.other.test"'
    config = _photoapp_config(tmp_path, keyring_dir, 'domain = "photoapp.test"', origins)
    with gateway_process(config, "--workers", "2"):
        log = next(tmp_path.glob("serve-*.log")).read_text()
    warnings = [line for line in log.splitlines() if line.startswith("cookies:")]
    assert warnings == [
        "cookies: pages on https://photoapp.other.test (cors.origins) are outside cookies.domain "
        "'photoapp.test', so their requests to the CDN go without its cookies (SameSite, third-party "
        "cookie blocking): serve the app under photoapp.test"
    ]
    fine = _photoapp_config(tmp_path, keyring_dir, 'domain = "photoapp.test"', '"https://app.photoapp.test"')
    for old in tmp_path.glob("serve-*.log"):
        old.unlink()
    with gateway_process(fine):
        log = next(tmp_path.glob("serve-*.log")).read_text()
    assert "cookies:" not in log
