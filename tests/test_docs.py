"""The documentation stays true: the configuration reference names exactly the settings
each app reads, and the main documents link only to files inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import casework.config
import intake.config

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"
LINKED_DOCUMENTS = ("README.md", "docs/architecture.md", "docs/configuration.md",
                    "docs/compliance.md", "threat-model.md")
# The settings table of each app sits under the heading naming its file.
APPS = {
    "intake.json": intake.config.FILE_KEYS,
    "casework.json": casework.config.FILE_KEYS,
}

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_INLINE_LINK = re.compile(r"\[[^\]\n]*\]\(\s*(?:<([^>\n]*)>|([^)\s]*))(?:\s+[\"'(][^)]*)?\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


# --- helpers ---------------------------------------------------------------------------


def link_targets(markdown: str) -> list[str]:
    """Targets of the markdown links ``[text](target)`` and ``[label]: target`` in
    ``markdown``, leaving out code blocks and code spans (whose brackets are code)."""
    text = _FENCE.sub("", markdown)
    text = _CODE_SPAN.sub("code", text)
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in _INLINE_LINK.finditer(text)] + \
        [m.group(1) for m in _REFERENCE.finditer(text)]


def bad_links(markdown: str, document: Path, root: Path = ROOT) -> list[str]:
    """Each link of ``document`` (text ``markdown``) that leaves the repository: a URL, an
    empty target, or a path that does not exist under ``root``. ``#anchors`` are fine."""
    problems = []
    for target in link_targets(markdown):
        if target.startswith("#"):
            continue
        if not target or _SCHEME.match(target) or target.startswith("//"):
            problems.append(f"{target!r}: not a file in the repository")
            continue
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path.startswith("/"):
            problems.append(f"{target!r}: absolute path")
            continue
        resolved = (document.parent / path).resolve()
        if not resolved.is_relative_to(root.resolve()):
            problems.append(f"{target!r}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target!r}: no such file")
    return problems


def section(markdown: str, heading: str) -> str:
    """The text under the ``## `heading` `` heading, up to the next heading of that level."""
    match = re.search(rf"^## `{re.escape(heading)}`[ \t]*\n(.*?)(?=^## |\Z)", markdown,
                      re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError(f"no section '## `{heading}`'")
    return match.group(1)


def table_keys(text: str) -> list[str]:
    """The first column of each body row of the markdown tables in ``text``, without its
    backticks."""
    keys = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or not cells[0]:
            continue
        if set(cells[0]) <= set("-: ") or cells[0] == "key":
            continue  # the separator row, the header row
        keys.append(cells[0].strip("`"))
    return keys


# --- the helpers can fail ----------------------------------------------------------------


def test_bad_links_finds_urls_missing_files_and_escapes(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "exists.md").write_text("x")
    document = tmp_path / "docs" / "page.md"
    markdown = (
        "See [ok](../exists.md), [anchor](#top), [ok with anchor](../exists.md#part),\n"
        "[web](https://example.org/x), [mail](mailto:a@b.se), [gone](../missing.md),\n"
        "[out](../../etc/passwd), [abs](/etc/passwd), [proto](//example.org)\n"
        "```\n[in code](https://example.org/fenced)\n```\n"
        "and `[span](https://example.org/span)`.\n\n[ref]: http://example.org/ref\n"
    )
    problems = bad_links(markdown, document, tmp_path)
    flagged = [p.split(":", 1)[0].strip("'") for p in problems]
    assert sorted(flagged) == sorted([
        "https", "mailto", "../missing.md", "../../etc/passwd", "/etc/passwd",
        "//example.org", "http"]), problems
    assert not bad_links("[fine](../exists.md) and [a](#b)", document, tmp_path)


def test_link_targets_reads_code_in_link_text() -> None:
    assert link_targets("[`crypto/FORMAT.md`](crypto/FORMAT.md) and [x](<a b.md>)") == [
        "crypto/FORMAT.md", "a b.md"]


def test_table_keys_and_section() -> None:
    markdown = ("# T\n\n## `a.json`\n\n| key | type |\n|---|---|\n| `one` | x |\n"
                "| `two` | y |\n\n## `b.json`\n\n| key | type |\n|---|---|\n| `three` | z |\n")
    assert table_keys(section(markdown, "a.json")) == ["one", "two"]
    assert table_keys(section(markdown, "b.json")) == ["three"]
    with pytest.raises(AssertionError):
        section(markdown, "c.json")


# --- the documents ---------------------------------------------------------------------


@pytest.mark.parametrize("app", sorted(APPS))
def test_configuration_table_names_every_setting_and_no_other(app: str) -> None:
    documented = table_keys(section(CONFIGURATION.read_text(), app))
    known = set(APPS[app].values())
    assert len(documented) == len(set(documented)), f"{app}: a setting is listed twice"
    assert not known - set(documented), \
        f"settings of {app} missing from docs/configuration.md: {sorted(known - set(documented))}"
    assert not set(documented) - known, \
        f"docs/configuration.md lists settings {app} does not have: " \
        f"{sorted(set(documented) - known)}"


@pytest.mark.parametrize("name", LINKED_DOCUMENTS)
def test_document_links_stay_in_the_repository(name: str) -> None:
    document = ROOT / name
    assert not bad_links(document.read_text(), document)


@pytest.mark.parametrize("name", ["README.md", "docs/architecture.md"])
def test_configuration_reference_is_linked(name: str) -> None:
    document = ROOT / name
    linked = {(document.parent / t.split("#")[0]).resolve()
              for t in link_targets(document.read_text()) if not t.startswith("#")}
    assert CONFIGURATION.resolve() in linked


_TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_test_the_compliance_map_names_exists() -> None:
    """docs/compliance.md proves each duty with a test: each named file and test exists."""
    text = (ROOT / "docs" / "compliance.md").read_text()
    named = _TEST_REFERENCE.findall(text)
    assert len(named) >= 20, named
    for path, test in named:
        source = ROOT / path
        assert source.is_file(), path
        if test:
            assert re.search(rf"^(async )?def {test}\(", source.read_text(), re.MULTILINE), \
                f"{path}::{test}"
