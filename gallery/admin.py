from __future__ import annotations

import math
from functools import reduce
from operator import or_

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CASCADE, Count, Exists, Model, OuterRef, Q, Value
from django.db.models.deletion import get_candidate_relations_to_delete
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.template.defaultfilters import pluralize
from django.utils.html import format_html

from gallery.admin_scope import FamilyChoices, FamilyScopedAdmin, people_of
from gallery.forms import DESCRIPTION_MAX_CHARS
from gallery.models import (
    Album, ApiToken, DeletedPhoto, Family, FileRemoval, Invite, Membership, Photo, PhotoTag, Tag, TagSuggestion,
)
from gallery.services import (
    LAST_ADMIN,
    MAX_TAGS,
    admin_kept,
    family_delete_start,
    family_lock,
    family_name_clean,
    family_others_problem,
    invites_withdraw_made_by,
    memberships_begun,
    memberships_end,
    photo_can_delete,
    photo_edit_check,
    photo_edit_version,
    photo_lock,
    photo_update,
    photos_tag_add,
    photos_tag_remove,
    tag_renamed,
    tags_delete,
    tags_merge,
    users_activate_problems,
    users_delete,
    users_deactivate_problems,
    users_delete_problems,
)
from gallery.selectors import same_name
from gallery.suggestions import suggestion_dismiss, suggestions_accept
from gallery.text import tag_name_clean, text_isolated
from gallery.trash_services import photos_trash_by_site_admin
from gallery.views.media import admin_thumbnail


User = get_user_model()
TRASHED_LOGGED = "Moved to the trash."  # a photo's history: a change, as it is restorable, not "Deleted"
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
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # An admin who can't sign in administers nothing (admin_kept): what they handed out lets no one in.
            invites_withdraw_made_by(user_ids=[obj.pk])

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


class MembershipFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index):
        """Django's tabular inline heads each column once ("User", "Role", "Delete?") and labels no control in its rows:
        a screen reader read "combo box" for every role, "check box" for every Delete. Each names its row's member."""
        super().add_fields(form, index)
        who = form.instance.user.username if form.instance.pk else None
        names = {"user": f"Person of {who}'s membership" if who else "Person to add",
                 "role": f"Role of {who}" if who else "Role of the person to add",
                 "DELETE": f"Delete {who}'s membership" if who else "Delete this row"}
        for name, label in names.items():
            if name in form.fields:
                form.fields[name].widget.attrs["aria-label"] = label

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        current = {}
        if self.instance.pk is not None:  # (the add-family page: no one in it yet)
            # The change view runs in a transaction: the lock holds until this save commits, so a member page
            # demoting the other admin at the same moment waits and then sees this change.
            family_lock(family_id=self.instance.pk)
            # Each membership as the family's rule reads it (admin_kept): (its user, is an admin); "can sign in" is
            # the user's is_active.
            rows = Membership.objects.filter(family=self.instance).select_related("user")
            current = {row.pk: (row.user, row.is_admin) for row in rows}
        after = dict(current)
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue
            if self.can_delete and self._should_delete_form(form):
                after.pop(form.instance.pk, None)
            elif form.cleaned_data.get("role") and form.cleaned_data.get("user"):
                after[form.instance.pk or object()] = (form.cleaned_data["user"],
                                                       form.cleaned_data["role"] == Membership.Role.ADMIN)
        # A family given its first members gets an admin among them, as any other keeps one. (Nothing of it
        # changed, a family that broke the rule before it was held everywhere is saved all the same; a family with no
        # one in it is ended by its deletion, never by the table's rows.)
        if after != current and not admin_kept((is_admin, user.is_active) for user, is_admin in after.values()):
            asleep = sorted(str(user) for user, is_admin in after.values() if is_admin)
            raise forms.ValidationError(f"{LAST_ADMIN} Its admins left ({', '.join(asleep)}) can't sign in (their "
                                        "accounts are inactive): make someone who can an admin." if asleep else
                                        f"{LAST_ADMIN} Give one of its members the role “admin”." if after else
                                        LAST_ADMIN)

    # Someone taken out of the family (their row deleted, or given to another person) leaves it as on the family page,
    # through memberships_end (announced, the links they made withdrawn); someone no longer its admin loses the open
    # invitation links they made for it (invites_withdraw_made_by). Someone put in (a new row, or a row given to them)
    # joins as by an invitation (memberships_begun).
    def delete_existing(self, obj, commit=True):
        if not commit:
            return super().delete_existing(obj, commit=commit)
        memberships_end(family_id=obj.family_id, user_ids=[obj.user_id])

    def save_existing(self, form, obj, commit=True):
        before = form.initial.get("user")
        saved = super().save_existing(form, obj, commit=commit)
        if commit:
            if "user" in form.changed_data and before:
                memberships_end(family_id=saved.family_id, user_ids=[before])  # (their row is another's now)
                memberships_begun(family_id=saved.family_id, user_ids=[saved.user_id])
            if saved.role != Membership.Role.ADMIN:
                invites_withdraw_made_by(family_id=saved.family_id, user_ids=[saved.user_id])
        return saved

    def save_new(self, form, commit=True):
        saved = super().save_new(form, commit=commit)
        if commit:
            memberships_begun(family_id=saved.family_id, user_ids=[saved.user_id])
        return saved


class MembershipInline(FamilyChoices, admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 1
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")  # each row's controls name its member

    # Who is in a family is changed by its admins (and superusers), as on the family page.
    def _family_admin(self, request, obj) -> bool:
        return request.user.is_superuser or obj is None or Membership.objects.filter(
            family=obj, user=request.user, role=Membership.Role.ADMIN).exists()

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and self._family_admin(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._family_admin(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self._family_admin(request, obj)


def rows_going_along(model: type[Model], *, to: str = "", through: tuple = ()) -> dict[type[Model], list[str]]:
    """Every kind of row a delete of `model`'s rows takes along (on_delete CASCADE, as Django's collector follows it,
    related_name="+" ones too), each with its lookups to those rows ("photo__family", "family", …)."""
    kinds: dict[type[Model], list[str]] = {}
    for relation in get_candidate_relations_to_delete(model._meta):
        kind = relation.related_model
        if relation.on_delete is not CASCADE or kind in through:
            continue
        lookup = f"{relation.field.name}__{to}" if to else relation.field.name
        kinds.setdefault(kind, []).append(lookup)
        for deeper, lookups in rows_going_along(kind, to=lookup, through=(*through, model)).items():
            kinds.setdefault(deeper, []).extend(lookups)
    return kinds


class FamilyForm(forms.ModelForm):
    """A family's name by the rules of the family page (family_name_clean): one line, and no second family of that
    name among the editor's own. `editor` is set per request by FamilyAdmin.get_form."""

    editor = None

    def clean_name(self) -> str:
        try:
            return family_name_clean(self.cleaned_data["name"], user=self.editor,
                                     family=self.instance if self.instance.pk else None)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc


@admin.register(Family)
class FamilyAdmin(FamilyScopedAdmin):
    form = FamilyForm
    family_path = ""
    change_roles = (Membership.Role.ADMIN,)
    list_display = ["name", "id", "member_count", "photo_count", "created_at"]  # names repeat: the id tells apart
    search_fields = ["name"]
    inlines = [MembershipInline]
    # Set on the family page, through the service that also renews the photos' holiday words.
    readonly_fields = ["default_country"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"editor": request.user})

    def has_add_permission(self, request) -> bool:
        # A family starts on the site, with its creator as admin; staff would make one they can't see.
        return request.user.is_superuser and super().has_add_permission(request)

    def get_deleted_objects(self, objs, request):
        """What the delete page lists: each family, and how many of each kind of row go with it, counted (one COUNT
        a kind). Django's own collects every row the delete takes along (each photo's tags, embedding, suggestions,
        …) to list them one by one, on the page and again on its POST: minutes for a family of 100,000 photos, which
        the worker deletes later. As Django's, it asks the right to delete each kind that goes along and has a list
        in the admin, but the program's own read-only lists (tag suggestions, judgments), which go with what they
        belong to."""
        families = list(objs)
        if not families:
            return [], {}, set(), []
        listed = [format_html('{}: <a href="{}">{}</a>', Family._meta.verbose_name.capitalize(),
                              reverse("admin:gallery_family_change", args=[family.pk]), family) for family in families]
        ids = [family.pk for family in families]
        counted, perms_needed = {Family._meta.verbose_name_plural: len(families)}, set()
        for kind, lookups in rows_going_along(Family).items():
            rows = kind._base_manager.filter(reduce(or_, (Q(**{f"{lookup}__in": ids}) for lookup in lookups))).count()
            if not rows:
                continue
            counted["photos (their trash's too)" if kind is Photo else kind._meta.verbose_name_plural] = rows
            model_admin = self.admin_site._registry.get(kind)
            if model_admin and not isinstance(model_admin, ReadOnlyModelAdmin) \
                    and not model_admin.has_delete_permission(request):
                perms_needed.add(kind._meta.verbose_name)
        # Staff delete a family as on its page (family_delete_by_member): only as its only member, since the others'
        # photos are in it too. "Protected" is how the admin says "this deletion can't happen" on both delete pages.
        protected = [] if request.user.is_superuser else [
            problem for family in families if (problem := family_others_problem(family=family, user=request.user))]
        return listed, counted, perms_needed, protected

    # Through the service: gone from every page at once, its photos (and their files) deleted by the worker in
    # batches: one request whatever the family's size.
    def delete_model(self, request, obj):
        family_delete_start(family=obj)

    def delete_queryset(self, request, queryset):
        for family in queryset:
            family_delete_start(family=family)

    def response_delete(self, request, obj_display, obj_id):
        messages.info(request, "Its photos and their files are being deleted in the background, by the worker; it is "
                               "gone from every page already.")
        return super().response_delete(request, obj_display, obj_id)

    def get_changelist(self, request, **kwargs):
        return FamilyChangeList

    @admin.display(description="members")
    def member_count(self, family: Family) -> int:
        counted = getattr(family, "counted_members", None)  # the list's page counted them all at once
        return family.memberships.count() if counted is None else counted

    @admin.display(description="photos")
    def photo_count(self, family: Family) -> int:
        counted = getattr(family, "counted_photos", None)
        return family.photos.count() if counted is None else counted


class FamilyChangeList(ChangeList):
    """The families' list counts the members and the photos (out of the trash) of the page's families in a query
    each, not two per family."""

    def get_results(self, request):
        super().get_results(request)
        ids = [family.pk for family in self.result_list]
        members = dict(Membership.objects.filter(family_id__in=ids).order_by().values("family_id")
                       .annotate(n=Count("*")).values_list("family_id", "n"))
        photos = dict(Photo.objects.filter(family_id__in=ids).order_by().values("family_id")
                      .annotate(n=Count("*")).values_list("family_id", "n"))
        for family in self.result_list:
            family.counted_members, family.counted_photos = members.get(family.pk, 0), photos.get(family.pk, 0)


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
        # The unique index compares lower(name); the family is read-only on change, so Django can't check it.
        if family_id and name and (Tag.objects.filter(family_id=family_id).exclude(pk=self.instance.pk)
                                   .annotate(key=Lower("name")).filter(key=Lower(Value(name))).exists()):
            self.add_error("name", "This family already has a tag of this name (letter case aside). To make the two "
                                   "one, tick both in the tags list and choose “Merge the selected tags”.")
        return cleaned


class TagMergeForm(forms.Form):
    keep = forms.ModelChoiceField(queryset=Tag.objects.none(), widget=forms.RadioSelect, empty_label=None,
                                  label="The name that stays")

    def __init__(self, *args, tags: list[Tag], **kwargs):
        super().__init__(*args, **kwargs)
        # Each named with how many photos carry it; the most used is offered.
        choices = Tag.objects.filter(pk__in=[tag.pk for tag in tags]).annotate(n=Count("photos")).order_by(
            Lower("name"), "pk")
        self.fields["keep"].queryset = choices
        self.fields["keep"].label_from_instance = (
            lambda tag: f"{text_isolated(tag.name)} ({tag.n} photo{pluralize(tag.n)})")
        self.fields["keep"].initial = max(choices, key=lambda tag: tag.n, default=None)


@admin.register(Tag)
class TagAdmin(FamilyScopedAdmin):
    form = TagForm
    actions = ["merge_selected"]
    list_display = ["name", "family", "photo_count"]
    list_filter = ["family"]
    search_fields = ["name"]

    @admin.display(description="photos")
    def photo_count(self, tag: Tag) -> int:
        counted = getattr(tag, "live_photo_count", None)  # the list's page counted them all at once
        return tag.photos.count() if counted is None else counted

    def get_changelist(self, request, **kwargs):
        return TagChangeList

    def get_readonly_fields(self, request, obj=None):
        # A tag stays in its family: its photos are that family's, and never carry another family's tag.
        return ["family"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:  # a renamed tag changes every photo that carries it, and is the member's on each
            tag_renamed(tag=obj, before=form.initial.get("name") or "", user=request.user)

    @admin.action(description="Merge the selected tags (one name kept)", permissions=["change", "delete"])
    def merge_selected(self, request, queryset):
        """Tags that mean the same ("Grandma", "Oma"): an intermediate page asks which name stays (tags_merge)."""
        tags = list(queryset.select_related("family").order_by(Lower("name"), "pk"))
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
            self.message_user(request, f"Merged {merged} into “{into.name}”: {count} photo{pluralize(count)} "
                                       "carry it in their place.", messages.SUCCESS)
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
        "place_source", "embedded_checked", "sha256", "phash",
        "uploaded_at", "status", "status_reason", "embed_attempts",
    ]
    form = PhotoAdminForm
    fields = ["preview", "title", "description", "photo_tags", "seen", *readonly_fields[1:]]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

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
        done = 0
        for suggestion in queryset.filter(state=TagSuggestion.State.OPEN):
            suggestion_dismiss(suggestion=suggestion, user=request.user)
            done += 1
        self.message_user(request, f"Dismissed {done} suggestion(s).", messages.SUCCESS)


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
