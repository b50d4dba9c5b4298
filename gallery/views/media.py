"""Originals, display renditions and thumbnails, served only after the family membership check."""

from __future__ import annotations

import logging
import mimetypes
import os
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from rest_framework.exceptions import AuthenticationFailed

from gallery.downloads import download_name, numbered_name
from gallery.files import ORIGINAL_MISSING, StorageUnavailable, stored_open
from gallery.models import Photo
from gallery.selectors import photo_get
from gallery.tokens import TokenAuthentication

logger = logging.getLogger(__name__)


def login_or_token_required(view):
    """Browsers come with a session; API clients follow the URLs the API gives them with their token. A token that
    fails (revoked, run out, mistyped) is answered as the API answers it, 401: a redirect to the sign-in page would
    reach a script as a 200 HTML page, saved as the photo."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            authentication = TokenAuthentication()
            try:
                found = authentication.authenticate(request)
            except AuthenticationFailed as exc:
                response = JsonResponse({"detail": str(exc.detail)}, status=401)
                response["WWW-Authenticate"] = authentication.authenticate_header(request)
                return response
            if found is None:
                return login_required(view)(request, *args, **kwargs)  # the usual redirect to sign in
            request.user = found[0]
        return view(request, *args, **kwargs)

    return wrapper


@require_safe  # (GET, and HEAD: `curl -I`, a download manager's first question)
@login_or_token_required
def photo_thumbnail(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id, include_trashed=True)  # the trash page shows it too
    return serve_file(photo.thumbnail, content_type="image/jpeg")


# What browsers show natively: a photo without a display rendition yet may be shown as its original.
BROWSER_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


@require_safe
@login_or_token_required
def photo_display(request: HttpRequest, photo_id: int) -> HttpResponse:
    """The display rendition (upright JPEG). Until a photo stored before renditions existed gets one, its
    original when browsers show that format, else its thumbnail: never a HEIC or TIFF the browser can't show."""
    photo = photo_get(user=request.user, photo_id=photo_id, include_trashed=True)  # the trash page shows it too
    return display_response(photo)


def display_response(photo, *, numbered: bool = False, original: bool = True) -> HttpResponse:
    """What shows `photo` large: its display rendition, else its original when browsers show that format (and
    `original`: the viewer may have it; a share link's visitor whose link shares no original may not, the whole file
    with its EXIF), else its thumbnail (the caller has checked who may see it). A display rendition missing from
    storage (lost, a restore without it) is forgotten, so the sweep makes it again, and the photo shown from the rest
    meanwhile. `numbered`: offered to save as photo-<id>.<ext> (a share link's visitor), not as the stored file (the
    original's hash)."""
    def named(jpeg: bool = True) -> dict:
        if not numbered:
            return {}
        return {"download_name": f"photo-{photo.pk}.jpg" if jpeg else numbered_name(photo), "inline": True}

    if photo.display:
        try:
            return serve_file(photo.display, content_type="image/jpeg", **named())
        except Http404:
            logger.warning("photo %s: display rendition %s is missing from storage; the sweep will make it again",
                           photo.pk, photo.display.name)
            Photo.all_objects.filter(pk=photo.pk, display=photo.display.name).update(display="")
    if original and photo.mime_type in BROWSER_TYPES:
        return serve_file(photo.original, content_type=photo.mime_type, **named(jpeg=False))
    return serve_file(photo.thumbnail, content_type="image/jpeg", **named())


@require_safe
@login_or_token_required
def photo_original(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id, include_trashed=True)  # the trash page shows it too
    # Named either way: downloaded, or shown by the browser (whose "Save image as" would offer the stored file's hash).
    try:
        return serve_file(photo.original, content_type=photo.mime_type, download_name=download_name(photo),
                          inline=request.GET.get("download") != "1")
    except Http404:  # gone from storage: a member of its family (photo_get checked) is told so, not "nothing here"
        logger.warning("photo %s: original %s is missing from storage", photo.pk, photo.original.name)
        return render(request, "404.html", {"missing": ORIGINAL_MISSING}, status=404)


def serve_file(field, *, content_type: str, download_name: str | None = None, inline: bool = False) -> HttpResponse:
    """Stream a stored file through the storage API, or hand it to the front web server when MEDIA_ACCEL says
    so and the storage is the file system (the only storage whose files that server can reach). `download_name`:
    the name it is saved as (a download, or with `inline` one the browser shows)."""
    if not field:
        raise Http404("File missing.")
    if settings.MEDIA_ACCEL in ("x-accel", "x-sendfile") and isinstance(field.storage, FileSystemStorage):
        response = _accel_response(field, content_type=content_type)
    else:
        try:  # opened, not checked then opened: a file removed in between is still a 404, not a 500
            stream = stored_open(field)
        except FileNotFoundError:
            raise Http404("File missing.") from None
        except StorageUnavailable:
            return HttpResponse("The photo storage is not answering. Please try again in a moment.", status=503,
                                content_type="text/plain; charset=utf-8", headers={"Retry-After": "30"})
        response = FileResponse(stream, content_type=content_type or mimetypes.guess_type(field.name)[0])
    if download_name:
        disposition = "inline" if inline else "attachment"
        response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(os.path.basename(download_name))}"
    # Private photos: browsers may cache, shared proxies must not.
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _accel_response(field, *, content_type: str) -> HttpResponse:
    if not field.storage.exists(field.name):
        raise Http404("File missing.")
    response = HttpResponse(content_type=content_type)
    if settings.MEDIA_ACCEL == "x-accel":
        response["X-Accel-Redirect"] = quote(settings.MEDIA_ACCEL_PREFIX.rstrip("/") + "/" + field.name)
    else:
        response["X-Sendfile"] = field.storage.path(field.name)  # the file system's own path: only here
    return response


def admin_thumbnail(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Thumbnail for the admin's photo list; the admin site wraps it in its own permission check."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        raise Http404("No such photo.")
    return serve_file(photo.thumbnail, content_type="image/jpeg")
