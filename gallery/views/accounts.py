"""Invitation links (made and revoked on the family page, opened by the invitee), passwords a family admin sets
for a member, and one's own API tokens. Changing one's own password is Django's view (mediasearch/urls.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import LogoutView, PasswordChangeView
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery.account_selectors import invite_of_token, member_password_problem, username_taken, username_taken_error
from gallery.account_services import (
    FAMILY_DELETED,
    UNKNOWN,
    InviteUnusable,
    invite_accept_existing,
    invite_accept_new_account,
    invite_create,
    invite_problem,
    invite_revoke,
    member_password_set,
)
from gallery.forms import CheckedPasswordChangeForm, InviteForm, InviteSignupForm
from gallery.models import Invite, Membership
from gallery.text import text_isolated
from gallery.tokens import api_token_revoke, api_tokens_of
from gallery.views.families import admin_family, family_context, family_member


@require_POST
@login_required
@never_cache
def invite_new(request: HttpRequest, family_id: int) -> HttpResponse:
    """Make a link and show it in this response only: nothing but its hash is kept, so a reload can't show it."""
    family = admin_family(request, family_id)
    form = InviteForm(request.POST)
    link = None
    if form.is_valid():
        new = invite_create(family=family, created_by=request.user, **form.cleaned_data)
        link = request.build_absolute_uri(reverse("invite", args=[new.token]))
        form = InviteForm()
    context = family_context(request, family, invite_form=form, new_invite_link=link)
    return render(request, "gallery/family_detail.html", context, status=201 if link else 422)


@require_POST
@login_required
def invite_withdraw(request: HttpRequest, family_id: int, invite_id: int) -> HttpResponse:
    family = admin_family(request, family_id)
    invite = Invite.objects.filter(pk=invite_id, family=family).first()
    if invite is None:
        raise Http404("No such invitation.")
    try:
        invite_revoke(invite=invite)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The link is withdrawn: it no longer works.")
    return redirect(family)


@require_http_methods(["GET", "POST"])
@never_cache
def invite_open(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page: sign up (or, signed in, join with this account) into the family of the link."""
    invite = invite_of_token(token).first()
    signed_in = request.user.is_authenticated
    if problem := invite_problem(invite, token=token):
        if signed_in and invite and Membership.objects.filter(family=invite.family, user=request.user).exists():
            # The invitation in their mail, opened again to reach the gallery: they need no new link.
            messages.info(request, f"You are in {text_isolated(invite.family)} already: this invitation "
                                   f"{_UNUSABLE_WORDS.get(problem.state, 'no longer works')}.")
            return redirect(invite.family)
        return _invite_gone(request, problem)
    form = None if signed_in else InviteSignupForm(request.POST or None)
    if request.method == "POST":
        try:
            if signed_in:
                membership = invite_accept_existing(token=token, user=request.user)
            elif form.is_valid():
                membership = _accept_with_new_account(request, token, form)
            else:
                membership = None
                _say_if_username_taken(form)  # with the other mistakes, not after they are fixed
        except InviteUnusable as exc:  # used or withdrawn while the page was open
            return _invite_gone(request, exc)
        except ValidationError as exc:
            # Not theirs to fix: the invite's page says why, the link unused.
            if form is None and exc.code in ("same_name", "no_admin"):
                messages.error(request, " ".join(exc.messages))
                return render(request, "gallery/invite.html", {"invite": invite, "form": None}, status=409)
            if form is None:
                messages.info(request, " ".join(exc.messages))
                return redirect(invite.family)
            form.add_error("username" if getattr(exc, "code", None) == "username_taken" else None, exc)
        else:
            if membership is not None:
                messages.success(request, f"Welcome to {text_isolated(membership.family)}! You are {_role_words(membership)}.")
                return redirect(membership.family)
    already = signed_in and Membership.objects.filter(family=invite.family, user=request.user).exists()
    status = 422 if form is not None and form.is_bound else 200
    return render(request, "gallery/invite.html", {"invite": invite, "form": form, "already_member": already},
                  status=status)


def _accept_with_new_account(request: HttpRequest, token: str, form: InviteSignupForm) -> Membership:
    data = form.cleaned_data
    membership = invite_accept_new_account(token=token, username=data["username"], password=data["password"],
                                           email=data["email"])
    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return membership


def _say_if_username_taken(form: InviteSignupForm) -> None:
    name = username_taken(form.cleaned_data.get("username") or "")
    if name:
        form.add_error("username", username_taken_error(name))


def _role_words(membership: Membership) -> str:
    return "one of its admins" if membership.is_admin else "a member"


_UNUSABLE_WORDS = {Invite.State.USED: "was used", Invite.State.REVOKED: "was withdrawn",
                   Invite.State.EXPIRED: "has expired"}


def _invite_gone(request: HttpRequest, problem: InviteUnusable) -> HttpResponse:
    status = 404 if problem.state == UNKNOWN else 410
    # Signing in leads somewhere only from a link of a family that still is: back to the link, which takes a member
    # of it to its page. A made-up link, or one whose family was deleted, has nothing to sign in to.
    sign_in_helps = problem.state not in (UNKNOWN, FAMILY_DELETED)
    return render(request, "gallery/invite.html", {"problem": " ".join(problem.messages),
                                                   "sign_in_helps": sign_in_helps}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def member_password(request: HttpRequest, family_id: int, user_id: int) -> HttpResponse:
    family = admin_family(request, family_id)
    member = family_member(family, user_id)
    context = {"family": family, "member": member}
    if problem := member_password_problem(actor=request.user, user=member):
        return render(request, "gallery/member_password.html", context | {"problem": problem}, status=403)
    form = SetPasswordForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member_password_set(actor=request.user, user=member, password=form.cleaned_data["new_password1"])
        except PermissionDenied as exc:  # they joined another family meanwhile, or you are no longer admin
            return render(request, "gallery/member_password.html", context | {"problem": str(exc)}, status=403)
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        else:
            messages.success(request, f"New password set for {text_isolated(member)}. Tell them, and ask them to change it "
                                      "from their account menu.")
            return redirect(family)
    return render(request, "gallery/member_password.html", context | {"form": form},
                  status=422 if form.is_bound else 200)


@require_GET
@login_required
def api_tokens_page(request: HttpRequest) -> HttpResponse:
    """The signed-in person's API tokens (scripts, apps), each with a Revoke button. Keys are never shown again."""
    return render(request, "accounts/api_tokens.html",
                  {"tokens": api_tokens_of(user=request.user), "idle_days": settings.API_TOKEN_IDLE_DAYS})


@require_POST
@login_required
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    api_token_revoke(user=request.user, token_id=token_id)  # another person's token: 404
    messages.success(request, "The token is revoked: it no longer works.")
    return redirect("api_tokens_page")


class CheckedPasswordChangeView(PasswordChangeView):
    """Changing one's own password, the current one checked within the sign-in lockout (CheckedPasswordChangeForm)."""

    form_class = CheckedPasswordChangeForm
    template_name = "accounts/password_change.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class SignOutView(LogoutView):
    """Signing out is a POST (the menu's button). The address opened in the browser (typed, bookmarked) shows that
    button instead of an empty 405; opening it signs nobody out, so a link on another site can't."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("login")
        return render(request, "accounts/logout.html")
