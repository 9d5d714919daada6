"""The repository explains itself: nothing points at documents a clone does not have, every
reference to a section of docs/ names a section that exists, and the README's layout lists every
part and top-level directory."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (
    ".py",
    ".md",
    ".toml",
    ".yaml",
    ".yml",
    ".json",
    ".js",
    ".html",
    ".css",
    ".txt",
    ".cfg",
    ".lua",
    ".sh",
)
# Documents that lived beside the repository once, spelled so that this file does not match them.
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape("../" + "shared"),
            "research" + r"/\w+\.md",
            r"\b" + "DESIGN" + r"(?:\.md|\s+\d)",
            r"\b(?:security|s3local|style|demand)" + r"\.md\b",
        ]
    )
)
SECTION_REFERENCE = re.compile(r"docs/(design|configuration|operations|threat-model)\.md,? \"([^\"]+)\"")


def _files() -> list[Path]:
    """Tracked files and new ones not ignored: what a commit of this tree would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    paths = [ROOT / name for name in listed]
    return [
        p for p in paths if p.is_file() and (p.suffix in TEXT or p.name in ("Makefile", "Dockerfile", "run"))
    ]


def test_no_file_points_at_documents_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _files()
        for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == [], "\n".join(found)


def _headings(doc: str) -> set[str]:
    text = (ROOT / "docs" / f"{doc}.md").read_text("utf-8")
    return {line.lstrip("#").strip().strip("`") for line in text.splitlines() if line.startswith("#")}


def test_references_to_sections_of_docs_name_sections_that_exist() -> None:
    references = [
        (path.relative_to(ROOT), match[1], match[2])
        for path in _files()
        for match in SECTION_REFERENCE.finditer(" ".join(path.read_text("utf-8", "replace").split()))
    ]
    assert len(references) >= 5  # the code does point at the design
    missing = [ref for ref in references if ref[2] not in _headings(ref[1])]
    assert missing == []


def test_the_readme_layout_lists_every_part_and_top_level_directory() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    layout = readme.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    listed = {line.split()[0] for line in layout.splitlines() if line and not line.startswith((" ", "`"))}
    parts = {f"gateway/{p.name}/" for p in (ROOT / "gateway").iterdir() if (p / "__init__.py").is_file()}
    top = {
        f"{name.split('/', 1)[0]}/"
        for name in map(str, (p.relative_to(ROOT) for p in _files()))
        if "/" in name
    }
    assert parts <= listed, parts - listed
    assert top - {"gateway/"} <= listed, (top - {"gateway/"}) - listed
    assert {"gateway/signing/", "gateway/common/", "devstack/", "docs/", "tests/"} <= listed
    assert "](docs/design.md)" in readme and "](docs/configuration.md)" in readme
