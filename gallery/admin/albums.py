"""Albums: renamed, described and deleted as on the gallery's pages (gallery.album_services), their photos shown and
never changed here (a photo goes into an album on the gallery's pages, which keep another family's out); their share
links listed with their state and withdrawn as on the album's share page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.http import HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html

from gallery import smart_albums
from gallery.admin.records import ReadOnlyModelAdmin
from gallery.admin_scope import FamilyScopedAdmin
from gallery.album_selectors import albums_manageable, share_counts
from gallery.album_services import (
    album_delete_by_site_admin, album_edit_check, album_edit_version, album_update_by_site_admin,
    share_revoke_by_site_admin,
)
from gallery.models import Album, AlbumShare


class AlbumForm(forms.ModelForm):
    """An album's name and description, checked as the album's page checks a rename (album_edit_check: its rules of
    names, and no save over someone else's rename made since the form was drawn) so that what it refuses is this
    form's error, saying why; AlbumAdmin.save_model hands them to the service."""

    # What the form showed (album_edit_version), as the album's page carries it.
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    class Meta:
        model = Album
        fields = ["name", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen"].initial = album_edit_version(self.instance)

    def clean(self):
        cleaned = super().clean()
        if "name" not in cleaned or "description" not in cleaned:
            return cleaned  # (a field refused already says why)
        try:
            # Locked until the admin's save ends (the change view is one transaction): no rename lands in between.
            cleaned["name"], cleaned["description"] = album_edit_check(
                album=self.instance, name=cleaned["name"], description=cleaned["description"],
                seen=cleaned.get("seen", ""))
        except ValidationError as exc:
            if getattr(exc, "code", None) == "edit_conflict":  # seen now: the next save is theirs to make
                self.data = self.data.copy()
                self.data["seen"] = album_edit_version(self.instance)
            raise forms.ValidationError(exc.error_dict if hasattr(exc, "error_dict") else exc.messages) from exc
        return cleaned


@admin.register(Album)
class AlbumAdmin(FamilyScopedAdmin):
    """Every album of the user's families: listed, searched by name, filtered by family and kind, renamed and deleted
    by whoever may on the gallery's pages (the album's creator or a family admin; superusers, any)."""

    form = AlbumForm
    list_display = ["album_name", "family", "kind", "photo_count", "created_by", "created_at", "updated_at"]
    list_filter = ["family", "kind"]
    list_select_related = ["family", "created_by"]
    search_fields = ["name"]
    readonly_fields = ["family", "kind", "searches_for", "photos_shown", "created_by", "created_at", "updated_at"]

    def scope_q(self, request, *, changing: bool = False) -> Q:
        """Seen by its family's members; changed (renamed, deleted) as on the gallery's pages (albums_manageable): by
        a family admin, or by the member who made it."""
        seen = super().scope_q(request)
        return seen & Q(pk__in=albums_manageable(user=request.user).values("pk")) if changing else seen

    def get_queryset(self, request):
        # Each album's photos out of the trash, counted in the list's one query (a smart album's are its search's).
        return super().get_queryset(request).annotate(
            live_photo_count=Count("entries", filter=Q(entries__photo__trashed_at__isnull=True)))

    def get_fields(self, request, obj=None):
        fields = ["name", "description", "seen", *self.readonly_fields]
        if obj is None or not obj.is_smart:
            fields.remove("searches_for")
        if not self.has_change_permission(request, obj):
            fields.remove("seen")  # (what a rename form carries: shown view only, a row "Seen: None")
        return fields

    def has_add_permission(self, request) -> bool:
        return False  # made on the gallery's pages, by a member, in one of their families

    # By name whatever its letter case, as the list's own order (Album.Meta): the database's put "Zoo" before "apple".
    @admin.display(description="name", ordering=Lower("name"))
    def album_name(self, album: Album) -> str:
        return album.name

    @admin.display(description="photos", ordering="live_photo_count")
    def photo_count(self, album: Album) -> int | str:
        return "from its search" if album.is_smart else album.live_photo_count

    @admin.display(description="searches for")
    def searches_for(self, album: Album) -> str:
        try:
            return smart_albums.engine().describe(album=album)
        except ValidationError as exc:  # (no search app: said, not a 500)
            return " ".join(exc.messages)

    @admin.display(description="photos")
    def photos_shown(self, album: Album):
        """Read-only: photos go in and out on the album's page in the gallery (for its family's members)."""
        shown = ("Its photos come from its search" if album.is_smart else
                 f"{album.live_photo_count} photo{pluralize(album.live_photo_count)}")
        return format_html('{}: see them, add or take them out on <a href="{}">the album\'s page</a> (for its '
                           "family's members).", shown, album.get_absolute_url())

    def save_model(self, request, obj, form, change):
        # Through the service, as a rename on the album's page: the same rules, whoever renames it here.
        album_update_by_site_admin(user=request.user, album=obj, name=form.cleaned_data["name"],
                                   description=form.cleaned_data["description"], seen=form.cleaned_data["seen"])

    def get_deleted_objects(self, objs, request):
        """The delete pages' list: each album, saying its photos stay in the family, and how many of its share links
        stop working and how many had ended already.
        Django's listed every photo's entry of each album ("Album photo: photo 17 in album 3 at 1"), read as the photos
        going. A selection holding an album the user may not delete (another member's, in a family they don't
        administer) is refused whole ("protected"), as Django's was."""
        albums = list(objs)
        if not albums:
            return [], {}, set(), []
        counted = {album.pk: album for album in self.get_queryset(request).filter(pk__in=[album.pk for album in albums])}
        listed = [format_html('<a href="{}">{}</a> ({}; {})', reverse("admin:gallery_album_change", args=[album.pk]),
                              album, album.family, self._photos_stay(counted.get(album.pk, album)))
                  for album in albums]
        shares = self._share_links_counted(albums)
        model_count = {"albums": len(albums), **({"share links": shares} if shares else {})}
        protected = []
        if not request.user.is_superuser:
            allowed = set(Album.objects.filter(self.scope_q(request, changing=True), pk__in=[a.pk for a in albums])
                          .values_list("pk", flat=True))
            protected = [format_html("{} ({}): only its creator or an admin of its family deletes it", album,
                                     album.family) for album in albums if album.pk not in allowed]
        return listed, model_count, set(), protected

    @staticmethod
    def _share_links_counted(albums: list[Album]) -> str:
        """ "2 working, 3 ended" ("" for none): the links that stop working apart from those over already (withdrawn,
        expired, ended with their maker), which a bare count read as working."""
        working, ended = share_counts(albums=albums)
        return ", ".join(part for part in (f"{working} working" if working else "", f"{ended} ended" if ended else "")
                         if part)

    @staticmethod
    def _photos_stay(album: Album) -> str:
        if album.is_smart:
            return "a smart album: its photos stay in the family"
        count = getattr(album, "live_photo_count", None)
        return "its photos stay in the family" if count is None else (
            f"its {count} photo{pluralize(count)} stay{pluralize(count, 's,')} in the family")

    # Through the service: the album goes, its photos stay in the family, its share links stop working.
    def delete_model(self, request, obj):
        album_delete_by_site_admin(user=request.user, album=obj)  # (ValidationError: gone meanwhile, delete_view)

    def delete_view(self, request, object_id, extra_context=None):
        """An album deleted by someone else since the delete page read it is said so, as a warning alone: Django's
        "deleted successfully" and the history's "Deleted" were not this user's doing (delete_model's refusal rolls
        back the view's transaction, the history's line with it)."""
        album = Album.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, f"“{album}”: {' '.join(exc.messages)}", messages.WARNING)
            return HttpResponseRedirect(add_preserved_filters(
                {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
                reverse("admin:gallery_album_changelist")))

    def delete_queryset(self, request, queryset):
        for album in queryset.select_related("family"):
            try:
                album_delete_by_site_admin(user=request.user, album=album)
            except ValidationError as exc:  # deleted meanwhile, by someone else
                self.message_user(request, f"“{album}”: {' '.join(exc.messages)}", messages.WARNING)


class ShareStateFilter(admin.SimpleListFilter):
    """Working links apart from those over (withdrawn, expired, ended with their maker): AlbumShareQuerySet.working,
    the rule of AlbumShare.state and of the album delete page's count."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("working", "Working"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        if self.value() == "working":
            return queryset.working()
        if self.value() == "ended":
            return queryset.ended()
        return queryset


@admin.register(AlbumShare)
class AlbumShareAdmin(FamilyScopedAdmin, ReadOnlyModelAdmin):
    """Album share links, seen by whoever manages the album on the gallery's pages (its creator while in the family, an
    admin of its family: albums_manageable; superusers, every one), with their state, and withdrawn by the action
    (share_revoke_by_site_admin, as the album's share page withdraws them). Made on that page; only the hash of a link's token is stored, and
    a password's, so nothing here opens a link."""

    family_path = "album__family"
    # The state beside the album (the one a person looks for), the rest after it: at 1280 px the list's last columns
    # scroll out of sight.
    list_display = ["album_name", "state_shown", "note", "maker", "expires_at", "created_at", "family",
                    "password_shown", "allow_download"]
    list_filter = [ShareStateFilter, ("album__family", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["album__family", "created_by"]
    search_fields = ["album__name", "note"]
    fields = readonly_fields = ["album_link", "family", "note", "maker", "created_at", "expires_at", "state_shown",
                                "withdrawn_at", "password_shown", "allow_download"]
    actions = ["withdraw_selected"]

    def scope_q(self, request, *, changing: bool = False) -> Q:
        # Who sees the links is who makes and withdraws them (the notes say who each is for): the album's managers.
        return super().scope_q(request) & Q(album__in=albums_manageable(user=request.user).values("pk"))

    def get_queryset(self, request):
        return super().get_queryset(request).with_maker_vouching()  # the state, as on the album's share page

    def has_withdraw_permission(self, request) -> bool:
        """The action's right: the model's change permission, and a family where the user manages albums."""
        codename = get_permission_codename("change", self.opts)
        return (request.user.has_perm(f"{self.opts.app_label}.{codename}")
                and self._in_scope(request, None, changing=True))

    @admin.display(description="album", ordering=Lower("album__name"))
    def album_name(self, share: AlbumShare) -> str:
        return share.album.name

    @admin.display(description="album")
    def album_link(self, share: AlbumShare):
        return format_html('<a href="{}">{}</a> (its links on <a href="{}">its share page</a>, for its family\'s '
                           "members)",
                           reverse("admin:gallery_album_change", args=[share.album_id]), share.album,
                           reverse("gallery:album_shares", args=[share.album_id]))

    @admin.display(description="family", ordering="album__family__name")
    def family(self, share: AlbumShare):
        return share.album.family

    @admin.display(description="made by", ordering="created_by__username")
    def maker(self, share: AlbumShare) -> str:
        return share.created_by.username if share.created_by else "(deleted user)"

    @admin.display(description="state")
    def state_shown(self, share: AlbumShare) -> str:
        return share.state_label  # (the album's share page's words)

    @admin.display(description="withdrawn at")
    def withdrawn_at(self, share: AlbumShare) -> str:
        # (the pages' word, "Withdraw", for revoked_at; a method's None read "None", its datetime unlocalised)
        return localize(timezone.localtime(share.revoked_at)) if share.revoked_at else "-"

    @admin.display(description="password", boolean=True)
    def password_shown(self, share: AlbumShare) -> bool:
        return share.has_password

    @admin.action(description="Withdraw the selected links (they stop working at once)", permissions=["withdraw"])
    def withdraw_selected(self, request, queryset):
        """Each link of the selection in reach (the list's scope), withdrawn through the service; one over already
        (withdrawn, expired) is left as it is, and said."""
        withdrawn = over = 0
        for share in queryset.select_related("album__family"):
            if share.state() != AlbumShare.State.ACTIVE and not share.ended_by_its_maker:
                over += 1
                continue
            try:
                share_revoke_by_site_admin(user=request.user, share=share)
            except PermissionDenied as exc:  # no longer theirs to manage since the list was drawn
                self.message_user(request, f"“{share.album}”: {exc}", messages.WARNING)
                continue
            except ValidationError as exc:  # gone with its album, deleted meanwhile
                self.message_user(request, f"“{share.album}”: {' '.join(exc.messages)}", messages.WARNING)
                continue
            self.log_change(request, share, "Withdrawn.")  # (its History page: who withdrew it, and when)
            withdrawn += 1
        self.message_user(request, f"Withdrew {withdrawn} link{pluralize(withdrawn)}.", messages.SUCCESS)
        if over:
            self.message_user(request, f"{over} link{pluralize(over)} had ended already (withdrawn or expired): left "
                              f"as {pluralize(over, 'it was,they were')}.", messages.INFO)
