"""System checks: settings that can't work are said at start-up (`manage.py check`, serve, the worker), not as a
500 on the first page that uses them."""

from __future__ import annotations

import pytest
from django.core import checks


@pytest.mark.parametrize("name", ["GALLERY_PAGE_SIZE", "DUPLICATE_GROUPS_PAGE_SIZE"])
def test_a_page_size_below_one_is_an_error_at_start_up(settings, name):
    assert not [m for m in checks.run_checks() if m.id == "gallery.E001"]
    setattr(settings, name, 0)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E001"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{name}=0")
