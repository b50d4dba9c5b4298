from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery.account_selectors import family_invites, password_settable_users
from gallery.forms import DefaultCountryForm, FamilyForm, InviteForm, MemberRoleForm
from gallery.models import Membership
from gallery.selectors import (
    family_get, family_is_admin, family_list, family_members, family_status_counts, family_trash_count,
)
from gallery.services import (
    family_create, family_default_country_set, family_delete_by_member, family_rename, membership_add,
    membership_remove,
)
from gallery.text import text_isolated


@require_http_methods(["GET", "POST"])
@login_required
def family_index(request: HttpRequest) -> HttpResponse:
    form = FamilyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            family = family_create(name=form.cleaned_data["name"], admin=request.user)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Created the family “{text_isolated(family)}”. You are its admin.")
            return redirect(family)
    return render(request, "gallery/families.html", {"families": family_list(user=request.user, with_counts=True), "form": form})


@require_GET
@login_required
def family_detail(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    return render(request, "gallery/family_detail.html", family_context(request, family))


def family_context(request: HttpRequest, family, *, country_form=None, invite_form=None, new_invite_link=None,
                   name_form=None) -> dict:
    """Everything the family page shows; admins also get the invitation links and the member controls."""
    is_admin = family_is_admin(user=request.user, family=family)
    context = {
        "country_form": country_form or DefaultCountryForm(initial={"default_country": family.default_country}),
        "family": family,
        "members": family_members(family=family),
        "is_admin": is_admin,
        "status_counts": family_status_counts(family=family),
        "roles": MemberRoleForm.base_fields["role"].choices,
    }
    if is_admin:
        context |= {
            "name_form": name_form or FamilyForm(initial={"name": family.name}, auto_id="id_family_%s"),
            "invite_form": invite_form or InviteForm(),
            "invite_days": settings.INVITE_DAYS,
            "invites": family_invites(family=family),
            "new_invite_link": new_invite_link,
            "password_settable": set(password_settable_users(actor=request.user)
                                     .filter(memberships__family=family).values_list("pk", flat=True)),
        }
        if len(context["members"]) == 1:  # they alone: they may delete it (family_delete_by_member)
            context["trash_count"] = family_trash_count(family=family)
            context["photo_count"] = sum(context["status_counts"].values())
    return context


def admin_family(request: HttpRequest, family_id: int):
    family = family_get(user=request.user, family_id=family_id)
    if not family_is_admin(user=request.user, family=family):
        # Members may see the family page, but only admins change who is in it.
        raise no_longer_admin(family)
    return family


def no_longer_admin(family) -> PermissionDenied:
    """What a member of `family` gets for an admin's form: most likely they had it open when another admin made them
    a member. Told so (the family is theirs to know of), not shown a 404 as if it were gone."""
    return PermissionDenied(f"You are no longer an admin of {family}, so nothing was changed: only its admins can "
                            "do this.")


def family_member(family, user_id: int):
    user = get_user_model().objects.filter(pk=user_id, memberships__family=family).first()
    if user is None:
        raise Http404("No such member.")
    return user


@require_POST
@login_required
def member_role(request: HttpRequest, family_id: int, user_id: int) -> HttpResponse:
    family = admin_family(request, family_id)
    user = family_member(family, user_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: admin or member.")
        return redirect(family)
    try:
        membership = membership_add(family=family, user=user, role=form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        role = "an admin" if membership.role == Membership.Role.ADMIN else "a member"
        messages.success(request, f"{text_isolated(user)} is now {role} of {text_isolated(family)}.")
    return redirect(family)


@require_POST
@login_required
def family_name_set(request: HttpRequest, family_id: int) -> HttpResponse:
    family = admin_family(request, family_id)
    form = FamilyForm(request.POST, auto_id="id_family_%s")
    if form.is_valid():
        try:
            family_rename(family=family, name=form.cleaned_data["name"], user=request.user)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Renamed the family “{text_isolated(family)}”.")
            return redirect(family)
    return render(request, "gallery/family_detail.html", family_context(request, family, name_form=form), status=422)


@require_POST
@login_required
def default_country_set(request: HttpRequest, family_id: int) -> HttpResponse:
    family = admin_family(request, family_id)
    form = DefaultCountryForm(request.POST)
    if form.is_valid():
        family_default_country_set(family=family, country_code=form.cleaned_data["default_country"])
        messages.success(request, f"Saved the default country of {text_isolated(family)}.")
        return redirect(family)
    return render(request, "gallery/family_detail.html", family_context(request, family, country_form=form), status=422)


@require_POST
@login_required
def member_remove(request: HttpRequest, family_id: int, user_id: int) -> HttpResponse:
    family = admin_family(request, family_id)
    user = family_member(family, user_id)
    try:
        invites, shares = membership_remove(family=family, user=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(family)  # still in it, whoever it was
    if user == request.user:  # an admin taking themself out with their own row's "Remove" leaves, and is told so
        messages.success(request, _left_message(family, invites=invites, shares=shares))
        return redirect("gallery:families")
    made = [f"{n} {kind} link{'s' if n != 1 else ''}" for n, kind in ((invites, "invitation"), (shares, "share")) if n]
    links = f" (and withdrew the {' and the '.join(made)} they had made)" if made else ""
    messages.success(request, f"Removed {text_isolated(user)} from {text_isolated(family)}{links}.")
    return redirect(family)


def _left_message(family, *, invites: int, shares: int) -> str:
    """What someone who took themself out of `family` is told, and how many of the links they made stopped."""
    made = [f"the {n} {kind} link{'s' if n != 1 else ''} you made {what}"
            for n, kind, what in ((invites, "invitation", "for it"), (shares, "share", "of its albums")) if n]
    one = invites + shares == 1
    return (f"You left {text_isolated(family)}. The photos you added stay with it"
            + (f"; {' and '.join(made)} no longer work{'s' if one else ''}." if made else "."))


@require_POST
@login_required
def family_leave(request: HttpRequest, family_id: int) -> HttpResponse:
    """A member takes themself out of a family (their photos stay the family's); the last admin is refused."""
    family = family_get(user=request.user, family_id=family_id)
    try:
        invites, shares = membership_remove(family=family, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(family)
    messages.success(request, _left_message(family, invites=invites, shares=shares))
    return redirect("gallery:families")


@require_POST
@login_required
def family_delete_view(request: HttpRequest, family_id: int) -> HttpResponse:
    """The family's only member deletes it, with its photos, typing its name to confirm (family_delete_by_member)."""
    family = family_get(user=request.user, family_id=family_id)
    name = family.name
    try:
        count = family_delete_by_member(family=family, user=request.user, name=request.POST.get("name", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(family)
    photos = f" and its {count:,} photo{'s' if count != 1 else ''}" if count else ""
    messages.success(request, f"Deleting the family {text_isolated(name)}{photos}: it is gone from your pages now, and "
                              f"{'its photos and their files are' if count else 'what was in it is'} being deleted in "
                              "the background.")
    return redirect("gallery:families")
