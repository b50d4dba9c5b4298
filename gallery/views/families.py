from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery.forms import DefaultCountryForm, FamilyForm, MemberAddForm
from gallery.selectors import family_get, family_is_admin, family_list, family_members, family_status_counts
from gallery.services import family_create, family_default_country_set, family_member_add, membership_remove


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
            messages.success(request, f"Created the family “{family}”. You are its admin.")
            return redirect(family)
    return render(request, "gallery/families.html", {"families": family_list(user=request.user), "form": form})


@require_GET
@login_required
def family_detail(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    return render(request, "gallery/family_detail.html", _context(request, family, MemberAddForm()))


def _context(request, family, form, country_form=None):
    return {
        "country_form": country_form or DefaultCountryForm(initial={"default_country": family.default_country}),
        "family": family,
        "members": family_members(family=family),
        "is_admin": family_is_admin(user=request.user, family=family),
        "status_counts": family_status_counts(family=family),
        "form": form,
    }


def _admin_family(request: HttpRequest, family_id: int):
    family = family_get(user=request.user, family_id=family_id)
    if not family_is_admin(user=request.user, family=family):
        # Members may see the family page, but only admins change who is in it.
        raise Http404("Only family admins can change members.")
    return family


@require_POST
@login_required
def member_add(request: HttpRequest, family_id: int) -> HttpResponse:
    family = _admin_family(request, family_id)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = family_member_add(family=family, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{membership.user} is now {membership.get_role_display().lower()} of {family}.")
            return redirect(family)
    return render(request, "gallery/family_detail.html", _context(request, family, form), status=422)


@require_POST
@login_required
def default_country_set(request: HttpRequest, family_id: int) -> HttpResponse:
    family = _admin_family(request, family_id)
    form = DefaultCountryForm(request.POST)
    if form.is_valid():
        family_default_country_set(family=family, country_code=form.cleaned_data["default_country"])
        messages.success(request, f"Saved the default country of {family}.")
        return redirect(family)
    return render(request, "gallery/family_detail.html", _context(request, family, MemberAddForm(), form), status=422)


@require_POST
@login_required
def member_remove(request: HttpRequest, family_id: int, user_id: int) -> HttpResponse:
    family = _admin_family(request, family_id)
    user = get_user_model().objects.filter(pk=user_id, memberships__family=family).first()
    if user is None:
        raise Http404("No such member.")
    try:
        membership_remove(family=family, user=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed {user} from {family}.")
    if user == request.user:
        return redirect("gallery:families")
    return redirect(family)
