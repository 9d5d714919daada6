"""``make docs``: the settings reference in docs/configuration.md, rendered from the code.

Each setting's type, default and environment variable come from the settings dataclasses, the
same ones ``gateway.common.config.build`` reads; its description comes from the ``Attributes:``
section of the class docstring (or from a field's ``metadata["doc"]``).  A field with no
description, a description of no field, or one given twice is an error, so the reference cannot
fall behind the code; ``tests/unit/test_configuration_doc.py`` also fails when the file differs
from what this renders.  The reference sits between two markers; the prose around it is written
by hand.  It lives here, beside the other development tools, because it ships with nothing.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from gateway.common.config import Secret
from gateway.edge.settings import EdgeSettings
from gateway.rules.access import Rule
from gateway.service.settings import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN REFERENCE: made by `make docs` from the settings classes' docstrings -->"
END = "<!-- END REFERENCE -->"
_ENTRY = re.compile(r"\A(\w+): (.*)\Z")
# Every field the rules file accepts, each with a valid value: rendered, and parsed by the test.
RULES_EXAMPLE = """\
[[rules]]
prefix = "users/{sub}/"
read = "authenticated"
write = "authenticated"
delete = "authenticated"
max_upload_bytes = 10485760
content_types = ["image/png", "image/jpeg", "image/webp"]
grant_seconds = 1800
credentials_write = false
shareable = true
"""


class DocError(Exception):
    """Settings whose documentation is missing, stray or given twice: every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _docstring(cls: type[Any]) -> tuple[str, dict[str, str]]:
    """The text before ``Attributes:`` (paragraphs joined) and each attribute's description."""
    # A dataclass without a docstring gets its signature as __doc__: that documents nothing.
    raw = cls.__dict__.get("__doc__") or ""
    if raw.startswith(f"{cls.__name__}("):
        raw = ""
    intro, _, table = inspect.cleandoc(raw).partition("\nAttributes:\n")
    entries: dict[str, str] = {}
    current = ""
    for line in table.splitlines():
        entry = _ENTRY.match(line[4:]) if line.startswith("    ") and line[4:5] != " " else None
        if entry is not None:
            current = entry[1]
            entries[current] = entry[2]
        elif line.strip() and current:
            entries[current] += " " + line.strip()
    paragraphs = [" ".join(p.split()) for p in intro.split("\n\n") if p.strip()]
    return "\n\n".join(paragraphs), entries


def _is_section(kind: Any) -> bool:
    return dataclasses.is_dataclass(kind) and isinstance(kind, type)


def _row_type(kind: Any) -> Any:
    """The dataclass a ``tuple[X, ...]`` field holds (an array of tables), else None."""
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        if args and _is_section(args[0]):
            return args[0]
    return None


def describe(cls: type[Any]) -> dict[str, str]:
    """Every documented field of ``cls`` (sections and arrays of tables excepted); DocError if any
    field has no description, a description names no field, or one has two."""
    _, entries = _docstring(cls)
    hints = typing.get_type_hints(cls)
    docs: dict[str, str] = {}
    problems: list[str] = []
    names = [f.name for f in dataclasses.fields(cls)]
    for f in dataclasses.fields(cls):
        if _is_section(hints[f.name]) or _row_type(hints[f.name]) is not None:
            continue
        given = [text for text in (entries.get(f.name), f.metadata.get("doc")) if text]
        if not given:
            problems.append(f"{cls.__name__}.{f.name} has no description (add it to the docstring)")
        elif len(given) > 1:
            problems.append(f"{cls.__name__}.{f.name} is described twice (docstring and metadata)")
        else:
            docs[f.name] = str(given[0])
    for stray in sorted(set(entries) - set(names)):
        problems.append(f"{cls.__name__} describes {stray}, which is not one of its fields")
    if problems:
        raise DocError(problems)
    return docs


def type_name(kind: Any) -> str:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return f"{type_name(inner[0])}, optional"
    if origin is Literal:
        return " or ".join(f"`{json.dumps(v)}`" for v in typing.get_args(kind))
    if origin is tuple:
        return "list of strings"
    names = {bool: "boolean", int: "integer", float: "number", Secret: "string, secret", str: "string"}
    return names.get(kind, "path" if kind is Path else getattr(kind, "__name__", str(kind)))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        return "unset" if f.default is None else f"`{toml_value(f.default)}`"
    if f.default_factory is not dataclasses.MISSING:
        return f"`{toml_value(f.default_factory())}`"
    return "required"


def _cell(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|")


def _table(cls: type[Any], env_prefix: str | None, prefix: str) -> Iterator[str]:
    docs, hints = describe(cls), typing.get_type_hints(cls)
    head = "| Setting | Type | Default | Environment | Description |"
    yield head if env_prefix is not None else head.replace(" Environment |", "")
    yield "|---" * (5 if env_prefix is not None else 4) + "|"
    for f in dataclasses.fields(cls):
        if f.name not in docs:
            continue
        env = f" `{env_prefix}{(prefix + f.name).replace('.', '_').upper()}` |" if env_prefix else ""
        yield (
            f"| `{f.name}` | {_cell(type_name(hints[f.name]))} | {_default(f)} |{env} {_cell(docs[f.name])} |"
        )


def _intro(cls: type[Any]) -> list[str]:
    intro, _ = _docstring(cls)
    return [_cell(intro), ""] if intro else []


def _file(title: str, cls: type[Any], env_prefix: str) -> Iterator[str]:
    yield f"### `{title}`"
    yield ""
    yield from _intro(cls)
    yield "#### Top level"
    yield ""
    yield from _table(cls, env_prefix, "")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if _is_section(kind):
            yield ""
            yield f"#### `[{f.name}]`"
            yield ""
            yield from _intro(kind)
            yield from _table(kind, env_prefix, f"{f.name}.")
        elif (row := _row_type(kind)) is not None:
            yield ""
            yield f"#### `[[{f.name}]]`"
            yield ""
            yield from _intro(row)
            yield "Read from the file only (no environment variable). An edge.toml without any has:"
            yield ""
            yield "```toml"
            for item in f.default if isinstance(f.default, tuple) else ():
                yield f"[[{f.name}]]"
                for name, value in dataclasses.asdict(item).items():
                    yield f"{name} = {toml_value(value)}"
            yield "```"
            yield ""
            yield from _table(row, None, "")


def render() -> str:
    """The reference, from the code; DocError with every undocumented or stray setting."""
    problems: list[str] = []
    for cls in _documented_classes():
        try:
            describe(cls)
        except DocError as exc:
            problems += exc.problems
    if problems:
        raise DocError(problems)
    lines = [
        *_file("gateway.toml", Settings, "GATEWAY_"),
        "",
        *_file("edge.toml", EdgeSettings, "EDGE_"),
        "",
        "### Rules file",
        "",
        *_intro(Rule),
        *_table(Rule, None, ""),
        "",
        "Every field in use:",
        "",
        "```toml",
        *RULES_EXAMPLE.splitlines(),
        "```",
    ]
    return "\n".join(lines) + "\n"


def _documented_classes() -> Iterator[type[Any]]:
    seen: set[type[Any]] = set()
    todo: list[type[Any]] = [Settings, EdgeSettings, Rule]
    while todo:
        cls = todo.pop(0)
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        for kind in typing.get_type_hints(cls).values():
            if _is_section(kind):
                todo.append(kind)
            elif (row := _row_type(kind)) is not None:
                todo.append(row)


def updated(text: str) -> str:
    """``text`` (docs/configuration.md) with the reference between its markers made current."""
    before, begin, rest = text.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise DocError([f"docs/configuration.md must hold the lines {BEGIN!r} and {END!r}"])
    return f"{before}{BEGIN}\n\n{render()}\n{END}{after}"


def main(argv: Sequence[str] = ()) -> int:
    """Rewrite the reference in docs/configuration.md; ``--check``: exit 1 if it is not current."""
    try:
        text = DOC.read_text("utf-8")
        new = updated(text)
    except DocError as exc:
        print(f"configdoc: {exc}", file=sys.stderr)
        return 1
    if "--check" in argv:
        if new != text:
            print("configdoc: docs/configuration.md is out of date: run make docs", file=sys.stderr)
            return 1
        return 0
    if new != text:
        DOC.write_text(new, "utf-8")
        print("configdoc: docs/configuration.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
