"""Accounts: Django's user admin, holding the rule that every family keeps an admin who can sign in."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect

from gallery.account_services import user_active_set
from gallery.admin_scope import FamilyScopedAdmin, people_of
from gallery.services import users_activate_problems, users_deactivate_problems, users_delete, users_delete_problems


User = get_user_model()


class SaveRefused(Exception):
    """A change of an account refused by its service at the save: nothing of that save is kept."""


admin.site.unregister(User)  # replaced by the one below


class UserChangeKeepingAdminsForm(UserChangeForm):
    """Django's user form, except that an account is not made inactive while it is the last admin of a family others
    stay in (users_deactivate_problems): it could no longer sign in, and the others could never be administered; nor
    made active again in a family none of whose admins can sign in (users_activate_problems), for the same reason."""

    def clean(self):
        cleaned = super().clean()
        if "is_active" in self.changed_data:
            # Either way through the one rule of who administers a family: made inactive, the last admin who can sign in
            # of a family others stay in; made active again, someone in a family none of whose admins can sign in.
            check = users_activate_problems if cleaned.get("is_active") else users_deactivate_problems
            if problems := check(users=[self.instance]):
                self.add_error("is_active", problems)
        return cleaned


@admin.register(User)
class FamilyAwareUserAdmin(FamilyScopedAdmin, UserAdmin):
    """Django's user admin, except that an account can't be deleted while it is some family's only admin.

    Staff without superuser see the people of their own families, and change no account here: passwords are
    set by their owner, or by a family admin on the family page under the family rule."""

    change_roles = ()  # as scope_q says: no account is changed here but by superusers
    form = UserChangeKeepingAdminsForm

    def scope_q(self, request, *, changing: bool = False) -> Q:
        return Q(pk__in=[]) if changing else Q(pk__in=people_of(request.user).values("pk"))

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def user_change_password(self, request, id, form_url=""):
        """Django's page, and then, as when a family admin sets a member's password (member_password_set), the
        account's API tokens stop working: sessions end by Django's session hash, tokens here."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            from gallery.tokens import api_tokens_revoke_all

            if user := User.objects.filter(pk=id).first():
                if revoked := api_tokens_revoke_all(user=user):
                    self.message_user(request, f"Their {revoked} API token(s) stopped working too.", messages.INFO)
        return response

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data:
            # Through the one service (checked again under the families' locks; made inactive, their links
            # withdrawn). The form's check said it first, holding the account's families until the page's transaction
            # ends; should it have joined another since (a link opened meanwhile), the whole save is refused
            # (changeform_view): the other fields typed with it are not half kept behind a success line.
            try:
                user_active_set(user=obj, active=obj.is_active)
            except ValidationError as exc:
                raise SaveRefused(f"Nothing was saved: {obj} was not made {'active' if obj.is_active else 'inactive'}: "
                                  + " ".join(exc.messages)) from exc
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Django's change page, except that a save refused at its end (SaveRefused) is rolled back whole (Django's
        changeform_view runs in an atomic block, which the exception leaves) and said alone, back on the account's
        page, never beside Django's "changed successfully"."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SaveRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # "Protected" is how the admin already says "this deletion can't happen" on both delete pages.
        return deleted, counts, perms_needed, [*protected, *users_delete_problems(users=objs)]

    def delete_model(self, request, obj):
        self.delete_queryset(request, User.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        try:
            users_delete(users=queryset)
        except ValidationError as exc:  # an admin was demoted between the confirmation and this
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
