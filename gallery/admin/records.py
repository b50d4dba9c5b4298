"""What the program keeps and the families look at: queued file removals, deleted photos' bytes, invitation
links, tag suggestions, API tokens."""

from __future__ import annotations

import math

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.html import format_html

from gallery.account_selectors import invites_with_maker_vouching
from gallery.admin_scope import FamilyScopedAdmin
from gallery.models import ApiToken, DeletedPhoto, FileRemoval, Invite, Membership, TagSuggestion
from gallery.suggestions import suggestion_dismiss, suggestions_accept


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """A list kept by the program itself: shown, never added to or edited here; deleting rows only where
    `can_delete` says so."""

    can_delete = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.can_delete and super().has_delete_permission(request, obj)


@admin.register(FileRemoval)
class FileRemovalAdmin(ReadOnlyModelAdmin):
    """Files waiting to be deleted from storage. A row that stays says why; the sweep keeps trying
    (or `manage.py remove_queued_files`). Read-only: deleting a row here would forget the file."""

    list_display = ["storage_name", "created_at", "attempts", "last_attempt_at", "last_error"]
    readonly_fields = list_display


@admin.register(DeletedPhoto)
class DeletedPhotoAdmin(FamilyScopedAdmin):
    """The bytes of photos each family deleted for good: `import_photos` leaves those files out. Deleting a row here
    (a family admin) lets the next import bring that file back."""

    change_roles = (Membership.Role.ADMIN,)
    list_display = ["__str__", "family", "deleted_at"]
    list_filter = [("family", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["family"]
    search_fields = ["sha256"]
    readonly_fields = ["family", "sha256", "deleted_at"]

    def has_add_permission(self, request) -> bool:
        return False  # written when a photo is deleted for good


@admin.register(Invite)
class InviteAdmin(FamilyScopedAdmin):
    """Invitation links, for the record (they are made and withdrawn on the family page). The token is not
    stored, so no link can be read here."""

    change_roles = (Membership.Role.ADMIN,)
    list_display = ["__str__", "family", "role", "state_label", "created_by", "created_at", "expires_at", "used_by"]
    list_filter = ["family", "role"]
    list_select_related = ["family", "created_by", "used_by"]
    fields = readonly_fields = ["family", "role", "note", "created_by", "created_at", "expires_at", "used_at",
                                "used_by", "revoked_at"]

    def scope_q(self, request, *, changing: bool = False) -> Q:
        # Seen only by the family's admins, as on the family page (who is invited, and the notes, are theirs).
        return super().scope_q(request, changing=True)

    def get_queryset(self, request):
        return invites_with_maker_vouching(super().get_queryset(request))  # the state, as on the family page

    @admin.display(description="state")
    def state_label(self, invite: Invite) -> str:
        return invite.state_label

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ProbabilityFilter(admin.SimpleListFilter):
    """The family page's "accept every suggestion above 0.9" in the admin: this filter (with "Open"), "Select all",
    then "Accept the selected suggestions"."""

    title = "probability"
    parameter_name = "probability"

    def lookups(self, request, model_admin):
        return [("0.9", "90% or more"), ("0.7", "70% or more"), ("0.5", "50% or more")]

    def queryset(self, request, queryset):
        try:
            at_least = float(self.value())
        except (TypeError, ValueError):
            return queryset  # none chosen, or an address typed by hand: the whole list
        if not math.isfinite(at_least):
            return queryset  # "nan", "inf" typed: no probability reaches it, yet no number was meant
        return queryset.filter(probability__gte=at_least)


@admin.register(TagSuggestion)
class TagSuggestionAdmin(FamilyScopedAdmin, ReadOnlyModelAdmin):
    """The image model's tag suggestions; accept or dismiss them in bulk. Written by the scoring, decided here,
    on the photo pages, the family page and the API."""

    family_path = "photo__family"
    list_display = ["name", "photo_link", "family", "probability_percent", "state", "model_name", "created_at"]
    list_filter = ["state", ProbabilityFilter, ("photo__family", admin.RelatedOnlyFieldListFilter), "name"]
    search_fields = ["name", "photo__title", "photo__original_filename"]
    list_select_related = ["photo__family"]
    ordering = ["-probability"]
    actions = ["accept_selected", "dismiss_selected"]

    @admin.display(description="photo")
    def photo_link(self, suggestion: TagSuggestion):
        return format_html('<a href="{}">{}</a>', suggestion.photo.get_absolute_url(), suggestion.photo)

    @admin.display(description="family", ordering="photo__family__name")
    def family(self, suggestion: TagSuggestion):
        return suggestion.photo.family

    @admin.display(description="probability", ordering="probability")
    def probability_percent(self, suggestion: TagSuggestion) -> str:
        return f"{suggestion.probability:.0%}"

    @admin.action(description="Accept the selected suggestions (they become tags)")
    def accept_selected(self, request, queryset):
        kept_open: list[str] = []
        count = suggestions_accept(suggestions=queryset, user=request.user, skip_full=True, kept_open=kept_open)
        self.message_user(request, f"Accepted {count} suggestion(s).", messages.SUCCESS)
        for reason in kept_open:
            self.message_user(request, f"{reason} Its suggestions stay open.", messages.WARNING)

    @admin.action(description="Dismiss the selected suggestions")
    def dismiss_selected(self, request, queryset):
        # Each dismissal on its own: one gone since the list was read (a merge, a scoring, its photo trashed: code
        # DELETED), or refused to a staff member removed from its family meanwhile, is named; the others stand.
        done, refused = 0, []
        for suggestion in queryset.filter(state=TagSuggestion.State.OPEN).select_related("photo__family"):
            try:
                suggestion_dismiss(suggestion=suggestion, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                refused.append(f"{suggestion.photo}: {reason}")
                continue
            done += 1
        self.message_user(request, f"Dismissed {done} suggestion(s).", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)


# knox registers its own token model, which KNOX_TOKEN_MODEL replaces with ours: show ours (superusers only, as
# every admin not family-scoped), without the digest; tokens are made through the API, only revoked here.
try:
    from knox.models import AuthToken as KnoxAuthToken

    admin.site.unregister(KnoxAuthToken)
except admin.sites.NotRegistered:
    pass


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "label", "created", "last_used", "expiry"]
    search_fields = ["user__username", "label"]
    list_select_related = ["user"]
    fields = ["user", "label", "created", "last_used", "expiry"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
