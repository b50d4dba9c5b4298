"""Photos: edit title, description and tags; tag in bulk; move to the trash."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.utils.html import format_html

from gallery.admin_scope import FamilyScopedAdmin
from gallery.forms import DESCRIPTION_MAX_CHARS
from gallery.models import Family, Membership, Photo, PhotoTag, Tag
from gallery.selectors import same_name
from gallery.services import (
    MAX_TAGS, photo_can_delete, photo_edit_check, photo_edit_version, photo_lock, photo_update, photos_tag_add,
    photos_tag_remove,
)
from gallery.text import tag_name_clean
from gallery.trash_services import photos_trash_by_site_admin
from gallery.views.media import admin_thumbnail


TRASHED_LOGGED = "Moved to the trash."  # a photo's history: a change, as it is restorable, not "Deleted"


class TagActionForm(forms.Form):
    tag = forms.CharField(max_length=64, label="Tag")

    def clean_tag(self) -> str:
        # A tag added is named as everywhere (tag_name_clean); one removed may be an old name with a comma in it.
        if self.data.get("action") == "add_tag":
            return tag_name_clean(self.cleaned_data["tag"])
        return self.cleaned_data["tag"]


def _carrying(photos: list[Photo], name: str) -> set[int]:
    """Which of `photos` carry the tag `name` (any case, as the tag actions read it; an added one is cleaned)."""
    return set(PhotoTag.objects.filter(same_name("tag__name", name.strip()),
                                       photo_id__in=[photo.pk for photo in photos]).values_list("photo_id", flat=True))


def _tag_action(modeladmin, request, queryset, *, verb: str, service):
    """Intermediate page asking for the tag name, then applies it to the selected photos."""
    if "apply" in request.POST:
        form = TagActionForm(request.POST)
        if form.is_valid():
            photos = list(queryset.select_related("family"))
            name = form.cleaned_data["tag"]
            before = _carrying(photos, name)
            count = service(photos=photos, name=name, user=request.user)
            # Each photo's history says what the action did to it (not to one that had the tag, or had not).
            changed = _carrying(photos, name) ^ before
            done = f"Added the tag “{name}”." if service is photos_tag_add else f"Took the tag “{name}” off."
            LogEntry.objects.log_actions(user_id=request.user.pk, action_flag=CHANGE, change_message=done,
                                         queryset=[photo for photo in photos if photo.pk in changed])
            modeladmin.message_user(request, f"Tag “{form.cleaned_data['tag']}” {verb} {count} photo(s).", messages.SUCCESS)
            if service is photos_tag_add and count < len(photos):
                modeladmin.message_user(request, f"{len(photos) - count} photo(s) already have {MAX_TAGS} tags, the "
                                                 "most a photo may carry: left as they were.", messages.WARNING)
            return None
    else:
        form = TagActionForm()
    return render(request, "admin/gallery/photo/tag_action.html", {
        **modeladmin.admin_site.each_context(request),
        "title": f"Tag: {verb} selected photos",
        "form": form,
        "photos": queryset,
        "action": request.POST["action"],
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    })


class BoxedFilteredSelectMultiple(FilteredSelectMultiple):
    """Django's two-list chooser in a box of its own. Its script puts the chooser first in the select's parent, which
    for a many-to-many field of Django's is a wrapper of its own; a form field's select sits beside its label, which
    then came after the chooser (right of it, under it on a phone, and beside the next field's)."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<div class="chooser-box">{}</div>', super().render(name, value, attrs, renderer))


class PhotoAdminForm(forms.ModelForm):
    """The photo's tags as a plain form field: Photo.tags goes through PhotoTag (each tag's source), which the
    admin can't edit as a many-to-many; PhotoAdmin.save_model hands the choice to photo_update."""

    photo_tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(), required=False, label="Tags",
        widget=BoxedFilteredSelectMultiple("tags", is_stacked=False),
    )

    description = forms.CharField(widget=forms.Textarea, required=False, max_length=DESCRIPTION_MAX_CHARS)
    # What the form showed (photo_edit_version): a save over someone else's edit made meanwhile is said, not done,
    # as on the photo page.
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    class Meta:
        model = Photo
        fields = ["title", "description"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            # Locked until the admin's save ends (the change view is one transaction): no edit lands in between.
            try:
                # With what it would save: the same form saved twice (a double click, Back and Save) is no conflict.
                tags = cleaned.get("photo_tags")
                photo_edit_check(photo_id=self.instance.pk, seen=cleaned.get("seen", ""), title=cleaned.get("title"),
                                 description=cleaned.get("description"),
                                 tags=None if tags is None else [tag.name for tag in tags])
            except ValidationError as exc:
                if exc.code == "edit_conflict":  # the admin has seen it now: the next save is theirs to make
                    self.data = self.data.copy()
                    self.data["seen"] = photo_edit_version(photo_lock(photo_id=self.instance.pk))
                raise
        return cleaned

    def clean_photo_tags(self):
        tags = self.cleaned_data["photo_tags"]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags per photo.")
        return tags

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the photo's own family's tags make sense here.
        family_id = self.instance.family_id if self.instance.pk else None
        self.fields["photo_tags"].queryset = Tag.objects.filter(family_id=family_id) if family_id else Tag.objects.none()
        if self.instance.pk:
            self.fields["photo_tags"].initial = list(self.instance.tags.all())
            self.fields["seen"].initial = photo_edit_version(self.instance)


@admin.register(Photo)
class PhotoAdmin(FamilyScopedAdmin):
    list_display = ["thumb", "title", "family", "uploaded_by", "taken", "status", "tag_list"]
    list_display_links = ["thumb", "title"]
    # Dates as the photo's own local day (Photo.taken_day), whatever the server's TIME_ZONE.
    list_filter = ["family", "uploaded_by", "status", ("taken_day", admin.DateFieldListFilter), "taken_at_source"]
    search_fields = ["title", "description", "original_filename", "tags__name", "camera_model", "place_city",
                     "place_region", "place_country"]
    date_hierarchy = "taken_day"
    actions = ["add_tag", "remove_tag", "delete_selected"]
    list_select_related = ["family", "uploaded_by"]
    readonly_fields = [
        "preview", "family", "uploaded_by", "original_filename", "mime_type", "file_size", "width", "height",
        "title_source", "description_source", "taken", "taken_at", "taken_at_source", "taken_tz", "camera_make",
        "camera_model", "latitude", "longitude", "place_city", "place_region", "place_country", "place_country_code",
        "place_source", "embedded_checked", "sha256", "phash", "colour",
        "uploaded_at", "status", "status_reason", "embed_attempts",
    ]
    form = PhotoAdminForm
    fields = ["preview", "title", "description", "photo_tags", "seen", *readonly_fields[1:]]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="mean colour")
    def colour(self, photo: Photo) -> str:
        """What the near-duplicate check compares beside the hash (DUPLICATE_COLOUR_DISTANCE), "#rrggbb"."""
        if not photo.mean_colour:
            return "Not measured yet (the near-duplicate sweep measures it)"
        return f"#{photo.mean_colour}"

    @admin.display(description="taken (local time)", ordering="taken_at")
    def taken(self, photo: Photo) -> str:
        """When it was taken where it was taken, and that zone ("31 Dec 2023 23:30 America/Los_Angeles")."""
        return f"{photo.taken_at_local:%d %b %Y %H:%M} {photo.taken_tz or settings.TIME_ZONE}"

    def save_model(self, request, obj, form, change):
        # Through the service, as the member's edit it is: a changed title or description becomes the member's (the
        # file's embedded metadata never replaces it), new tags are the member's, kept ones keep their source. Only
        # what the form edits is written: a full save of the row read before would put back a status, date or place
        # the worker or another member changed since.
        photo_update(photo=obj, title=form.cleaned_data["title"], description=form.cleaned_data["description"],
                     tags=[tag.name for tag in form.cleaned_data.get("photo_tags", [])], user=request.user)

    # Delete moves to the trash, as everywhere (restorable from the family's trash page for TRASH_DAYS), and the pages
    # say so: the photos alone are listed (nothing of theirs goes), the message and the history say "moved to the
    # trash".
    def delete_model(self, request, obj):
        self.delete_queryset(request, Photo.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> int:
        allowed = self._deletable(request, queryset)
        trashed = photos_trash_by_site_admin(user=request.user, photos=allowed)
        if trashed < queryset.count():
            self.message_user(request, f"{queryset.count() - trashed} photo(s) left as they were: a photo goes to the "
                                       "trash by its uploader or a family admin.", messages.WARNING)
        return trashed

    def get_deleted_objects(self, objs, request):
        # Nothing to collect: the photo goes to the trash with all of its own, and its page names it alone.
        return [], {}, set(), []

    def delete_view(self, request, object_id, extra_context=None):
        return super().delete_view(request, object_id, {**(extra_context or {}), "trash_days": settings.TRASH_DAYS})

    def log_deletions(self, request, queryset):
        LogEntry.objects.log_actions(user_id=request.user.pk, queryset=queryset, action_flag=CHANGE,
                                     change_message=TRASHED_LOGGED)

    def response_delete(self, request, obj_display, obj_id):
        if IS_POPUP_VAR in request.POST:
            return super().response_delete(request, obj_display, obj_id)
        photo = Photo.all_objects.select_related("family").filter(pk=obj_id).first()
        where = f" of {photo.family}" if photo else ""
        self.message_user(request, f"“{obj_display}” was moved to the trash{where}: restorable from the family's "
                                   f"trash page for {settings.TRASH_DAYS} days.", messages.SUCCESS)
        return HttpResponseRedirect(add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
            reverse("admin:gallery_photo_changelist")))

    @admin.action(description="Move the selected photos to the trash", permissions=["delete"])
    def delete_selected(self, request, queryset):
        """Django's "Delete selected" (the same name, so a list's form posts what it did), saying what it does: the
        page names the photos alone, in a few queries whatever the selection. A selection holding a photo the user may
        not move (not their upload, in a family they don't administer) is refused whole, as Django's was."""
        photos = list(queryset.select_related("family").order_by("pk"))
        allowed = set(self._deletable(request, queryset).values_list("pk", flat=True))
        refused = [photo for photo in photos if photo.pk not in allowed]
        if request.POST.get("post") and photos and not refused:
            with transaction.atomic():  # (the history says "Moved to the trash" only of photos that went)
                self.log_deletions(request, photos)
                trashed = self.delete_queryset(request, queryset)
            self.message_user(request, f"Moved {trashed} photo{pluralize(trashed)} to the trash: restorable from "
                                       f"their family's trash page for {settings.TRASH_DAYS} days.", messages.SUCCESS)
            return None
        return render(request, "admin/gallery/photo/trash_selected_confirmation.html", {
            **self.admin_site.each_context(request),
            "title": "Move photos to the trash",
            "photos": photos,
            "refused": refused,
            "trash_days": settings.TRASH_DAYS,
            "opts": self.opts,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        })

    def has_delete_permission(self, request, obj=None) -> bool:
        # The gallery's rule (photo_can_delete): staff who are ordinary members delete only their own uploads.
        return super().has_delete_permission(request, obj) and (
            obj is None or request.user.is_superuser or photo_can_delete(photo=obj, user=request.user))

    @staticmethod
    def _deletable(request, photos):
        if request.user.is_superuser:
            return photos
        administered = Family.objects.filter(memberships__user=request.user, memberships__role=Membership.Role.ADMIN)
        return photos.filter(Q(uploaded_by=request.user) | Q(family__in=administered))

    def has_add_permission(self, request) -> bool:
        return False  # photos come in through upload and import, which validate the bytes

    def get_urls(self):
        urls = [path("<int:photo_id>/thumbnail/", self.admin_site.admin_view(self.thumbnail_view),
                     name="gallery_photo_thumbnail")]
        return urls + super().get_urls()

    def thumbnail_view(self, request, photo_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not self.get_queryset(request).filter(pk=photo_id).exists():
            raise Http404("No such photo.")
        return admin_thumbnail(request, photo_id)

    @admin.display(description="")
    def thumb(self, photo: Photo):
        url = reverse("admin:gallery_photo_thumbnail", args=[photo.pk])
        # The thumbnail is a link to the photo (list_display_links): its text is the photo's name, or the link has none.
        return format_html('<img src="{}" alt="{}" class="photo-thumb">', url, str(photo))

    @admin.display(description="preview")
    def preview(self, photo: Photo):
        url = reverse("admin:gallery_photo_thumbnail", args=[photo.pk])
        return format_html('<img src="{}" alt="" class="photo-preview">', url)

    @admin.display(description="tags")
    def tag_list(self, photo: Photo) -> str:
        return ", ".join(tag.name for tag in photo.tags.all())

    @admin.action(description="Add a tag to the selected photos", permissions=["change"])
    def add_tag(self, request, queryset):
        return _tag_action(self, request, queryset, verb="added to", service=photos_tag_add)

    @admin.action(description="Remove a tag from the selected photos", permissions=["change"])
    def remove_tag(self, request, queryset):
        return _tag_action(self, request, queryset, verb="removed from", service=photos_tag_remove)
