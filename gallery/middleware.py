from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import redirect
from django.urls import reverse

# Bumped by first_run_forget(): every middleware instance checks again on its next request.
_generation = 0


def first_run_forget() -> None:
    """Make every FirstRunMiddleware of this process check again whether an account exists (for a process whose
    database was emptied under it: the test suite's live server between tests)."""
    global _generation
    _generation += 1


class FirstRunMiddleware:
    """Until the first account exists, every page leads to the one-time setup page."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.has_users = False  # once true it stays true: no per-request query after setup
        self.generation = _generation

    def __call__(self, request):
        # /health/ answers load balancers even with no account yet, and without the database (no query here).
        if request.path == reverse("health"):
            return self.get_response(request)
        if not self.has_users or self.generation != _generation:
            self.generation = _generation
            self.has_users = get_user_model().objects.exists()
            setup_url = reverse("setup")
            exempt = (setup_url, "/static/", "/api/")
            if not self.has_users and not request.path.startswith(exempt):
                return redirect(setup_url)
        return self.get_response(request)
