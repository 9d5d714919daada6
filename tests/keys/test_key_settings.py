"""The [keys] settings: an optional wait tells "set" from "default", and bad values stop start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.service.settings import SettingsError, load_settings
from tests.conftest import run_cli


def _write(tmp_path: Path, keys_section: str) -> Path:
    (tmp_path / "rules.toml").write_text("")
    (tmp_path / "keys").mkdir(exist_ok=True)
    path = tmp_path / "gateway.toml"
    path.write_text(
        'environment = "development"\n[signing]\ncdn_base_url = "https://cdn.test"\n'
        f'[auth]\ndev_secret = "{"x" * 40}"\n[keys]\n' + keys_section
    )
    return path


@pytest.mark.parametrize(
    ("section", "env", "expected"),
    [
        ("", {}, None),  # unset: the publisher decides
        ("propagation_seconds = 0\n", {}, 0.0),  # an explicit zero is kept, not taken for unset
        ("propagation_seconds = 42\n", {}, 42.0),  # TOML integer for a float | None setting
        ("propagation_seconds = 42\n", {"GATEWAY_KEYS_PROPAGATION_SECONDS": "12.5"}, 12.5),
        ("", {"GATEWAY_KEYS_PROPAGATION_SECONDS": "0"}, 0.0),
    ],
)
def test_propagation_seconds_is_optional(
    tmp_path: Path, section: str, env: dict[str, str], expected: float | None
) -> None:
    assert load_settings(_write(tmp_path, section), env=env).keys.propagation_seconds == expected


@pytest.mark.parametrize(
    ("section", "env", "problem"),
    [
        (
            'propagation_seconds = "soon"\n',
            {},
            "keys.propagation_seconds has the wrong type ('soon' is not float)",
        ),
        ("propagation_seconds = true\n", {}, "keys.propagation_seconds has the wrong type"),
        ("", {"GATEWAY_KEYS_PROPAGATION_SECONDS": ""}, "GATEWAY_KEYS_PROPAGATION_SECONDS has the wrong type"),
        ("propagation_seconds = -1\n", {}, "keys.propagation_seconds must be 0-3600"),
        ("propagation_seconds = nan\n", {}, "keys.propagation_seconds must be 0-3600"),
        ('distribution_id = "E2EXAMPLE"\n', {}, "keys.distribution_id must be a CloudFront distribution id"),
        (
            'publisher = "cloudfront"\nkey_group_id = "KG"\ndistribution_id = "E2/../x"\n',
            {},
            "keys.distribution_id must be a CloudFront distribution id",
        ),
    ],
)
def test_bad_keys_settings_are_reported(
    tmp_path: Path, section: str, env: dict[str, str], problem: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_write(tmp_path, section), env=env)
    assert problem in str(caught.value)


def test_distribution_id_with_cloudfront(tmp_path: Path) -> None:
    section = 'publisher = "cloudfront"\nkey_group_id = "KG"\ndistribution_id = "E2EXAMPLE0ABCD"\n'
    assert load_settings(_write(tmp_path, section), env={}).keys.distribution_id == "E2EXAMPLE0ABCD"


@pytest.mark.parametrize("wait", ["-1", "nan", "inf", "3601", "soon"])
def test_cli_refuses_a_wait_outside_0_to_3600_seconds(keys: Path, wait: str) -> None:
    before = (keys / "keyring.json").read_bytes()
    done = run_cli("keys", "rotate", "--keys", str(keys), f"--wait={wait}")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"cdn-gateway keys rotate: error: argument --wait: {wait!r} is not 0-3600 seconds"
    ]
    assert (keys / "keyring.json").read_bytes() == before and "Traceback" not in done.stderr
