from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from gallery.text import API_PREFIX, is_api
from gallery.views import redirect_back

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
            exempt = (setup_url, "/static/", API_PREFIX)
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


def many_fields(limit: int):
    """Let a view's form post up to `limit` fields instead of DATA_UPLOAD_MAX_NUMBER_FIELDS (FormFieldsMiddleware
    reads its body). For a form whose size the member does not choose: a near-duplicate group's ticked photos."""

    def mark(view):
        view.form_max_fields = limit  # kept through require_POST and login_required (functools.wraps copies it)
        return view

    return mark


class FormFieldsMiddleware:
    """A form posting more fields than are read (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1000; a view's own limit, many_fields)
    failed in the CSRF check, which reads the form for its token: a bare 400 page, with no word of why. Placed before
    CsrfViewMiddleware, this reads the form first (a view's urlencoded form up to its own limit) and refuses a form past
    it, changing nothing: the page it came from says why (or the problem bar, for htmx). The API says it in its own
    shape (gallery.apis.exception_handler: its views are exempt from this CSRF check, and read the form themselves).

    The limit stays Django's everywhere else: raised site-wide, any anonymous request could make every view parse that
    many fields before the CSRF check refuses it. The body itself stays held to DATA_UPLOAD_MAX_MEMORY_SIZE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or is_api(request):
            return None
        limit = getattr(view_func, "form_max_fields", None) or settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        try:
            if limit != settings.DATA_UPLOAD_MAX_NUMBER_FIELDS and request.content_type == URLENCODED:
                request.POST = _form_read(request, limit)
            request.POST  # noqa: B018 - read now, where a refusal can still be said
        except TooManyFieldsSent:
            request.POST = QueryDict()  # nothing reads the body again (an error report would fail the same way)
            return _too_many_fields(request, limit)
        return None


URLENCODED = "application/x-www-form-urlencoded"


def _form_read(request, limit: int) -> QueryDict:
    """An urlencoded form as Django reads one (QueryDict), up to `limit` fields."""
    form = QueryDict(mutable=True)
    body = request.body  # held to DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = body.decode("iso-8859-1")  # as QueryDict reads it
    try:
        for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=limit):
            form.appendlist(key, value)
    except ValueError as exc:  # parse_qsl's only complaint without strict_parsing: past max_num_fields
        raise TooManyFieldsSent(f"More than {limit} fields.") from exc
    form._mutable = False  # noqa: SLF001 - what QueryDict(body) leaves: request.POST is read-only
    return form


def _too_many_fields(request, limit: int) -> HttpResponse:
    message = (f"Nothing was done: the form sent more than {limit:,} fields, more than this page reads at once "
               "(too many photos ticked?). Select fewer and try again.")
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")  # site.js shows it
    messages.error(request, message)
    came_from = urlsplit(request.headers.get("Referer", ""))
    back = came_from.path + (f"?{came_from.query}" if came_from.query else "")
    # Back to the page only when it is this site's: no redirect anywhere for a form posted from another site.
    same_site = came_from.netloc == request.get_host() and came_from.scheme == request.scheme
    return redirect_back(request, back if same_site else "", "/")
