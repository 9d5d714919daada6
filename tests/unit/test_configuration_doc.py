"""docs/configuration.md cannot drift from the settings: every setting described and nothing else,
the committed reference current, its environment names the ones the loader reads, and the rules
example a rules file the parser accepts with every field."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack import configdoc
from devstack.configdoc import DOC, RULES_EXAMPLE, DocError, describe, render, updated
from gateway.common.config import build
from gateway.edge.settings import EdgeSettings
from gateway.rules.access import Rule
from gateway.rules.load import parse_rules
from gateway.service.settings import Settings

_ROW = re.compile(r"\A\| `(\w+)` \| (.+?) \| (.+?) \| (?:`([A-Z0-9_]+)` \| )?")


def test_the_committed_reference_is_what_the_code_renders() -> None:
    text = DOC.read_text("utf-8")
    assert updated(text) == text, "docs/configuration.md is stale: run make docs"


def test_a_setting_without_description_or_a_description_without_setting_is_an_error() -> None:
    @dataclass(frozen=True)
    class Section:
        """A section.

        Attributes:
            kept: Still here.
            twice: Described here and in its metadata.
            gone: A setting that was removed.
        """

        kept: int = 1
        added: str = ""
        twice: bool = field(default=False, metadata={"doc": "Described again."})
        from_metadata: float = field(default=2.0, metadata={"doc": "Described in its metadata."})

    with pytest.raises(DocError) as caught:
        describe(Section)
    problems = " | ".join(caught.value.problems)
    assert "Section.added has no description" in problems
    assert "Section.twice is described twice" in problems
    assert "Section describes gone, which is not one of its fields" in problems
    assert "kept" not in problems and "from_metadata" not in problems
    assert len(caught.value.problems) == 3


def test_metadata_descriptions_count_like_docstring_ones() -> None:
    @dataclass(frozen=True)
    class Section:
        """A section.

        Attributes:
            kept: Still here,
                on two lines.
        """

        kept: int = 1
        from_metadata: float = field(default=2.0, metadata={"doc": "Described in its metadata."})

    assert describe(Section) == {
        "kept": "Still here, on two lines.",
        "from_metadata": "Described in its metadata.",
    }


def _documented_rows(text: str, title: str) -> list[tuple[str, str, str, str, str]]:
    """(section, name, type, default, environment) of each row under ``### `title` ``."""
    part = text.split(f"### `{title}`", 1)[1].split("\n### ", 1)[0]
    rows, section = [], ""
    for line in part.splitlines():
        if line.startswith("#### "):
            heading = line[5:].strip("`")
            section = heading.strip("[]") if heading.startswith("[") else ""
        elif (match := _ROW.match(line)) and match[4]:
            rows.append((section, match[1], match[2], match[3], match[4]))
    return rows


def _loaded(cls: type[Any], skip: tuple[str, ...], section: str = "") -> list[tuple[str, str]]:
    """(section, name) of every setting the loader reads from a file or the environment."""
    out = []
    for name, kind in typing.get_type_hints(cls).items():
        if name in skip:
            continue
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            out += _loaded(kind, (), name)
        else:
            out.append((section, name))
    return out


def _other_value(kind: str, default: str) -> tuple[str, Any]:
    """An environment value unlike the documented default, and what the loader must make of it."""
    options = re.findall(r'`"([^"]*)"`', kind)
    if options:
        choice = next(o for o in options if f'"{o}"' not in default)
        return choice, choice
    if kind.startswith("integer"):
        return "7", 7
    if kind.startswith("number"):
        return "7.5", 7.5
    if kind == "boolean":
        return ("false", False) if "true" in default else ("true", True)
    if kind == "list of strings":
        return "a.example, b.example", ("a.example", "b.example")
    if kind == "path":
        return "elsewhere", Path("elsewhere")
    return "elsewhere", "elsewhere"  # string, secret string


@pytest.mark.parametrize(
    ("title", "cls", "prefix", "skip"),
    [("gateway.toml", Settings, "GATEWAY_", ()), ("edge.toml", EdgeSettings, "EDGE_", ("behaviors",))],
)
def test_every_documented_environment_variable_sets_its_setting(
    title: str, cls: type[Any], prefix: str, skip: tuple[str, ...]
) -> None:
    rows = _documented_rows(DOC.read_text("utf-8"), title)
    assert {(section, name) for section, name, *_ in rows} == set(_loaded(cls, skip))
    for section, name, kind, default, env in rows:
        assert env == prefix + "_".join(part for part in (section, name) if part).upper()
        text, expected = _other_value(kind, default)
        problems: list[str] = []
        built = build(cls, {}, {env: text}, prefix, problems, skip=skip)
        value = getattr(getattr(built, section), name) if section else getattr(built, name)
        assert problems == [] and value == expected, (env, text, problems, value)
        assert value != getattr(getattr(cls(), section) if section else cls(), name), env


def test_the_rules_example_uses_every_rule_field_and_parses() -> None:
    doc = tomllib.loads(RULES_EXAMPLE)
    assert set(doc["rules"][0]) == {f.name for f in dataclasses.fields(Rule)}
    (rule,) = parse_rules(doc).rules
    assert rule.grant_seconds == 1800 and rule.content_types == ("image/png", "image/jpeg", "image/webp")
    rules_part = DOC.read_text("utf-8").split("### Rules file", 1)[1]
    documented = {m[1] for line in rules_part.splitlines() if (m := _ROW.match(line))}
    assert documented == {f.name for f in dataclasses.fields(Rule)}


def test_what_users_found_undocumented_is_documented() -> None:
    text = DOC.read_text("utf-8")
    for section, name in [
        ("auth", "groups_claim"),
        ("auth", "jwks_cache_seconds"),
        ("s3", "addressing_style"),
        ("server", "header_timeout_seconds"),
        ("signing", "reload_interval_seconds"),
    ]:
        part = text.split(f"#### `[{section}]`", 1)[1].split("\n####", 1)[0]
        assert re.search(rf"\| `{name}` \|.*\| \w.{{20,}} \|$", part, re.M), name
    for name in ("grant_seconds", "credentials_write"):
        assert re.search(rf"\| `{name}` \|.*\| \w.{{20,}} \|$", text.split("### Rules file")[1], re.M)
    assert "## The groups claim" in text and "## Asking again at `refresh_after`" in text
    assert "```js" in text and "```python" in text


def test_render_refuses_while_any_setting_is_undocumented(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole reference, not one class: a field added anywhere without a description stops it."""

    @dataclass(frozen=True)
    class Undocumented:
        port: int = 1

    real = configdoc._documented_classes
    monkeypatch.setattr(configdoc, "_documented_classes", lambda: iter([*real(), Undocumented]))
    with pytest.raises(DocError, match=r"Undocumented\.port has no description"):
        render()
