"""Who sees what in the Django admin.

Superusers see everything. Staff without superuser see, in each admin marked `family_scoped`, only the rows
of the families they belong to, and add, change or delete only there, whatever model permissions they hold
(those still apply on top). Every other admin is for superusers only: `mediasearch.admin_site` wraps any
admin registered without the mark in `superuser_only`, so a model admin added later is closed until someone
decides its family rule.

A scoped admin names the way from its model to the family (`family_path`, "" for Family itself), or
overrides `scope_q` for rows that belong to a person rather than a family.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms import ModelChoiceField

from gallery.models import Family, Membership
from gallery.text import text_isolated


def families_live() -> QuerySet[Family]:
    """The families that are not being deleted (gallery.services.family_delete_start): gone for everyone, superusers
    too, so no family choice or filter of the admin offers one."""
    return Family.objects.filter(deleting_since__isnull=True)


def families_of(user) -> QuerySet[Family]:
    return families_live().filter(memberships__user=user)


class LiveFamiliesFilter(admin.RelatedFieldListFilter):
    """A superuser's filter by family (staff's is RelatedOnlyFieldListFilter, of the rows in their reach): every
    family but those being deleted."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or ("name", "pk")
        return [(family.pk, str(family)) for family in families_live().order_by(*ordering)]


def people_of(user) -> QuerySet:
    """The accounts that share a family with `user`, and `user` themself."""
    shared = Membership.objects.filter(family__in=families_of(user)).values("user_id")
    return get_user_model().objects.filter(Q(pk__in=shared) | Q(pk=user.pk))


class FamilyChoices:
    """Choices of families and people in forms (inlines included) limited to the user's own: a POST naming
    another family's id is "not a valid choice", whatever the widget offered. Each choice is named isolated, as the
    gallery's pickers name them (a family named before overrides were refused: "\u202eshtimS" read "Smiths")."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Family:
            kwargs["queryset"] = families_live() if request.user.is_superuser else families_of(request.user)
        elif db_field.related_model is get_user_model() and not request.user.is_superuser:
            kwargs["queryset"] = people_of(request.user)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if isinstance(field, ModelChoiceField):
            named = field.label_from_instance
            field.label_from_instance = lambda obj: text_isolated(named(obj))
        return field


class FamilyScopedAdmin(FamilyChoices, admin.ModelAdmin):
    family_scoped = True
    family_path = "family"
    # Rows without a family (entries every family shares) are shown to staff, never changed by them.
    shared_rows_visible = False
    # Which memberships may change (add, change, delete) rows: any member's, or only the family admins'.
    change_roles = (Membership.Role.ADMIN, Membership.Role.MEMBER)

    def _families_q(self, families: QuerySet[Family]) -> Q:
        return Q(pk__in=families) if not self.family_path else Q(**{f"{self.family_path}__in": families})

    def families_changing(self, request, *, roles: tuple[str, ...] | None = None) -> QuerySet[Family]:
        """The families where the user's role may change rows here (`change_roles`, or the `roles` asked)."""
        return families_of(request.user).filter(memberships__user=request.user,
                                               memberships__role__in=self.change_roles if roles is None else roles)

    def scope_q(self, request, *, changing: bool = False) -> Q:
        families = self.families_changing(request) if changing else families_of(request.user)
        q = self._families_q(families)
        if self.shared_rows_visible and not changing:
            q |= Q(**{f"{self.family_path}__isnull": True})
        return q

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            # A family being deleted (gallery.services.family_delete_start) is gone for everyone, here too: nothing
            # of it to change while the worker deletes it. (Staff lost it with its memberships.)
            path = self._deleting_path
            return queryset.exclude(**{path: False}) if path else queryset
        return queryset.filter(self.scope_q(request))

    @cached_property
    def _deleting_path(self) -> str | None:
        """The lookup of the row's family's `deleting_since__isnull`, or None for rows of a person (scope_q's own):
        read from the models once per admin, not on every list and change page."""
        model = self.model
        for name in self.family_path.split("__") if self.family_path else ():
            field = next((f for f in model._meta.get_fields() if f.name == name and f.is_relation), None)
            if field is None:
                return None
            model = field.related_model
        if model is not Family and not issubclass(model, Family):
            return None
        return f"{self.family_path}__deleting_since__isnull" if self.family_path else "deleting_since__isnull"

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        """No lookup through a stored hash (a link's password or token, any *_hash field): a list filtered by
        ?password_hash__startswith=… rebuilt it a character at a time, as Django's UserAdmin refuses for passwords.
        Refused, Django answers 400 whatever the value."""
        if any(part.endswith("_hash") for part in lookup.split(LOOKUP_SEP)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def _in_scope(self, request, obj, *, changing: bool) -> bool:
        if request.user.is_superuser or (obj is None and not changing):
            return True
        if obj is None:
            # The list's own question ("may they change or delete here at all?": its Change link, its actions): not
            # without a family where their role may, or a "Delete selected" offered to a plain member ended on
            # Django's "no permission to delete … related objects". Their roles are read once a request.
            if not hasattr(request, "_family_roles"):
                request._family_roles = set(Membership.objects.filter(user=request.user).values_list("role", flat=True))
            return bool(request._family_roles & set(self.change_roles))
        return self.model._default_manager.filter(self.scope_q(request, changing=changing), pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) and self._in_scope(request, obj, changing=False)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._in_scope(request, obj, changing=True)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj, changing=True)

    def get_list_filter(self, request):
        """Related filters list only what the rows in reach point to: the plain ones list every family."""
        filters = super().get_list_filter(request)
        return [self._choices_in_reach(spec, superuser=request.user.is_superuser) for spec in filters]

    def _choices_in_reach(self, spec, *, superuser: bool):
        """Staff: the choices of the rows in reach. Superusers: every family but those being deleted."""
        name = spec[0] if isinstance(spec, tuple) else spec
        if not isinstance(name, str) or "__" in name:
            return spec
        field = self.model._meta.get_field(name)
        if not field.is_relation or (isinstance(spec, tuple) and spec[1] is not admin.RelatedFieldListFilter):
            return spec
        if superuser:
            return (name, LiveFamiliesFilter) if field.related_model is Family else spec
        return (name, admin.RelatedOnlyFieldListFilter)


class SuperuserOnly:
    """For superusers alone: program state (queues, leases, models), credentials (API tokens), groups."""

    family_scoped = False

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.none()


def superuser_only(admin_class: type) -> type:
    if issubclass(admin_class, SuperuserOnly):
        return admin_class
    return type(admin_class.__name__, (SuperuserOnly, admin_class), {"__module__": admin_class.__module__})
