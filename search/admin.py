from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q
from django.utils.html import format_html

from gallery.admin import ReadOnlyModelAdmin
from gallery.admin_scope import FamilyScopedAdmin, LiveFamiliesFilter
from gallery.models import Membership
from gallery.selectors import families_status_counts, family_status_counts, names_folded, same_name
from gallery.text import control_characters_refuse, tag_name_clean, text_isolated
from search.concept_selectors import shared_concepts_replaced_in
from search.duplicate_services import duplicate_keep_alls_undo
from search.models import (
    DuplicateDismissal, EmbeddingModel, IndexedFamily, IndexedPhoto, Judgment, SearchCalibration, SearchPreferences,
    Synonym, TagConcept, WorkerHeartbeat, WorkLease,
)
from search.forms import PreferencesAdminForm
from search.selectors import indexed_percent
from search.services import photos_retry
from search.suggestions import suggestions_recompute_enqueue


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["name", "available", "dim", "calibration_scale", "calibration_bias", "error", "checked_at"]
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False


class IndexedFamilyChangeList(ChangeList):
    """Counts the photos by state of the page's families in one query, not one per family."""

    def get_results(self, request):
        super().get_results(request)
        counts = families_status_counts(family_ids=[family.pk for family in self.result_list])
        for family in self.result_list:
            family._counts = counts[family.pk]


@admin.register(IndexedFamily)
class IndexedFamilyAdmin(FamilyScopedAdmin, ReadOnlyModelAdmin):
    family_path = ""
    list_display = ["name", "progress", "pending", "processing", "ready", "failed"]

    def get_changelist(self, request, **kwargs):
        return IndexedFamilyChangeList

    def _counts(self, family):
        if getattr(family, "_counts", None) is None:
            family._counts = family_status_counts(family=family)
        return family._counts

    @admin.display(description="progress")
    def progress(self, family):
        counts = self._counts(family)
        total = sum(counts.values())
        percent = indexed_percent(ready=counts["ready"], total=total)
        return format_html('<progress max="100" value="{}"></progress> {}%', percent, percent)

    def pending(self, family):
        return self._counts(family)["pending"]

    def processing(self, family):
        return self._counts(family)["processing"]

    def ready(self, family):
        return self._counts(family)["ready"]

    def failed(self, family):
        return self._counts(family)["failed"]


@admin.register(IndexedPhoto)
class IndexedPhotoAdmin(FamilyScopedAdmin, ReadOnlyModelAdmin):
    list_display = ["__str__", "family", "status", "status_reason", "embed_attempts", "status_changed_at"]
    list_filter = ["status", "family"]
    search_fields = ["title", "original_filename", "status_reason"]
    actions = ["retry"]
    list_select_related = ["family"]  # photos are deleted from the Photo admin, which also removes their files

    @admin.action(description="Retry embedding of the selected photos")
    def retry(self, request, queryset):
        count = photos_retry(photo_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Queued {count} photo(s) for embedding.")


@admin.register(WorkLease)
class WorkLeaseAdmin(ReadOnlyModelAdmin):
    """What each worker holds right now, and until when (read only: the workers keep these themselves)."""

    list_display = ["kind", "object_id", "owner", "expires_at"]
    list_filter = ["kind"]
    search_fields = ["owner"]
    can_delete = True


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyModelAdmin):
    """The task workers that said they are alive, and when they last did (what /health/ counts)."""

    list_display = ["cluster", "host", "pid", "started_at", "seen_at"]
    list_filter = ["cluster"]
    can_delete = True


class UniqueInFamilyForm(forms.ModelForm):
    """A row named `unique_name` once per family (and once among the rows every family shares, family null), in any
    case (same_name: case-folded), as the unique constraints of concepts and synonyms compare them since search
    migration 0034 (by the same fold: "Straße" and "STRASSE" one, a "Dog" beside "dog" one term's second entry): said
    here before the database refuses."""

    unique_name: str
    unique_message: str

    def validate_unique(self) -> None:
        super().validate_unique()
        clash = self._meta.model.objects.filter(
            same_name(self.unique_name, self.cleaned_data.get(self.unique_name, "")),
            family=self.cleaned_data.get("family"),
        ).exclude(pk=self.instance.pk)
        if clash.exists():
            # Said once, plainly, by the field: Django's own messages for the same clash ("Constraint
            # “unique_global_synonym” is violated.", "… with this Family and Term already exists.") are the only
            # errors these forms have for the whole form, so they go.
            self.errors.pop(NON_FIELD_ERRORS, None)
            self.add_error(self.unique_name, self.unique_message)


SYNONYM_MAX_RELATED = 20
TERM_MAX = Synonym._meta.get_field("term").max_length


class SynonymForm(UniqueInFamilyForm):
    related = forms.CharField(
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Comma-separated, most similar first, e.g. “puppy, hound, doggy”. "
                  "Works both ways: a query with any of these words is expanded with the others.",
    )

    class Meta:
        model = Synonym
        fields = ["family", "term", "related"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["related"] = ", ".join(self.instance.related)

    def clean_term(self) -> str:
        term = " ".join(self.cleaned_data["term"].split())
        control_characters_refuse(term, what="A term")  # shown on the search page, as every name (gallery.text)
        return term

    def clean_related(self) -> list[str]:
        related, seen = [], set()
        for part in self.cleaned_data["related"].split(","):
            text = " ".join(part.split())
            control_characters_refuse(text, what="A related term")
            if text and text.lower() not in seen:
                seen.add(text.lower())
                related.append(text)
        if not related:
            raise forms.ValidationError("Give at least one related term.")
        # Each search regroups every entry in its scope (a global one is in every family's): keep entries small.
        if len(related) > SYNONYM_MAX_RELATED:
            raise forms.ValidationError(f"At most {SYNONYM_MAX_RELATED} related terms (a search uses the first "
                                        "few); split a longer list into several entries.")
        if any(len(text) > TERM_MAX for text in related):
            raise forms.ValidationError(f"A related term has at most {TERM_MAX} characters.")
        return related

    unique_name, unique_message = "term", "There is already an entry for this term here."


@admin.register(DuplicateDismissal)
class DuplicateDismissalAdmin(FamilyScopedAdmin):
    """Pairs a member said are not duplicates, each with the "keep all" (`action`) that stored it. The finder keeps
    apart every two photos of one action, so deleting one row shows that stored pair again but a later find still
    keeps its photos apart while other rows of the action name them: "Undo these keep-alls" deletes every row of
    the actions ticked."""

    list_display = ["__str__", "action", "family", "dismissed_by", "dismissed_at"]
    list_filter = [("family", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["family", "dismissed_by"]
    readonly_fields = ["family", "photo_a", "photo_b", "action", "dismissed_by", "dismissed_at"]
    actions = ["keep_alls_undo"]

    def has_add_permission(self, request) -> bool:
        return False  # said on the near-duplicates page

    @admin.action(description="Undo these keep-alls (every row of each)", permissions=["delete"])
    def keep_alls_undo(self, request, queryset) -> None:
        count = duplicate_keep_alls_undo(dismissals=queryset.filter(self.scope_q(request, changing=True))
                                         if not request.user.is_superuser else queryset)
        self.message_user(request, f"{count} dismissed pairs deleted: their photos may be grouped again.")


@admin.register(Synonym)
class SynonymAdmin(FamilyScopedAdmin):
    form = SynonymForm
    shared_rows_visible = True  # entries every family uses: staff read them, only superusers change them
    list_display = ["term", "related_terms", "scope", "updated_at"]
    list_filter = [("family", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["term", "related"]
    list_select_related = ["family"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser and "family" in form.base_fields:
            form.base_fields["family"].required = True  # an entry for every family is a superuser's call
        return form

    @admin.display(description="related terms")
    def related_terms(self, obj: Synonym) -> str:
        return ", ".join(obj.related)

    @admin.display(description="used by", ordering="family__name")
    def scope(self, obj: Synonym) -> str:
        return obj.family.name if obj.family_id else "every family"


@admin.register(SearchPreferences)
class SearchPreferencesAdmin(FamilyScopedAdmin):
    """Preferences are personal: staff without superuser see and change their own only."""

    form = PreferencesAdminForm
    list_display = ["user", "semantic_weight", "metadata_weight", "min_score", "expansion_enabled", "default_sort"]
    list_select_related = ["user"]
    search_fields = ["user__username"]

    def scope_q(self, request, *, changing: bool = False) -> Q:
        return Q(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and not request.user.is_superuser:
            field.queryset = field.queryset.filter(pk=request.user.pk)
        return field



class TagConceptForm(UniqueInFamilyForm):
    class Meta:
        model = TagConcept
        fields = ["family", "name", "prompt", "enabled", "merged_into"]
        labels = {"merged_into": "Merged into"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        merged = self.instance.merged_into if self.instance.pk else ""
        if merged and "name" in self.fields:
            self.fields["name"].help_text = "The name of the family's tag that was merged (see “Merged into”)."
        if merged and "merged_into" in self.fields:  # what ticking it on does, said where it is ticked
            self.fields["merged_into"].help_text = format_html(
                "This family's tag “{}” was merged into “{}”: ticked, this concept suggests “{}” (asking the image "
                "model what it asks), never “{}”. Empty this box to have it suggest “{}” again.",
                *(text_isolated(name) for name in (self.instance.name, merged, merged, self.instance.name,
                                                   self.instance.name)))

    def clean_name(self) -> str:
        name = tag_name_clean(self.cleaned_data["name"])  # it becomes a tag when a suggestion is accepted
        if not name:
            raise forms.ValidationError("Give the tag a name.")
        return name

    def clean_merged_into(self) -> str:
        return tag_name_clean(self.cleaned_data.get("merged_into") or "")  # what it suggests becomes a tag too

    def clean(self):
        cleaned = super().clean()
        merged = cleaned.get("merged_into")
        if merged and not cleaned.get("family"):
            self.add_error("merged_into", "Only a family's own concept is merged into another name (a family's tags "
                                          "are merged, not those of every family): leave this empty.")
        elif merged and names_folded([merged]) == names_folded([cleaned.get("name") or ""]):
            cleaned["merged_into"] = ""  # (merged into itself: it suggests its own name)
        return cleaned

    def clean_prompt(self) -> str:
        prompt = " ".join(self.cleaned_data["prompt"].split())
        if "{" in prompt or "}" in prompt:
            raise forms.ValidationError("Write the concept itself (e.g. “a dog on a beach”): the search prompt "
                                        "templates wrap it, so leave out braces.")
        return prompt

    unique_name, unique_message = "name", "There is already a concept of this name here."


@admin.register(TagConcept)
class TagConceptAdmin(FamilyScopedAdmin):
    """The tag-suggestion vocabulary. Every change re-scores the photos concerned in the background (all families
    for a global concept), so suggestions follow the vocabulary. Staff who are not superusers see and edit only
    their own families' concepts."""

    form = TagConceptForm
    shared_rows_visible = True  # the global vocabulary: staff read it, only superusers change it
    change_roles = (Membership.Role.ADMIN,)
    list_display = ["name", "prompt", "scope", "enabled", "merged_into", "updated_at"]
    list_filter = ["enabled", ("family", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "prompt"]
    list_select_related = ["family"]
    actions = ["rescore"]
    # Six columns, a prompt a sentence: on a phone each concept is a block, each value under its column's name
    # (templates/admin/change_list_results.html, static/css/admin.css), not a table scrolling sideways.
    list_cells_labelled = True

    @admin.display(description="used by", ordering="family__name")
    def scope(self, concept: TagConcept) -> str:
        if concept.family_id:
            return concept.family.name
        replaced_in = getattr(concept, "replaced_in", [])  # (the list's page read them: TagConceptChangeList)
        if not replaced_in:
            return "every family"
        return (f"every family but {', '.join(replaced_in)} "
                f"({'its own entry' if len(replaced_in) == 1 else 'their own entries'})")

    def get_changelist(self, request, **kwargs):
        return TagConceptChangeList

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser and "family" in form.base_fields:
            form.base_fields["family"].required = True  # a global concept is every family's: superusers only
        return form

    def save_model(self, request, obj, form, change):
        before = TagConcept.objects.filter(pk=obj.pk).values_list("family_id", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        self._rescore({obj.family_id, before} if change else {obj.family_id})

    def delete_model(self, request, obj):
        family_id = obj.family_id
        super().delete_model(request, obj)
        self._rescore({family_id})

    def delete_queryset(self, request, queryset):
        family_ids = set(queryset.values_list("family_id", flat=True))
        super().delete_queryset(request, queryset)
        self._rescore(family_ids)

    # As changing the vocabulary: for those who may change it (a family's admins), of their own families. A global
    # concept's rescoring is every family's on the site, a superuser's call.
    @admin.action(description="Score every photo again with the selected concepts' families' vocabularies",
                  permissions=["change"])
    def rescore(self, request, queryset):
        if not request.user.is_superuser:
            queryset = queryset.filter(self.scope_q(request, changing=True))
        family_ids = set(queryset.values_list("family_id", flat=True))
        if not family_ids:
            self.message_user(request, "Nothing was scored again: the concepts every family shares are rescored by "
                                       "the site administrator.", messages.WARNING)
            return
        self._rescore(family_ids)
        self.message_user(request, "The photos are being scored again in the background.")

    @staticmethod
    def _rescore(family_ids: set[int | None]) -> None:
        if None in family_ids:
            suggestions_recompute_enqueue(family_id=None)  # a global concept: every family
            return
        for family_id in sorted(family_ids):
            suggestions_recompute_enqueue(family_id=family_id)


class TagConceptChangeList(ChangeList):
    """Each shared concept of the page names the reader's families that use an entry of their own of its name
    instead (search.concept_selectors.shared_concepts_replaced_in: one query for the page)."""

    def get_results(self, request):
        super().get_results(request)
        shared = [concept for concept in self.result_list if concept.family_id is None]
        replaced_in = shared_concepts_replaced_in(user=request.user, concept_ids=[concept.pk for concept in shared])
        for concept in shared:
            concept.replaced_in = replaced_in.get(concept.pk, [])


class VerdictFilter(admin.SimpleListFilter):
    title = "verdict"
    parameter_name = "verdict"

    def lookups(self, request, model_admin):
        return [("right", "right"), ("wrong", "wrong")]

    def queryset(self, request, queryset):
        if self.value() in ("right", "wrong"):
            return queryset.filter(relevant=self.value() == "right")
        return queryset


class JudgmentModelFilter(admin.SimpleListFilter):
    """The models the listed judgments were made with. A verdict on a result found by its tags before the photo was
    indexed has none: Django's own filter listed that as a link with no text, so it is named here."""

    title = "model name"
    parameter_name = "model_name"
    NONE = "-"  # the empty name in the address (a hub id or a directory is never a bare hyphen)

    def lookups(self, request, model_admin):
        names = model_admin.get_queryset(request).order_by("model_name").values_list("model_name", flat=True)
        return [(name or self.NONE, name or "no model: judged before the photo was indexed")
                for name in names.distinct()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(model_name="" if self.value() == self.NONE else self.value())
        return queryset


@admin.register(Judgment)
class JudgmentAdmin(FamilyScopedAdmin, ReadOnlyModelAdmin):
    """Members' right/wrong verdicts on search results, which the family's calibration is fitted from. Made only from
    a search (with the result's score components at that moment), never here; a family admin may delete a wrong
    label (fits from then on leave it out)."""

    can_delete = True
    change_roles = (Membership.Role.ADMIN,)
    list_display = ["query", "verdict", "photo", "user", "family", "model_name", "updated_at"]
    list_filter = [VerdictFilter, "family", JudgmentModelFilter]
    search_fields = ["query", "user__username"]
    list_select_related = ["user", "family", "photo"]
    date_hierarchy = "updated_at"
    fields = ["query", "relevant", "photo", "user", "family", "model_name", "components", "created_at", "updated_at"]

    @admin.display(description="verdict", ordering="relevant")
    def verdict(self, judgment: Judgment) -> str:
        return "right" if judgment.relevant else "wrong"


class SearchCalibrationForm(forms.ModelForm):
    class Meta:
        model = SearchCalibration
        fields = ["applied"]

    def clean_applied(self) -> bool:
        """A fit made with the judgments of someone no longer in the family is not put back in force (search uses
        only its members' judgments: search.quality.calibrations_withdraw_for_leavers)."""
        from django.contrib.auth import get_user_model

        from search.quality import judges_gone

        applied, fit = self.cleaned_data["applied"], self.instance
        if not applied or fit.applied:
            return applied
        if fit.judges is None:
            if fit.metrics.get("withdrawn_at"):
                raise forms.ValidationError("This fit was withdrawn as someone whose judgments it was made with left "
                                            "the family: fit the family again instead (its quality page).")
            return applied
        if gone := judges_gone(family_id=fit.family_id, judges=fit.judges):
            names = sorted(get_user_model().objects.filter(pk__in=gone).values_list("username", flat=True))
            deleted = len(gone) - len(names)
            who = ", ".join(names + ([f"{deleted} deleted account{'s' if deleted != 1 else ''}"] if deleted else []))
            raise forms.ValidationError(f"This fit was made with the judgments of people no longer a member of the "
                                        f"family ({who}): fit the family again instead (its quality page).")
        return applied


@admin.register(SearchCalibration)
class SearchCalibrationAdmin(admin.ModelAdmin):
    """Each family's fits from its judgments (search.quality), for superusers (admin_scope). Read-only: fits come
    from the quality page, the nightly schedule or `manage.py fit_calibration`; unticking "applied" rolls one
    back; ticking it is refused for a fit made with the judgments of someone no longer in the family."""

    form = SearchCalibrationForm

    list_display = ("family", "model_name", "created_at", "judgments", "judged_queries", "applied")
    list_filter = ("applied", ("family", LiveFamiliesFilter))
    fields = ("family", "model_name", "created_at", "judgments", "judged_queries", "semantic_scale", "semantic_bias",
              "metadata", "suggested_semantic_weight", "suggested_metadata_weight", "metrics", "applied")
    readonly_fields = tuple(f for f in fields if f != "applied")

    def has_add_permission(self, request) -> bool:
        return False
