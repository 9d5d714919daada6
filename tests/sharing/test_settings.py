"""``[sharing]`` settings: checked with everything else at start-up, one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.service.settings import SettingsError, load_settings
from tests.gateway.conftest import write_config


def _load(tmp_path: Path, keyring_dir: Path, sharing: str) -> list[str]:
    config = write_config(tmp_path, keyring_dir)
    with config.open("a") as toml:
        toml.write("[sharing]\n" + sharing)
    try:
        settings = load_settings(config, env={})
    except SettingsError as exc:
        return exc.problems
    assert settings.sharing.sqlite_file.is_absolute()  # beside the settings file
    return []


def test_a_store_file_that_cannot_be_written_stops_start_up(tmp_path: Path, keyring_dir: Path) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    problems = _load(tmp_path, keyring_dir, 'enabled = true\nsqlite_file = "plain-file/shares.sqlite3"\n')
    assert len(problems) == 1 and problems[0].startswith("sharing.sqlite_file ")
    assert "or set sharing.dsn" in problems[0]
    assert _load(tmp_path, keyring_dir, 'enabled = false\nsqlite_file = "plain-file/shares.sqlite3"\n') == []
    assert _load(tmp_path, keyring_dir, 'enabled = true\nsqlite_file = "new/dir/shares.sqlite3"\n') == []


@pytest.mark.parametrize(
    ("sharing", "problem"),
    [
        ('dsn = "mysql://db/x"\n', "sharing.dsn must be a postgresql:// connection URI"),
        ("pool_size = 0\n", "sharing.pool_size must be 1-100"),
        ("timeout_seconds = 0\n", "sharing.timeout_seconds must be positive"),
        ("max_shares_per_owner = 0\n", "sharing.max_shares_per_owner must be positive"),
        ("creates_per_minute = 0\n", "sharing.creates_per_minute must be 1-60000"),
        ("max_expires_in_seconds = -1\n", "sharing.max_expires_in_seconds must be 0"),
        ("page_size = 101\n", "sharing.page_size must be 1-100"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, keyring_dir: Path, sharing: str, problem: str) -> None:
    problems = _load(tmp_path, keyring_dir, "enabled = true\n" + sharing)
    assert any(p.startswith(problem) for p in problems), problems


def test_the_dsn_is_never_printed(tmp_path: Path, keyring_dir: Path) -> None:
    config = write_config(tmp_path, keyring_dir)
    with config.open("a") as toml:
        toml.write('[sharing]\nenabled = true\ndsn = "postgresql://gw:hunter2-secret@db/gw"\n')
    settings = load_settings(config, env={})
    assert "hunter2" not in repr(settings)
