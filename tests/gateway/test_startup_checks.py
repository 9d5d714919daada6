"""Start-up refuses what would fail silently later (issue 13): cookie domains browsers drop,
insecure cookies in production, and missing files and bad rules named so that the fix is obvious."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.rules.load import RulesError, load_rules
from gateway.service.settings import SettingsError, load_settings
from tests.gateway.conftest import DEV_SECRET, RULES

CDN = "https://cdn.photoapp.test"


def _settings(tmp_path: Path, text: str, environment: str = "development") -> Path:
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "keys").mkdir(exist_ok=True)
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    auth = f'dev_secret = "{DEV_SECRET}"' if environment == "development" else 'jwks_file = "jwks.json"'
    path = tmp_path / "gateway.toml"
    path.write_text(f'environment = "{environment}"\n{text}\n[auth]\n{auth}\n')
    return path


def _problems(tmp_path: Path, text: str, environment: str = "development") -> list[str]:
    try:
        load_settings(_settings(tmp_path, text, environment), env={})
    except SettingsError as exc:
        return exc.problems
    return []


def _cookies(domain: str, cdn: str = CDN) -> str:
    return f'[signing]\ncdn_base_url = "{cdn}"\n[cookies]\ndomain = "{domain}"'


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("https://photoapp.test", 'must be a host name without a scheme: write "photoapp.test"'),
        ("photoapp.test:8443", 'must not hold a port (cookies ignore ports): write "photoapp.test"'),
        ("photoapp.test/app", 'must not hold a path (that is cookies.path): write "photoapp.test"'),
        ("192.0.2.10", "is an IP address, which browsers never accept as a cookie domain; leave it empty"),
        ("[2001:db8::1]", "is an IP address"),
        (
            "test",
            'is a single label, which browsers refuse as a cookie domain: write "photoapp.test" or leave',
        ),
        ("..photoapp.test", 'may hold one leading dot, no trailing or doubled one: write "photoapp.test"'),
        ("photoapp.test.", 'may hold one leading dot, no trailing or doubled one: write "photoapp.test"'),
        ("other.test", "does not cover the CDN host cdn.photoapp.test (signing.cdn_base_url)"),
        ("app.photoapp.test", 'write "photoapp.test" (a parent domain of the CDN host) or leave it empty'),
        ("photo app.test", "must be a host name: letters, digits and hyphens between dots"),
        ("photoapp.test; Secure", "must be a host name"),  # never an attribute smuggled into Set-Cookie
        ("bücher.test", "must be written in ASCII (its IDNA form, 'xn--bcher-kva.test')"),
    ],
)
def test_cookie_domains_browsers_drop_are_refused(tmp_path: Path, domain: str, message: str) -> None:
    problems = _problems(tmp_path, _cookies(domain))
    assert len(problems) == 1 and problems[0].startswith(f"cookies.domain {domain!r}"), problems
    assert message in problems[0]


def test_an_ip_cdn_host_takes_no_cookie_domain(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _cookies("localhost.test", "http://127.0.0.1:8081"))
    assert problems == [
        "cookies.domain 'localhost.test': the CDN host 127.0.0.1 is an IP address, which takes no domain cookies; leave it empty"
    ]


@pytest.mark.parametrize(
    "domain", ["photoapp.test", ".photoapp.test", "PhotoApp.Test", "cdn.photoapp.test", ""]
)
def test_cookie_domains_covering_the_cdn_host_are_accepted(tmp_path: Path, domain: str) -> None:
    assert _problems(tmp_path, _cookies(domain)) == []


def test_insecure_cookies_only_in_development(tmp_path: Path) -> None:
    text = f'[signing]\ncdn_base_url = "{CDN}"\n[cookies]\nsecure = false'
    assert _problems(tmp_path, text) == []
    assert _problems(tmp_path, text, "production") == [
        "cookies.secure = false is allowed only with environment = development"
    ]
    env_override = _settings(tmp_path, f'[signing]\ncdn_base_url = "{CDN}"', "production")
    with pytest.raises(SettingsError, match=r"cookies\.secure = false is allowed only"):
        load_settings(env_override, env={"GATEWAY_COOKIES_SECURE": "false"})


def test_missing_files_are_quoted_resolved_and_explained(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        'rules_file = "conf/rules.toml"\n[signing]\nkeys_dir = "../keyz"\n[auth]\njwks_file = "idp/jwks.json"\n'
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env={})
    keys, rules = (tmp_path.parent / "keyz").resolve(), tmp_path / "conf" / "rules.toml"
    assert caught.value.problems == [
        f'signing.keys_dir "../keyz" does not exist (resolved to {keys}): cdn-gateway keys init --keys {keys}',
        f'rules_file "conf/rules.toml" does not exist (resolved to {rules}): write the access [[rules]] there (README)',
        f'auth.jwks_file "idp/jwks.json" does not exist (resolved to {tmp_path / "idp" / "jwks.json"}): save the '
        "identity provider's JWKS document there, or set auth.jwks_url",
    ]


def _rules_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    return caught.value.problems


def test_rules_count_from_one_and_name_their_prefix(tmp_path: Path) -> None:
    text = (
        '[[rules]]\nprefix = "public/"\nread = "anyone"\n'
        '[[rules]]\nprefix = "users/{sub}/"\nread = "authenticated"\nwrite = "authenticated"\ncontent_types = "image/png"\n'
        '[[rules]]\nread = "anyone"\n'
        '[[rules]]\nprefix = "up/"\nwrite = "authenticated"\ncontent_types = "image/png, image/jpeg"\n'
        '[[rules]]\nprefix = "public/"\nread = "anyone"\n'
    )
    assert _rules_problems(tmp_path, text) == [
        "rule 2 (prefix 'users/{sub}/'): content_types must be a list of media types, e.g. [\"image/png\"]",
        "rule 2 (prefix 'users/{sub}/'): a writable prefix must list its allowed content_types",
        "rule 3: prefix is required",
        'rule 4 (prefix \'up/\'): content_types must be a list of media types, e.g. ["image/png", "image/jpeg"]',
        "rule 4 (prefix 'up/'): a writable prefix must list its allowed content_types",
        "prefix 'public/' is listed twice",
    ]
