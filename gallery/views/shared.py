"""An album shown through a share link, to anyone holding it (signed in or not): that album's photos and nothing
else. No search, no other photos, no family or member names, no file names. Every request (page, thumbnail,
display rendition, original) looks the link up again, so a revoked or expired link stops at once, and the images
are only ever served through these URLs: there is no media path that outlives the link.

Wrong passwords: the same answer whatever was typed, and after SHARE_PASSWORD_TRIES failures from one address in
SHARE_PASSWORD_WINDOW seconds the password is not even checked until the window has passed (no oracle to grind)."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.http import require_GET, require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from gallery.album_selectors import share_photo_get, share_photo_ids, share_resolve
from gallery.downloads import album_archive, album_parts, numbered_name
from gallery.forms import SharePasswordForm, given_twice
from gallery.models import AlbumShare, Photo
from gallery.signin import client_ip
from gallery.views import wants_partial
from gallery.views.media import display_response, serve_file


def _unlock_key(share: AlbumShare) -> str:
    return f"album-share-{share.pk}"


def _unlock_value(share: AlbumShare) -> str:
    # Changes with the password hash: a new password locks out sessions unlocked with the old one.
    return salted_hmac("gallery.album-share", share.password_hash).hexdigest()


def _unlocked(request: HttpRequest, share: AlbumShare) -> bool:
    if not share.has_password:
        return True
    return constant_time_compare(request.session.get(_unlock_key(share), ""), _unlock_value(share))


def _private(response: HttpResponse) -> HttpResponse:
    """What every share response carries: the token in the URL must not leak through a Referer, search engines
    must not index it, and browsers must ask again rather than keep a copy past a revocation."""
    response["Referrer-Policy"] = "same-origin"  # (no-referrer would make the password form's Origin "null")
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


ALBUM, PAGE, MEDIA = "album", "page", "media"  # the kinds of shared view (`shared`)


def shared(kind: str):
    """Resolve the link on every request (404 when missing, revoked or expired) and require its password. `kind`
    says what a visitor gets when the link is dead or locked: the album page (ALBUM) says the link ended or asks for
    the password; a page a visitor follows a link to (PAGE: a photo, "Download all") says it ended too, or sends
    them to the album page for the password; media a page loads (MEDIA) are as missing as any other."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, *args, **kwargs):
            album_page = reverse("shared_album", args=[token])
            try:
                share = share_resolve(token=token)
            except Http404:
                if kind == MEDIA:
                    raise
                if request.htmx:  # a grid's next page, a step of the viewer: the link's own page says it, not a swap
                    return _private(HttpResponseClientRedirect(album_page))
                # The link's own page tells whoever holds it what happened (the members' 404 speaks of families).
                return _private(render(request, "gallery/shared_gone.html", status=404))
            if not _unlocked(request, share):
                if kind == MEDIA:
                    raise Http404("No such photo.")
                if request.htmx:
                    return _private(HttpResponseClientRedirect(album_page))
                if kind == PAGE:  # the password is asked on the album page, which comes back here… to the album
                    return _private(redirect(album_page))
                return _private(_password_page(request, share, token))
            return _private(view(request, share, token, *args, **kwargs))

        return wrapper

    return decorate


def _tries_key(request: HttpRequest, share: AlbumShare) -> str:
    # The visitor's address as the sign-in lockout reads it: behind nginx, REMOTE_ADDR is nginx's for everyone.
    return f"album-share-tries:{share.pk}:{client_ip(request) or ''}"


def _count_try(key: str) -> int:
    """This try, counted before its password is checked (the check is slow on purpose): read, check, then write back
    read + 1 let guesses sent side by side all read the same count, and each be checked. The window runs from the
    first try; the count is the cache's, so each web process keeps its own (as API_TOKEN_RATE's)."""
    cache.add(key, 0, settings.SHARE_PASSWORD_WINDOW)
    try:
        return cache.incr(key)
    except ValueError:  # (the window ended between the two)
        cache.set(key, 1, settings.SHARE_PASSWORD_WINDOW)
        return 1


def _password_page(request: HttpRequest, share: AlbumShare, token: str) -> HttpResponse:
    form = SharePasswordForm(request.POST or None)
    problem = ""
    if request.method == "POST":
        key = _tries_key(request, share)
        if _count_try(key) > settings.SHARE_PASSWORD_TRIES:
            problem = "Too many wrong passwords. Wait a while, then try again."
        elif form.is_valid() and check_password(form.cleaned_data["password"], share.password_hash):
            request.session.cycle_key()  # a new key with the unlock, as signing in gives: a planted one stays locked
            request.session[_unlock_key(share)] = _unlock_value(share)
            cache.delete(key)
            return redirect("shared_album", token)
        else:
            problem = "That is not the password."
    return render(request, "gallery/shared_album.html", {"locked": True, "form": form, "problem": problem},
                  status=403 if problem else 200)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")  # same URL, page or partial
@shared(ALBUM)
def shared_album(request: HttpRequest, share: AlbumShare, token: str) -> HttpResponse:
    """The album's photos a page at a time, loaded as the members' album page loads them."""
    ids = share_photo_ids(share=share)
    twice = given_twice(request.GET, ("page",))  # `page=1&page=2`: said, and the album shown from its start
    page = Paginator(ids, settings.GALLERY_PAGE_SIZE).get_page(None if twice else request.GET.get("page"))
    context = {"album": share.album, "share": share, "token": token, "total": len(ids), "page": page,
               "download_parts": album_parts(len(ids)) if share.allow_download else []}
    status = 400 if twice else 200
    if wants_partial(request):
        return render(request, "gallery/shared_album.html#grid-page", context, status=status)
    for message in twice.values():
        messages.error(request, f"{message} Here is the album from its start.")
    return render(request, "gallery/shared_album.html", context, status=status)


@require_GET
@shared(PAGE)
def shared_photo(request: HttpRequest, share: AlbumShare, token: str, photo_id: int) -> HttpResponse:
    """One photo of the shared album, with the previous and next ones."""
    try:
        photo = share_photo_get(share=share, photo_id=photo_id)
    except Http404:
        # Taken out or trashed while the visitor looked (a step of the viewer lands here whole), or never in it: said
        # on the link's own page, with the way back, not by the members' 404 (of families, a timeline, signing in).
        return render(request, "gallery/shared_gone.html", {"photo_missing": True, "album": share.album,
                                                             "token": token}, status=404)
    ids = share_photo_ids(share=share)
    index = ids.index(photo.pk) if photo.pk in ids else 0
    return render(request, "gallery/shared_photo.html", {
        "album": share.album, "share": share, "token": token, "photo": photo, "position": index + 1,
        "album_page": index // settings.GALLERY_PAGE_SIZE + 1,
        "total": len(ids), "previous_id": ids[index - 1] if index > 0 else None,
        "next_id": ids[index + 1] if index + 1 < len(ids) else None,
    })


@require_safe
@shared(MEDIA)
def shared_thumbnail(request: HttpRequest, share: AlbumShare, token: str, photo_id: int) -> HttpResponse:
    # Named by its number: the stored file's name is the original's hash, which the link does not share.
    return serve_file(share_photo_get(share=share, photo_id=photo_id).thumbnail, content_type="image/jpeg",
                      download_name=f"photo-{photo_id}.jpg", inline=True)


@require_safe
@shared(MEDIA)
def shared_display(request: HttpRequest, share: AlbumShare, token: str, photo_id: int) -> HttpResponse:
    return display_response(share_photo_get(share=share, photo_id=photo_id), numbered=True,
                            original=share.allow_download)


@require_safe
@shared(PAGE)  # a link a visitor follows ("Download original"), not media a page loads
def shared_original(request: HttpRequest, share: AlbumShare, token: str, photo_id: int) -> HttpResponse:
    """The original file, as a download, when the link allows it. Named by its position, not its file name."""
    if not share.allow_download:
        raise Http404("Originals are not shared through this link.")
    try:
        photo: Photo = share_photo_get(share=share, photo_id=photo_id)
    except Http404:  # taken out since its page was shown: said as shared_photo says it
        return render(request, "gallery/shared_gone.html", {"photo_missing": True, "album": share.album,
                                                             "token": token}, status=404)
    return serve_file(photo.original, content_type=photo.mime_type, download_name=numbered_name(photo))


@require_GET
@shared(PAGE)
def shared_download(request: HttpRequest, share: AlbumShare, token: str) -> HttpResponse:
    """The album's originals as a ZIP (`?part=N`: album_parts), when the link allows downloads; entries named as
    the single originals are, never by their file names."""
    if not share.allow_download:
        raise Http404("Originals are not shared through this link.")
    if twice := given_twice(request.GET, ("part",)):  # not the last alone: a script asking for two would get one
        messages.error(request, twice["part"])
        return redirect("shared_album", token)
    response = album_archive(album=share.album, ids=share_photo_ids(share=share), numbered=True,
                             part=request.GET.get("part"))
    if response is None:
        # A "Download 501–640" of a page drawn before the album shrank: said on the link's own page, as a photo taken
        # out is, not by the members' 404.
        return render(request, "gallery/shared_gone.html", {"part_missing": True, "album": share.album,
                                                             "token": token}, status=404)
    return response

