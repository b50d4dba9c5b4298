from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from gallery.selectors import family_status_counts
from search.models import EmbeddingModel, IndexedFamily, IndexedPhoto
from search.services import photos_retry


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["name", "available", "dim", "calibration_scale", "calibration_bias", "error", "checked_at"]
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(IndexedFamily)
class IndexedFamilyAdmin(admin.ModelAdmin):
    list_display = ["name", "progress", "pending", "processing", "ready", "failed"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _counts(self, family):
        if getattr(family, "_counts", None) is None:
            family._counts = family_status_counts(family=family)
        return family._counts

    @admin.display(description="progress")
    def progress(self, family):
        counts = self._counts(family)
        total = sum(counts.values())
        percent = 100 if not total else round(100 * counts["ready"] / total)
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
class IndexedPhotoAdmin(admin.ModelAdmin):
    list_display = ["__str__", "family", "status", "status_reason", "embed_attempts", "status_changed_at"]
    list_filter = ["status", "family"]
    search_fields = ["title", "original_filename", "status_reason"]
    actions = ["retry"]
    list_select_related = ["family"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Retry embedding of the selected photos")
    def retry(self, request, queryset):
        count = photos_retry(photo_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Queued {count} photo(s) for embedding.")
