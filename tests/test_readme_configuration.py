"""README's Configuration table and the environment variables the code reads are the same list: a variable read but
not in the table is a setting no administrator can find, one in the table that nothing reads is a setting that
silently does nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["manage.py", "mediasearch", "gallery", "search", "vision"]
# Read by the code but set by the code itself, for its own child processes: nothing for an administrator to set.
INTERNAL = {"Q_CLUSTER_NAME"}  # the worker commands name the cluster (queue) each of their clusters serves
READ = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']"""
                  r"""|env_[a-z_]+\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def _read_by_the_code() -> set[str]:
    names = set()
    for part in CODE:
        path = ROOT / part
        for source in [path] if path.is_file() else path.rglob("*.py"):
            if "tests" not in source.relative_to(ROOT).parts:
                names |= {a or b for a, b in READ.findall(source.read_text())}
    return names - INTERNAL


def _in_the_readmes_table() -> set[str]:
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def test_every_variable_the_code_reads_is_in_the_readmes_configuration_table():
    read = _read_by_the_code()
    assert len(read) > 80, "the scan of the code found too few variables to be right"
    missing = read - _in_the_readmes_table()
    assert not missing, f"read by the code, missing from README's Configuration table: {sorted(missing)}"


def test_every_variable_in_the_readmes_configuration_table_is_read_by_the_code():
    unread = _in_the_readmes_table() - _read_by_the_code()
    assert not unread, f"in README's Configuration table, read by nothing: {sorted(unread)}"
