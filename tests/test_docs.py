"""The docs travel with the code: every setting is documented, every link and every citation of
docs/platforms.md resolves, and the README's test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
OPERATIONS = DOCS / "operations.md"
PLATFORMS = DOCS / "platforms.md"
CRIER_NAME = re.compile(r"\bCRIER_[A-Z0-9_]+\b")
# [text](target): the relative targets only; addresses with a scheme are not checked here.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CITATION = re.compile(r"docs/platforms\.md (§\d+)")
CODE_FOLDERS = ("api", "activities", "cli", "core", "providers", "sandbox", "workflows")


def code_files() -> list[Path]:
    return sorted(p for folder in CODE_FOLDERS for p in (ROOT / folder).rglob("*.py"))


def test_every_setting_is_in_the_operations_settings_table() -> None:
    names = {"CRIER_" + name.upper() for name in Settings.model_fields}
    documented = set(CRIER_NAME.findall(OPERATIONS.read_text()))
    assert names - documented == set(), "settings missing from docs/operations.md"
    assert documented - names == set(), "docs/operations.md names settings that do not exist"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = README.read_text()
    commands = re.findall(r"^make (\w+)\b", readme, flags=re.MULTILINE)
    assert commands == ["dev", "test"], "the README's two commands"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "make test" in [line.strip() for line in ci]


def test_the_readme_fits_on_a_few_screens() -> None:
    assert len(README.read_text().splitlines()) < 150


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    broken = [
        target
        for target in LINK.findall(page.read_text())
        if ":" not in target and not (page.parent / target).exists()
    ]
    assert broken == [], f"{page.name} links to missing files"


def test_every_platform_citation_names_a_section_of_docs_platforms() -> None:
    sections = set(re.findall(r"^## (\d+)\. ", PLATFORMS.read_text(), flags=re.MULTILINE))
    assert len(sections) >= 12
    cited: dict[str, set[str]] = {}
    stale = []
    for path in code_files():
        text = path.read_text()
        name = str(path.relative_to(ROOT))
        # The code cites the repository's copy, never the shared folder's PLATFORMS.md.
        if re.search(r"(?<![/\w])PLATFORMS\.md", text):
            stale.append(name)
        for section in CITATION.findall(text):
            cited.setdefault(section.removeprefix("§"), set()).add(name)
    assert stale == [], "cite docs/platforms.md instead"
    assert cited, "no citations found: the pattern is wrong"
    unknown = {section: files for section, files in cited.items() if section not in sections}
    assert unknown == {}, "citations of sections docs/platforms.md does not have"
