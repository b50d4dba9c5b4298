"""Tags: rename, delete, and merge the ones that mean the same."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from gallery.admin_scope import FamilyScopedAdmin
from gallery.models import Membership, Photo, PhotoTag, Tag, TagMerge
from gallery.selectors import same_name
from gallery.services import tag_renamed, tags_delete, tags_merge
from gallery.signals import VocabularyRefused
from gallery.text import tag_name_clean, text_isolated


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["family", "name"]

    def clean_name(self) -> str:
        # As every other path stores tag names (tags_clean): whitespace collapsed, no NUL, no comma nor control
        # character (refused).
        name = tag_name_clean(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("Give the tag a name.")
        return name

    def clean(self):
        cleaned = super().clean()
        family_id = cleaned["family"].pk if cleaned.get("family") else self.instance.family_id
        name = cleaned.get("name")
        # The unique index compares folded names (same_name); the family is read-only on change, so Django can't
        # check it.
        if family_id and name and (Tag.objects.filter(family_id=family_id).exclude(pk=self.instance.pk)
                                   .filter(same_name("name", name)).exists()):
            self.add_error("name", "This family already has a tag of this name (letter case aside). To make the two "
                                   "one, tick both in the tags list and choose “Merge the selected tags”.")
        return cleaned


class TagMergeForm(forms.Form):
    keep = forms.ModelChoiceField(queryset=Tag.objects.none(), widget=forms.RadioSelect, empty_label=None,
                                  label="The name that stays")

    def __init__(self, *args, tags: list[Tag], **kwargs):
        super().__init__(*args, **kwargs)
        # Each named with how many photos carry it out of the trash (those in it said apart: merged too, they are
        # what a restore brings back); the most used is offered.
        choices = Tag.objects.filter(pk__in=[tag.pk for tag in tags]).annotate(
            n=Count("photos", filter=Q(photos__trashed_at__isnull=True)),
            trashed=Count("photos", filter=Q(photos__trashed_at__isnull=False)),
        ).order_by(Lower("name"), "pk")
        self.fields["keep"].queryset = choices
        self.fields["keep"].label_from_instance = (
            lambda tag: f"{text_isolated(tag.name)} ({tag.n} photo{pluralize(tag.n)}"
                        f"{f', and {tag.trashed} in the trash' if tag.trashed else ''})")
        self.fields["keep"].initial = max(choices, key=lambda tag: tag.n, default=None)


@admin.register(Tag)
class TagAdmin(FamilyScopedAdmin):
    form = TagForm
    actions = ["merge_selected"]
    list_display = ["tag_name", "family", "photo_count"]
    list_filter = ["family"]
    search_fields = ["name"]
    # By name whatever its letter case: the database's order ("C") put "Zoo" before "apple".
    ordering = [Lower("name"), "pk"]

    @admin.display(description="name", ordering=Lower("name"))
    def tag_name(self, tag: Tag) -> str:
        return tag.name

    @admin.display(description="photos")
    def photo_count(self, tag: Tag) -> int:
        counted = getattr(tag, "live_photo_count", None)  # the list's page counted them all at once
        return tag.photos.count() if counted is None else counted

    def get_changelist(self, request, **kwargs):
        return TagChangeList

    def get_readonly_fields(self, request, obj=None):
        # A tag stays in its family: its photos are that family's, and never carry another family's tag.
        return ["family"] if obj is not None else []

    # Who merges tags, and renames one that has a suggestion concept: as the concepts admin, the family's admins.
    vocabulary_roles = (Membership.Role.ADMIN,)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A rename that would move the family's suggestion vocabulary, by a member who is not its admin, is refused by
        tag_renamed (VocabularyRefused) inside the page's transaction: nothing saved, said on the page."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except VocabularyRefused as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:  # a renamed tag changes every photo that carries it, and is the member's on each
            tag_renamed(tag=obj, before=form.initial.get("name") or "", user=request.user)

    def has_merge_permission(self, request) -> bool:
        """A merge moves the family's suggestion vocabulary too (tags_merged), which the concepts admin leaves to the
        family's admins: offered to who administers a family (a superuser: any), with the rights to change and
        delete tags. Which of the selected tags they may merge, merge_selected checks."""
        return (self.has_change_permission(request) and self.has_delete_permission(request)
                and (request.user.is_superuser or self._families_administered(request).exists()))

    def _families_administered(self, request):
        return self.families_changing(request, roles=self.vocabulary_roles)

    @admin.action(description="Merge the selected tags (one name kept)", permissions=["merge"])
    def merge_selected(self, request, queryset):
        """Tags that mean the same ("Grandma", "Oma"): an intermediate page asks which name stays (tags_merge)."""
        tags = list(queryset.select_related("family").order_by(Lower("name"), "pk"))
        if not request.user.is_superuser:
            # Refused whole, saying why: a selection merged in part (or quietly narrowed) reads as done.
            administered = set(self._families_administered(request).values_list("pk", flat=True))
            not_theirs = sorted({text_isolated(str(tag.family)) for tag in tags if tag.family_id not in administered})
            if not_theirs:
                self.message_user(request, "Only a family’s admins merge its tags (a merge moves its suggestion "
                                           f"vocabulary too): not {', '.join(not_theirs)}.", messages.ERROR)
                return None
        if len({tag.family_id for tag in tags}) > 1:
            self.message_user(request, "Tags of different families can't be merged: a photo carries only its family's "
                                       "tags. Select tags of one family.", messages.ERROR)
            return None
        if len(tags) < 2:
            self.message_user(request, "Select two tags or more to merge.", messages.WARNING)
            return None
        form = TagMergeForm(request.POST if "apply" in request.POST else None, tags=tags)
        if form.is_valid():
            into = form.cleaned_data["keep"]
            gone = [tag for tag in tags if tag.pk != into.pk]
            merged = ", ".join(f"“{tag.name}”" for tag in gone)
            try:
                with transaction.atomic():  # (an action runs in no transaction: no history of a merge that failed)
                    self.log_deletions(request, gone)  # (each one's history, and the kept one's, say what became of it)
                    count = tags_merge(into=into, tags=queryset, user=request.user)
                    into.refresh_from_db(fields=["name"])  # (its name now: renamed since the page was read)
                    self.log_change(request, into, f"Merged {merged} into it.")
            except ValidationError as refused:
                self.message_user(request, " ".join(refused.messages), messages.ERROR)
                return None
            # (the photos out of the trash: those in it carry it too, unsaid, as the list's counts leave them out)
            self.message_user(request, f"Merged {merged} into “{into.name}”: {count} photo{pluralize(count)} "
                                       f"carr{pluralize(count, 'ies,y')} it in {'its' if len(gone) == 1 else 'their'} "
                                       "place.", messages.SUCCESS)
            return None
        return render(request, "admin/gallery/tag/merge_selected.html", {
            **self.admin_site.each_context(request),
            "title": f"Merge {len(tags)} tags of {tags[0].family} into one",
            "form": form,
            "tags": tags,
            "opts": self.opts,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })

    def get_deleted_objects(self, objs, request):
        """The delete pages' list: each tag, with how many photos (out of the trash) carry it, and "photos": how many
        carry any of them. Django's listed each photo-tag row ("Photo tag: Grandma on photo 17 (embedded)"), which
        read as the photos going; they stay, the tag taken off them."""
        tags = list(objs)
        carried = PhotoTag.objects.filter(tag__in=[tag.pk for tag in tags], photo__trashed_at__isnull=True)
        counts = dict(carried.order_by().values("tag_id").annotate(n=Count("*")).values_list("tag_id", "n"))
        listed = [format_html('<a href="{}">{}</a> ({}, {} photo{})', reverse("admin:gallery_tag_change",
                                                                              args=[tag.pk]),
                              tag, tag.family, counts.get(tag.pk, 0), pluralize(counts.get(tag.pk, 0)))
                  for tag in tags]
        photos = carried.order_by().values("photo_id").distinct().count()
        return listed, {"tags": len(tags), "photos": photos}, set(), []

    # A deleted tag leaves every photo that carried it: their search documents are rebuilt without it.
    def delete_model(self, request, obj):
        self.delete_queryset(request, Tag.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        tags_delete(tags=queryset)


class TagChangeList(ChangeList):
    """The tags' list counts the photos (out of the trash) of the page's tags in one query, not one per tag: the
    photos of those tags, less the few in the trash (an anti-join with the trash's index)."""

    def get_results(self, request):
        super().get_results(request)
        trashed = Photo.all_objects.filter(pk=OuterRef("photo_id"), trashed_at__isnull=False)
        counts = dict(PhotoTag.objects.filter(tag__in=[tag.pk for tag in self.result_list]).filter(~Exists(trashed))
                      .order_by().values("tag_id").annotate(n=Count("*")).values_list("tag_id", "n"))
        for tag in self.result_list:
            tag.live_photo_count = counts.get(tag.pk, 0)


@admin.register(TagMerge)
class TagMergeAdmin(FamilyScopedAdmin):
    """The tag names merged away ("Merge the selected tags"), for the record: a member's edit of a photo's tags naming
    one gets the tag it went into. Read-only: a name is freed by making a tag of it again (or deleting the tag it
    went into)."""

    list_display = ["name", "into", "family", "merged_at"]
    list_filter = ["family"]
    list_select_related = ["family", "into"]
    search_fields = ["name", "into__name"]
    fields = readonly_fields = ["family", "name", "into", "merged_at"]

    def has_add_permission(self, request) -> bool:
        return False  # written by the merge

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
