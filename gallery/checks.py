"""System checks (`manage.py check`, and every start): settings that can't work together are said at start-up."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.files.storage import FileSystemStorage, default_storage


@checks.register(checks.Tags.files)
def media_accel_needs_the_file_system(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """X-Accel-Redirect / X-Sendfile hand the front web server a file on its disk: with another storage (S3) the
    views stream through Django instead, which works, but the setting is not doing what its writer meant."""
    if settings.MEDIA_ACCEL in ("x-accel", "x-sendfile") and not isinstance(default_storage, FileSystemStorage):
        return [checks.Warning(
            f"MEDIA_ACCEL={settings.MEDIA_ACCEL} is ignored: media is not on the file system "
            f"({default_storage.__class__.__name__}), so Django streams the files itself.",
            hint="Unset MEDIA_ACCEL, or keep media on the file system (MEDIA_STORAGE=filesystem).",
            id="gallery.W001")]
    return []


# Settings that cut a list into pages: a page of 0 photos (or groups) can't be drawn.
PAGE_SIZES = ("GALLERY_PAGE_SIZE", "DUPLICATE_GROUPS_PAGE_SIZE")


@checks.register()
def page_sizes_are_positive(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name}={getattr(settings, name)}: a page must hold at least one item.",
                         hint=f"Set {name} to 1 or more, or unset it for the default.", id="gallery.E001")
            for name in PAGE_SIZES if getattr(settings, name) < 1]
