"""The Django admin site: every model admin not marked `family_scoped` is for superusers only (see
gallery/admin_scope.py), including the ones other apps register (groups, API tokens, the task queue)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


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
        return super().register(model_or_iterable, admin_class, **options)


class MediaSearchAdminConfig(AdminConfig):
    """Django's admin app with our site as `admin.site` (what `@admin.register` and third-party apps use)."""

    default_site = "mediasearch.admin_site.MediaSearchAdminSite"
