"""The Django admin site: every model admin not marked `family_scoped` is for superusers only (see
gallery/admin_scope.py), including the ones other apps register (groups, API tokens, the task queue)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect


class ListInputChecked:
    """What a list of the admin reads from the request, checked where Django leaves a 500 (every registered admin).

    An action's selected rows are ids: values that are no id of the model (not a number, "１", past bigint) select
    nothing, as a missing row would (Django filtered the list by them as they came). A filter Django passes but
    that fails as the list is read is one the admin can't apply (?e=1), as Django answers the filters it refuses
    itself: a date field's year out of the calendar (`taken_at__year=0`: Python can't make its bounds), a range
    (`id__range=1`), a regular expression PostgreSQL refuses (`name__regex=(`). Each was a 500."""

    def get_changelist_instance(self, request):
        from django.contrib.admin.options import IncorrectLookupParameters
        from django.db import DataError, transaction

        for key, values in request.GET.lists():
            if key.endswith(("__year", "__iso_year")) and not all(_calendar_year(value) for value in values):
                raise IncorrectLookupParameters(f"{key}: no year of the calendar")
            if key.endswith("__range"):  # read as one text, never two bounds; "1" failed as the list was read
                raise IncorrectLookupParameters(f"{key}: no range filters here")
        if not any(key.endswith(("__regex", "__iregex")) for key in request.GET):
            return super().get_changelist_instance(request)
        try:
            with transaction.atomic():  # the list counts its rows here: a refused pattern rolls back this alone
                return super().get_changelist_instance(request)
        except DataError as exc:  # "invalid regular expression"
            raise IncorrectLookupParameters(str(exc)) from exc

    def response_action(self, request, queryset):
        from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
        from django.db import models

        from gallery.text import id_from_text

        if isinstance(self.model._meta.pk, models.IntegerField) and ACTION_CHECKBOX_NAME in request.POST:
            request.POST = request.POST.copy()
            request.POST.setlist(ACTION_CHECKBOX_NAME, [str(pk) for value in request.POST.getlist(ACTION_CHECKBOX_NAME)
                                                        if (pk := id_from_text(value)) is not None])
        return super().response_action(request, queryset)


def _calendar_year(value: str) -> bool:
    from gallery.text import id_from_text

    year = id_from_text(value.strip())
    return year is not None and year <= 9999


class MediaSearchAdminSite(admin.AdminSite):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from gallery.forms import AdminSignInForm  # made in AdminConfig.ready(): the forms need the apps loaded

        self.login_form = AdminSignInForm

    def password_change(self, request, extra_context=None):
        """The site's own page (gallery's CheckedPasswordChangeView), whose current password counts towards the
        sign-in lockout; the admin's checked it outside."""
        return redirect("password_change")

    def register(self, model_or_iterable, admin_class=None, **options):
        from gallery.admin_scope import superuser_only

        admin_class = admin_class or admin.ModelAdmin
        if not getattr(admin_class, "family_scoped", False):
            admin_class = superuser_only(admin_class)
        if not issubclass(admin_class, ListInputChecked):
            admin_class = type(admin_class.__name__, (ListInputChecked, admin_class),
                               {"__module__": admin_class.__module__})
        return super().register(model_or_iterable, admin_class, **options)


class MediaSearchAdminConfig(AdminConfig):
    """Django's admin app with our site as `admin.site` (what `@admin.register` and third-party apps use)."""

    default_site = "mediasearch.admin_site.MediaSearchAdminSite"
