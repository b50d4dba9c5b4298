"""Families and who is in them (the memberships inline)."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import CASCADE, Count, Model, Q
from django.db.models.deletion import get_candidate_relations_to_delete
from django.urls import reverse
from django.utils.html import format_html

from gallery.admin.records import ReadOnlyModelAdmin
from gallery.admin_scope import FamilyChoices, FamilyScopedAdmin
from gallery.models import Family, Membership, Photo
from gallery.services import (
    LAST_ADMIN, admin_kept, family_delete_start, family_lock, family_name_clean, family_others_problem,
    invites_withdraw_made_by, memberships_begun, memberships_end,
)


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
    # joins as by an invitation (memberships_begun: their membership begins now, the row not keeping its joined_at).
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
