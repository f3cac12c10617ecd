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
