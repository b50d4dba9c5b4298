from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from gallery.forms import FirstAdminForm
from gallery.services import family_create, user_create

# How long after setup a second submit of its form under the first administrator's name is taken for a double click.
SETUP_DOUBLE_SUBMIT = timedelta(minutes=10)


@require_http_methods(["GET", "POST"])
def first_run(request: HttpRequest) -> HttpResponse:
    """One-time page that creates the first administrator (and their family). Gone once anyone exists."""
    if get_user_model().objects.exists():
        return _after_setup(request, late=request.method == "POST")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                # Two browsers submitting at once must not both become "the first" administrator.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('mediasearch-first-run'))")
                if get_user_model().objects.exists():
                    return _after_setup(request, late=True)
                user = user_create(
                    username=data["username"], email=data["email"], password=data["password"], is_superuser=True
                )
                family_create(name=data["family_name"], admin=user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("gallery:timeline")
    return render(request, "gallery/first_run.html", {"form": form})


def _after_setup(request: HttpRequest, *, late: bool = False) -> HttpResponse:
    """Setup is done: a signed-in person goes to their photos, anyone else to the sign-in page. A form submitted
    after someone else finished it (two browsers at once, a page left open) made nothing: say so, or its person
    would try the username and password they just typed."""
    if late and not request.user.is_authenticated:
        typed = request.POST.get("username", "").strip()[:150]
        # The first administrator's own name, just made: most likely the same form sent twice (a double click), whose
        # first answer made it and was dropped; they sign in as usual (no password is tried here, outside the sign-in
        # lockout). Any other name is answered alike, whether an account has it or not: no stranger learns which do.
        first = get_user_model().objects.order_by("date_joined", "pk").first()
        double_click = (first is not None and typed.casefold() == first.username.casefold()
                        and timezone.now() - first.date_joined < SETUP_DOUBLE_SUBMIT)
        if not typed or not double_click:
            messages.warning(request, "The first administrator was created meanwhile, so no account was made"
                                      + (f" for “{typed}”" if typed else "") + ". Sign in with that account, or "
                                      "ask whoever made it to invite you.")
    return redirect("gallery:timeline" if request.user.is_authenticated else "login")
