"""README's Configuration table and the environment variables the code reads are the same list: a variable read but
not in the table is a setting no administrator can find, one in the table that nothing reads is a setting that
silently does nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["manage.py", "mediasearch", "gallery", "search", "vision", "tests/browser/conftest.py"]  # (CHROMIUM_PATH)
# Read by the code but set by the code itself, for its own child processes: nothing for an administrator to set.
INTERNAL = {"Q_CLUSTER_NAME"}  # the worker commands name the cluster (queue) each of their clusters serves
READ = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["'](?!\]\s*=[^=])"""  # not a write
                  r"""|env_[a-z_]+\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def _read_by_the_code() -> set[str]:
    names = set()
    for part in CODE:
        path = ROOT / part
        for source in [path] if path.is_file() else path.rglob("*.py"):
            if path.is_file() or "tests" not in source.relative_to(ROOT).parts:
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


def test_the_chromium_setup_is_told_of_is_the_one_the_browser_tests_drive(tmp_path):
    """scripts/setup.sh (make test) installs no chromium when CHROMIUM_PATH names one, but the browser tests never read
    CHROMIUM_PATH: they looked for `chromium` on PATH only, and with none there skipped every browser test ("chromium is
    not installed"). They drive the one CHROMIUM_PATH names; README says so."""
    import os
    import subprocess
    import sys

    chromium = tmp_path / "chrome-linux" / "chrome"
    chromium.parent.mkdir()
    chromium.write_text("#!/bin/sh\n")
    probe = "import tests.browser.conftest as c; print(c.CHROMIUM, c.HAVE_CHROMIUM)"
    read = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CHROMIUM_PATH": str(chromium), "DJANGO_SETTINGS_MODULE": "mediasearch.settings"})
    assert read.returncode == 0, read.stderr[-2000:]
    assert read.stdout.split() == [str(chromium), "True"]
    assert "CHROMIUM_PATH" in _in_the_readmes_table()
