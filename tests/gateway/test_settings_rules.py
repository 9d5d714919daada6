"""Settings and rules load once, report every problem together, and fail closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.rules.access import ANONYMOUS, Principal, Rules
from gateway.rules.load import RulesError, load_rules, parse_rules
from gateway.service.settings import SettingsError, load_settings
from tests.conftest import run_cli
from tests.gateway.conftest import DEV_SECRET, RULES


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "keys").mkdir(exist_ok=True)
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


GOOD = f"""
environment = "development"
[signing]
cdn_base_url = "https://cdn.test"
[auth]
dev_secret = "{DEV_SECRET}"
"""


def test_good_file_and_environment_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    settings = load_settings(
        path,
        env={
            "GATEWAY_SERVER_PORT": "9999",
            "GATEWAY_COOKIES_SECURE": "false",
            "GATEWAY_CORS_ORIGINS": "https://app.test, https://b.test",
        },
    )
    assert settings.server.port == 9999 and settings.cookies.secure is False
    assert settings.cors.origins == ("https://app.test", "https://b.test")
    assert settings.signing.keys_dir == tmp_path / "keys" and settings.rules_file == tmp_path / "rules.toml"
    assert "test-secret" not in repr(settings)  # secrets are masked


def test_every_problem_reported_together(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
environment = "production"
colour = "blue"
[server]
port = "eighty"
[signing]
cdn_base_url = "http://cdn.test/path"
window_seconds = 0
keys_dir = "missing-keys"
[cookies]
same_site = "None"
secure = false
[auth]
dev_secret = "short"
algorithms = ["HS256", "none"]
[cors]
origins = ["*", "https://ok.test"]
""",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env={})
    text = str(caught.value)
    for needle in [
        "unknown setting colour",
        "server.port has the wrong type",
        "signing.cdn_base_url",
        "signing.window_seconds must be positive",
        'signing.keys_dir "missing-keys" does not exist',
        "cookies.secure = false is allowed only with environment = development",
        "same_site = None requires",
        "dev_secret (HS256) is allowed only",
        "auth.algorithms may only",
        "cors.origins entry '*'",
    ]:
        assert needle in text, needle
    assert "short" not in text and "\n" not in text


def test_bad_env_override(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_SERVER_PORT has the wrong type"):
        load_settings(_write(tmp_path, GOOD), env={"GATEWAY_SERVER_PORT": "x"})


def test_serve_refuses_bad_start_with_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    missing_keys = run_cli("serve", "--config", str(path))  # keys/ exists but holds no keyring
    assert missing_keys.returncode == 2
    lines = missing_keys.stderr.strip().splitlines()
    assert len(lines) == 1 and "keyring.json is missing" in lines[0]
    (tmp_path / "gateway.toml").write_text(GOOD + "[signing.extra]\n")
    broken = run_cli("serve", "--config", str(path))
    assert broken.returncode == 2 and len(broken.stderr.strip().splitlines()) == 1
    (tmp_path / "gateway.toml").write_text(GOOD)
    assert run_cli("keys", "init", "--keys", str(tmp_path / "keys")).returncode == 0
    no_credentials = run_cli("serve", "--config", str(path))  # no S3 credentials anywhere
    assert no_credentials.returncode == 2 and "no AWS credentials" in no_credentials.stderr
    assert len(no_credentials.stderr.strip().splitlines()) == 1


def test_dev_token_only_in_development(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    made = run_cli("dev-token", "--config", str(path), "--sub", "alice", "--groups", "a,b")
    assert made.returncode == 0 and made.stdout.count(".") == 2
    prod = _write(tmp_path, '[auth]\njwks_file = "rules.toml"\n')
    refused = run_cli("dev-token", "--config", str(prod), "--sub", "alice")
    assert refused.returncode == 2 and "development" in refused.stderr


def test_rules_semantics() -> None:
    rules = load_rules_text(RULES)
    alice, carol = Principal("alice"), Principal("carol", ("team",))
    assert rules.decide("read", "public/a.png", ANONYMOUS).allowed
    assert not rules.decide("read", "public/staff/a.png", ANONYMOUS).allowed  # most specific wins
    assert rules.decide("read", "public/staff/a.png", alice).allowed
    assert rules.decide("write", "users/alice/a.png", alice).allowed
    assert not rules.decide("write", "users/bob/a.png", alice).allowed
    assert not rules.decide("read", "private/x", alice).allowed  # no rule: deny
    assert rules.decide("read", "shared/team/x", carol).allowed
    assert not rules.decide("read", "shared/team/x", alice).allowed
    assert not rules.decide_prefix("users/", alice).allowed
    assert rules.decide_prefix("users/alice/", alice).allowed


def load_rules_text(text: str) -> Rules:
    import tomllib

    return parse_rules(tomllib.loads(text))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[rules]]\nprefix = "tiles"\nread = "anyone"', "must end with '/'"),
        ('[[rules]]\nprefix = "a/../b/"\nread = "anyone"', "'..'"),
        ('[[rules]]\nprefix = "a/*/"\nread = "anyone"', "'*'"),
        ('[[rules]]\nprefix = "users/{sub}/"\nread = "anyone"', "not 'anyone'"),
        ('[[rules]]\nprefix = "u/{user}/"\nread = "authenticated"', "one {sub} or {group}"),
        ('[[rules]]\nprefix = "up/"\nwrite = "anyone"\ncontent_types = ["image/png"]', "strangers"),
        ('[[rules]]\nprefix = "up/"\nwrite = "authenticated"', "must list its allowed content_types"),
        ('[[rules]]\nprefix = "up/"\nwrite = "authenticated"\ncontent_types = ["image/*"]', "no wildcards"),
        ('[[rules]]\nprefix = "a/"\nread = "everyone"', "'anyone' or 'authenticated'"),
        ('[[rules]]\nprefix = "a/"\nread = "anyone"\n[[rules]]\nprefix = "a/"\nread = "anyone"', "twice"),
        ('[[rules]]\nprefix = "a/"\nraed = "anyone"', "unknown fields"),
        ("title = 1", "only [[rules]]"),
    ],
)
def test_bad_rules(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert needle in str(caught.value)
