"""The rules file (TOML): parsed strictly, every problem reported at once, counted from 1."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from gateway.rules.access import Rule, Rules
from gateway.rules.paths import PathError, validate_key

_AUDIENCES = ("anyone", "authenticated")


class RulesError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid rules: " + "; ".join(problems))


def _rule(raw: Any, index: int, problems: list[str]) -> Rule | None:
    # Counted from 1, as a reader counts [[rules]] tables, and named by prefix when it has one.
    where = f"rule {index + 1}"
    if isinstance(raw, dict) and isinstance(raw.get("prefix"), str):
        where += f" (prefix {raw['prefix']!r})"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a table")
        return None
    known = {
        "prefix",
        "read",
        "write",
        "delete",
        "max_upload_bytes",
        "content_types",
        "grant_seconds",
        "credentials_write",
        "shareable",
    }
    if set(raw) - known:
        problems.append(f"{where} has unknown fields {sorted(set(raw) - known)}")
        return None
    prefix = raw.get("prefix")
    if not isinstance(prefix, str):
        problems.append(f"{where}: prefix is required")
        return None
    placeholders = prefix.count("{")
    if placeholders > 1 or (placeholders == 1 and "{sub}" not in prefix and "{group}" not in prefix):
        problems.append(f"{where}: the prefix may hold one {{sub}} or {{group}}")
        return None
    try:
        validate_key(prefix.replace("{sub}", "x").replace("{group}", "x"), prefix=True)
    except PathError as exc:
        problems.append(f"{where}: {exc}")
        return None
    for action in ("read", "write", "delete"):
        if raw.get(action) not in (None, *_AUDIENCES):
            problems.append(f"{where}: {action} must be 'anyone' or 'authenticated'")
    if placeholders and any(raw.get(a) == "anyone" for a in ("read", "write", "delete")):
        problems.append(f"{where}: a {{sub}}/{{group}} prefix is for its owner or members, not 'anyone'")
    for action in ("write", "delete"):
        if raw.get(action) == "anyone":
            problems.append(f"{where}: {action} = 'anyone' would let strangers change the bucket")
    size = raw.get("max_upload_bytes", Rule.max_upload_bytes)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= 5 * 1024**3:
        problems.append(f"{where}: max_upload_bytes must be 1 byte to 5 GiB")
    types = raw.get("content_types", [])
    if not isinstance(types, list):
        listed = [t.strip() for t in types.split(",") if t.strip()] if isinstance(types, str) else []
        example = json.dumps(listed or ["image/png"])
        problems.append(f"{where}: content_types must be a list of media types, e.g. {example}")
        types = []
    elif not all(isinstance(t, str) and "/" in t and "*" not in t for t in types):
        problems.append(f"{where}: content_types must list exact media types (no wildcards)")
        types = []
    if raw.get("write") and not types:
        problems.append(f"{where}: a writable prefix must list its allowed content_types")
    grant = raw.get("grant_seconds")
    if grant is not None and (isinstance(grant, bool) or not isinstance(grant, int) or grant <= 0):
        problems.append(f"{where}: grant_seconds must be a positive integer")
    credentials_write = raw.get("credentials_write", False)
    if not isinstance(credentials_write, bool):
        problems.append(f"{where}: credentials_write must be true or false")
    elif credentials_write and not raw.get("write"):
        problems.append(f"{where}: credentials_write needs write (it only widens an existing write)")
    shareable = raw.get("shareable", False)
    if not isinstance(shareable, bool):
        problems.append(f"{where}: shareable must be true or false")
    elif shareable and not raw.get("write"):
        problems.append(f"{where}: shareable needs write (only those who may write may share)")
    return Rule(
        prefix,
        raw.get("read"),
        raw.get("write"),
        raw.get("delete"),
        size,
        tuple(types),
        grant,
        credentials_write is True,
        shareable is True,
    )


def parse_rules(doc: dict[str, Any]) -> Rules:
    problems: list[str] = []
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or set(doc) - {"rules"}:
        raise RulesError(["the rules file must hold only [[rules]] tables"])
    rules = [r for i, raw in enumerate(raw_rules) if (r := _rule(raw, i, problems))]
    prefixes = [r.prefix for r in rules]
    for twice in sorted({p for p in prefixes if prefixes.count(p) > 1}):
        problems.append(f"prefix {twice!r} is listed twice")
    if problems:
        raise RulesError(problems)
    return Rules(tuple(rules))


def load_rules(path: Path) -> Rules:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError([f"{path} cannot be read as TOML: {exc}"]) from None
    return parse_rules(doc)
