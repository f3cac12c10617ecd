"""The README and docs: every relative link points at a file that exists, and no path of our machines leaks in."""

from __future__ import annotations

import re

import pytest

from helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    broken = [target for target in LINK.findall(text)
              if not target.startswith(("http://", "https://", "mailto:")) and not (page.parent / target).exists()]
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_machine_paths(page):
    text = page.read_text(encoding="utf-8")
    assert re.findall(r"/work/|\.\./shared", text) == []


TEST_PATH = re.compile(r"\b(tests/[\w/]+\.py)(?:::(\w+))?")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_named_tests_exist(page):
    """A test file (and test) the docs point a reader to is there: one that moved left a dead pointer behind."""
    text = page.read_text(encoding="utf-8")
    missing = [f"{path}::{name}" if name else path for path, name in TEST_PATH.findall(text)
               if not (ROOT / path).is_file() or (name and f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8"))]
    assert missing == []


ANCHORED = re.compile(r"\]\(([^)#\s]*\.md)?#([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_anchors_name_a_heading(page):
    """A link to a section lands on it: moving a section (the README's Speed to docs/speed.md) left anchors behind."""
    text = page.read_text(encoding="utf-8")
    broken = []
    for target, anchor in ANCHORED.findall(text):
        linked = (page.parent / target) if target else page
        if target.startswith(("http://", "https://")) or not linked.is_file():
            continue  # an outside page, or a missing file (test_relative_links_resolve names it)
        headings = re.findall(r"^#{1,6} (.+)$", linked.read_text(encoding="utf-8"), flags=re.MULTILINE)
        if anchor not in {_slug(h) for h in headings}:
            broken.append(f"{target or page.name}#{anchor}")
    assert broken == []
