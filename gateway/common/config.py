"""Typed settings from TOML with environment overrides, shared by the gateway and the edge.

Values are coerced to each dataclass field's declared type; every problem is collected so that
start-up can report them all at once, and secrets never appear in a repr.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal


class SettingsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings: " + "; ".join(problems))


class Secret(str):
    """A string whose repr never shows the value (secrets must not reach logs)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


NO_SECRET = Secret("")


def convert(kind: Any, value: Any, name: str, problems: list[str]) -> Any:
    """Coerce a TOML or environment value to the field's declared type, or record a problem."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        # ``X | None``: TOML has no null, so a value given is an X; leaving it out keeps None,
        # which lets a setting tell "set explicitly" from "default".
        inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(inner) == 1 and len(typing.get_args(kind)) == 2:
            return convert(inner[0], value, name, problems)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            if not isinstance(value, bool):
                raise ValueError
            return value
        if kind is int or kind is float:
            if isinstance(value, bool):
                raise ValueError
            return kind(value)
        if kind in (str, Secret, Path):
            if not isinstance(value, str):
                raise ValueError
            return kind(value)
        if origin is Literal:
            if value not in typing.get_args(kind):
                problems.append(f"{name} must be one of {', '.join(map(str, typing.get_args(kind)))}")
                return None
            return value
        if origin is tuple:
            items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise ValueError
            return tuple(items)
    except (TypeError, ValueError):
        problems.append(f"{name} has the wrong type ({value!r} is not {getattr(kind, '__name__', kind)})")
        return None
    raise TypeError(f"unsupported settings type for {name}")  # a programming error, not input


def build(
    cls: type[Any],
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    env_prefix: str,
    problems: list[str],
    prefix: str = "",
    skip: tuple[str, ...] = (),
) -> Any:
    """Instantiate dataclass ``cls`` from a TOML table, ``<env_prefix><SECTION>_<NAME>`` overriding it."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)} | set(skip)
    for unknown in sorted(set(raw) - known):
        problems.append(f"unknown setting {prefix}{unknown}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in skip:
            continue
        name, kind = f"{prefix}{f.name}", hints[f.name]
        env_name = env_prefix + name.replace(".", "_").upper()
        if dataclasses.is_dataclass(kind):
            section = raw.get(f.name, {})
            if not isinstance(section, dict):
                problems.append(f"[{f.name}] must be a table")
                section = {}
            values[f.name] = build(kind, section, env, env_prefix, problems, f"{f.name}.")  # type: ignore[arg-type]
            continue
        if env_name in env:
            value = convert(kind, env[env_name], env_name, problems)
        elif f.name in raw:
            value = convert(kind, raw[f.name], name, problems)
        else:
            continue
        if value is not None:
            values[f.name] = value
    return cls(**values)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SettingsError([f"{path} does not exist"]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError([f"{path} is not valid TOML: {exc}"]) from None


def positive(problems: list[str], **named: float) -> None:
    for name, value in named.items():
        if value <= 0:
            problems.append(f"{name} must be positive")
