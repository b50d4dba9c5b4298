from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

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


class HtmxSignInMiddleware:
    """An htmx request whose session ended under an open page (expired, signed out in another tab, the password
    changed elsewhere) is redirected to the sign-in page like any other; htmx would follow that redirect itself and
    swap the whole sign-in page into the results, the timeline or a card. Instead the browser goes there, and comes
    back to the page it was on (not to the partial's URL, which may be a POST-only action, or a timeline's next
    slice) once signed in; to the request's own URL when the page takes that as its address (X-Page-Url, from
    site.js for hx-push-url: the search box as one types, so the words typed are kept)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (getattr(request, "htmx", False) and response.status_code in (301, 302)
                and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)):
            page = request.htmx.current_url_abs_path  # None when the page is on another origin
            if page and request.method == "GET" and request.headers.get("X-Page-Url"):
                page = request.get_full_path()  # the page's own new address (site.js): a search as typed so far
            return HttpResponseClientRedirect(redirect_to_login(page).url if page else response["Location"])
        return response
