"""Static files and templates are well-formed: a stylesheet with an unclosed block silently drops every rule
after it (a merge once lost two closing braces and with them the whole photo viewer's layout)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STYLESHEETS = sorted((ROOT / "static").rglob("*.css"))
SOURCES = sorted([*STYLESHEETS, *(ROOT / "static").rglob("*.js"), *(ROOT / "templates").rglob("*.html")])


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_of_a_stylesheet_is_closed_where_it_should_be(path):
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)  # comments may hold braces
    text = re.sub(r"\"[^\"]*\"|'[^']*'", "\"\"", text)  # so may strings
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"{path.name}:{number}: a block closed that was never opened"
        # Only @media/@supports blocks nest; a rule opening inside a rule means a brace is missing above.
        assert depth <= 2, f"{path.name}:{number}: blocks nested {depth} deep: a closing brace is missing above"
    assert depth == 0, f"{path.name}: {depth} block(s) never closed"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_merge_conflict_markers_are_left(path):
    text = path.read_text()
    assert not re.search(r"^(<<<<<<<|=======$|>>>>>>>)", text, re.M), f"{path}: merge conflict markers"
