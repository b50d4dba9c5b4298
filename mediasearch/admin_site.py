"""The Django admin site: every model admin not marked `family_scoped` is for superusers only (see
gallery/admin_scope.py), including the ones other apps register (groups, API tokens, the task queue)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class SelectedIdsChecked:
    """An action's selected rows as ids: values that are no id of the model (not a number, "１", past bigint) select
    nothing, as a missing row would. Django filters the list by them as they came, and a non-number was a 500."""

    def response_action(self, request, queryset):
        from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
        from django.db import models

        from gallery.text import id_from_text

        if isinstance(self.model._meta.pk, models.IntegerField) and ACTION_CHECKBOX_NAME in request.POST:
            request.POST = request.POST.copy()
            request.POST.setlist(ACTION_CHECKBOX_NAME, [str(pk) for value in request.POST.getlist(ACTION_CHECKBOX_NAME)
                                                        if (pk := id_from_text(value)) is not None])
        return super().response_action(request, queryset)


class MediaSearchAdminSite(admin.AdminSite):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from gallery.forms import AdminSignInForm  # made in AdminConfig.ready(): the forms need the apps loaded

        self.login_form = AdminSignInForm

    def register(self, model_or_iterable, admin_class=None, **options):
        from gallery.admin_scope import superuser_only

        admin_class = admin_class or admin.ModelAdmin
        if not getattr(admin_class, "family_scoped", False):
            admin_class = superuser_only(admin_class)
        if not issubclass(admin_class, SelectedIdsChecked):
            admin_class = type(admin_class.__name__, (SelectedIdsChecked, admin_class),
                               {"__module__": admin_class.__module__})
        return super().register(model_or_iterable, admin_class, **options)


class MediaSearchAdminConfig(AdminConfig):
    """Django's admin app with our site as `admin.site` (what `@admin.register` and third-party apps use)."""

    default_site = "mediasearch.admin_site.MediaSearchAdminSite"
