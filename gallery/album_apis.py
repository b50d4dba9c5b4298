"""Albums in the REST API: the same selectors and services as the pages, so the same rights and isolation
(another family's album is a 404, exactly like a missing one)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.http import quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, inline_serializer,
)
from django.db import transaction
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery.album_selectors import (
    AlbumTile, album_get, album_list, album_photo_ids, album_tiles, albums_manageable, share_get, share_list,
)
from gallery.album_services import (
    MAX_PHOTOS_PER_CALL, SHARE_MAX_DAYS, album_add_photos, album_api_version, album_api_version_check,
    album_can_manage, album_create, album_delete, album_remove_photos, album_reorder, album_set_cover, album_update,
    share_create, share_revoke,
)
from gallery.downloads import album_parts
from gallery.forms import ShareForm
from gallery.api_fields import ClearableTextField, NumberField, ParamsSerializer, TextField
from gallery.apis import DATE_ERRORS, LOCATION, PhotoOutputSerializer, PreconditionFailed, api_errors, created
from gallery.models import Album, AlbumShare
from gallery.selectors import family_filter, family_get, photo_list
from gallery.text import DESCRIPTION_TEXT, NAME_TEXT
from mediasearch.parsers import MergePatchParser


_UNSET = object()


class SmartSearchSerializer(serializers.Serializer):
    """A smart album's saved search (for the schema; the search app checks it)."""

    q = TextField(help_text="What to search for, as typed in the search box (places and dates in it work)")
    tag = TextField(required=False, allow_blank=True)
    uploader = serializers.IntegerField(required=False, allow_null=True, help_text="A user id")
    country = TextField(required=False, allow_blank=True, help_text="ISO 3166 two-letter code")
    place = TextField(required=False, allow_blank=True, help_text="Part of a city, region or country")
    after = serializers.DateField(required=False, allow_null=True, help_text="Taken on or after",
                                  error_messages=DATE_ERRORS)
    before = serializers.DateField(required=False, allow_null=True, help_text="Taken on or before",
                                   error_messages=DATE_ERRORS)
    min_score = NumberField(required=False, min_value=0, max_value=1,
                            help_text="Results below it are left out; default: the owner's minimum now")
    plain = serializers.ListField(child=TextField(max_length=200), required=False,
                                  help_text="Phrases of q searched as plain words, not as a place, date or exclusion")
    weights = serializers.JSONField(
        required=False,
        help_text='"saved" (default: the owner\'s weights now, kept), "live" (the owner\'s weights whenever it is '
                  'read), or {"semantic": 0-1, "metadata": 0-1, "expansion": bool}')


class AlbumOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    family = serializers.IntegerField(source="family_id")
    kind = serializers.ChoiceField(choices=Album.Kind.choices, help_text="manual, or smart (a saved search)")
    search = serializers.SerializerMethodField(help_text="A smart album's saved search; null for a plain album")
    cover = serializers.SerializerMethodField(help_text="The id of the photo its tile shows (null: no photo)")
    photo_count = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    can_manage = serializers.SerializerMethodField(help_text="Whether you may rename, delete and share it")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()
    download_urls = serializers.SerializerMethodField(
        help_text="The album's originals as ZIP files, in its order: one URL, or one per DOWNLOAD_MAX_PHOTOS photos "
                  "(fetched with the same token); none when it has no photo")

    @extend_schema_field(SmartSearchSerializer(allow_null=True))
    def get_search(self, album: Album) -> dict | None:
        # Through its own serializer, so the answer is what the schema says (a saved "" date is null).
        return SmartSearchSerializer(album.search).data if album.is_smart else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_cover(self, album: Album) -> int | None:
        return self._tile(album).cover_id

    def get_photo_count(self, album: Album) -> int:
        return self._tile(album).count

    def get_can_manage(self, album: Album) -> bool:
        manageable = self.context.get("manageable")  # (a list's page: asked once for all its albums)
        if manageable is None:
            return album_can_manage(user=self.context["request"].user, album=album)
        return album.pk in manageable

    def get_url(self, album: Album) -> str:
        return self.context["request"].build_absolute_uri(album.get_absolute_url())

    def get_download_urls(self, album: Album) -> list[str]:
        url = self.context["request"].build_absolute_uri(reverse("gallery:album_download", args=[album.pk]))
        return [url + (f"?part={part.number}" if part.number > 1 else "")
                for part in album_parts(self._tile(album).count or 0)]

    def _tile(self, album: Album) -> AlbumTile:
        tiles = self.context.setdefault("tiles", {})
        if album.pk not in tiles:
            tiles.update(album_tiles(albums=[album]))
        return tiles[album.pk]


class AlbumListApi(APIView):
    """The albums of your families (or of one), by name, a page at a time."""

    pagination_class = PageNumberPagination  # also tells the schema the list is a paginated object

    class AlbumFilterSerializer(ParamsSerializer):
        family = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    class AlbumCreateInputSerializer(ParamsSerializer):
        name = TextField(max_length=100, validators=[NAME_TEXT])
        family = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        description = TextField(required=False, allow_blank=True, max_length=5000,
                                validators=[DESCRIPTION_TEXT])
        search = serializers.JSONField(required=False, help_text="Makes it a smart album: see SmartSearch")

    @extend_schema(parameters=[AlbumFilterSerializer], responses=AlbumOutputSerializer(many=True))
    def get(self, request):
        filters = self.AlbumFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        family_filter(user=request.user, family_id=filters.validated_data.get("family"))
        paginator = self.pagination_class()
        albums = paginator.paginate_queryset(
            album_list(user=request.user, family_id=filters.validated_data.get("family")), request, view=self)
        # Each album's cover and count, and which the reader manages, asked once for the whole page, not per album.
        manageable = albums_manageable(user=request.user).filter(pk__in=[album.pk for album in albums])
        context = {"request": request, "tiles": album_tiles(albums=albums),
                   "manageable": set(manageable.values_list("pk", flat=True))}
        return paginator.get_paginated_response(AlbumOutputSerializer(albums, many=True, context=context).data)

    @extend_schema(request=AlbumCreateInputSerializer, responses={201: AlbumOutputSerializer}, parameters=[LOCATION])
    def post(self, request):
        data = self.AlbumCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        family = family_get(user=request.user, family_id=values["family"])
        album = album_create(user=request.user, family=family, name=values["name"],
                         description=values.get("description", ""), search=values.get("search"))
        album = album_get(user=request.user, album_id=album.pk)
        return created(request, AlbumOutputSerializer(album, context={"request": request}).data,
                       view_name="api_album_detail", pk=album.pk)


# Optimistic concurrency of an album's PATCH (RFC 9110 §13.1), as a photo's: its GET's ETag, sent back as If-Match.
ALBUM_IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                                  description="The album's ETag from your last GET: the PATCH is refused (412, saving "
                                              "nothing) when someone else saved the album since. Without it the "
                                              "PATCH applies whatever changed meanwhile.")


def _precondition(*, album: Album, if_match: str | None) -> None:
    """A PATCH's If-Match (album_api_version_check, under the row's lock in the caller's transaction): 412 when
    someone saved the album since, 404 when it was deleted meanwhile (code DELETED: the exception handler's)."""
    try:
        album_api_version_check(album=album, if_match=if_match)
    except DjangoValidationError as exc:
        if getattr(exc, "code", None) != "edit_conflict":
            raise
        raise PreconditionFailed(exc.messages[0]) from None


class AlbumDetailApi(APIView):
    parser_classes = [*APIView.parser_classes, MergePatchParser]

    class AlbumUpdateInputSerializer(ParamsSerializer):
        name = TextField(required=False, max_length=100, validators=[NAME_TEXT])
        description = ClearableTextField(required=False, max_length=5000, validators=[DESCRIPTION_TEXT])
        search = serializers.JSONField(required=False, help_text="A smart album's new search")
        cover = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
            help_text="The photo its tile shows (one of its photos; any member may pick it); null: its first photo")

    @extend_schema(responses=AlbumOutputSerializer,
                   description="The `ETag` header is the version of what a PATCH can change; send it back as "
                               "`If-Match` so that a PATCH never overwrites someone else's change made since.")
    def get(self, request, album_id: int):
        album = album_get(user=request.user, album_id=album_id)
        return Response(AlbumOutputSerializer(album, context={"request": request}).data,
                        headers={"ETag": quote_etag(album_api_version(album))})

    @extend_schema(request=AlbumUpdateInputSerializer, responses={
        200: AlbumOutputSerializer,
        412: OpenApiResponse(inline_serializer("AlbumPreconditionFailed", {"detail": serializers.CharField()}),
                             description="If-Match names an older version: someone saved the album since; nothing "
                                         "was saved (`detail` says what it reads now)")},
                   parameters=[ALBUM_IF_MATCH])
    def patch(self, request, album_id: int):
        album = album_get(user=request.user, album_id=album_id)
        data = self.AlbumUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        cover = values.pop("cover", _UNSET)
        with transaction.atomic():  # a refused cover leaves the name and description as they were too
            _precondition(album=album, if_match=request.headers.get("If-Match"))
            if values:
                album_update(user=request.user, album=album, **values)
            if cover is not _UNSET:
                try:
                    album_set_cover(user=request.user, album=album, photo_id=cover)
                except DjangoValidationError as exc:
                    raise ValidationError({"cover": exc.messages}) from None
        album = album_get(user=request.user, album_id=album_id)
        return Response(AlbumOutputSerializer(album, context={"request": request}).data,
                        headers={"ETag": quote_etag(album_api_version(album))})

    @extend_schema(responses={204: None})
    def delete(self, request, album_id: int):
        album = album_get(user=request.user, album_id=album_id)
        album_delete(user=request.user, album=album)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoOutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    reason = serializers.CharField(help_text='Why not (or "Already in the album."); "" when done')


class PhotoOutcomesSerializer(serializers.Serializer):
    results = PhotoOutcomeSerializer(many=True)


class AlbumOrderSerializer(serializers.Serializer):
    photos = serializers.ListField(child=serializers.IntegerField(), help_text="The album's photos in their new order")


class AlbumPhotosApi(APIView):
    """An album's photos in its order (a smart album: its search's results now, best first); add, remove or reorder
    photos of a plain album. Each id is answered on its own: another family's or a missing photo is ok: false,
    "No such photo.", alike."""

    pagination_class = PageNumberPagination  # for GET; also tells the schema the list is a paginated object

    class AlbumPhotosInputSerializer(ParamsSerializer):
        photos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                       allow_empty=False, max_length=MAX_PHOTOS_PER_CALL)

    @extend_schema(responses=PhotoOutputSerializer(many=True))
    def get(self, request, album_id: int):
        album = album_get(user=request.user, album_id=album_id)
        ids = album_photo_ids(album=album)
        paginator = self.pagination_class()
        page_ids = paginator.paginate_queryset(ids, request, view=self)
        rows = photo_list(user=request.user, with_suggestions=True).filter(pk__in=page_ids).in_bulk()
        photos = [rows[pk] for pk in page_ids if pk in rows]
        return paginator.get_paginated_response(
            PhotoOutputSerializer(photos, many=True, context={"request": request}).data)

    @extend_schema(request=AlbumPhotosInputSerializer, responses=PhotoOutcomesSerializer)
    def post(self, request, album_id: int):
        return self._change(request, album_id, album_add_photos)

    @extend_schema(request=AlbumPhotosInputSerializer, responses={200: PhotoOutcomesSerializer})
    def delete(self, request, album_id: int):
        return self._change(request, album_id, album_remove_photos)

    @extend_schema(request=AlbumPhotosInputSerializer, responses=AlbumOrderSerializer,
                   description="Put a plain album's photos in this order (any member): ids not in the album are "
                               "ignored, and the photos left out follow those given, in their order.")
    def put(self, request, album_id: int):
        album = album_get(user=request.user, album_id=album_id)
        data = self.AlbumPhotosInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        album_reorder(user=request.user, album=album, photo_ids=data.validated_data["photos"])
        return Response({"photos": album_photo_ids(album=album)})

    def _change(self, request, album_id: int, service):
        album = album_get(user=request.user, album_id=album_id)
        data = self.AlbumPhotosInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcomes = service(user=request.user, album=album, photo_ids=data.validated_data["photos"])
        return Response({"results": [outcome._asdict() for outcome in outcomes]})


# --- share links ----------------------------------------------------------------------------------


class ShareOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    album = serializers.IntegerField(source="album_id")
    note = serializers.CharField(help_text="Who the link is for (only members see it)")
    has_password = serializers.BooleanField(help_text="Visitors must type a password")
    allow_download = serializers.BooleanField(help_text="Visitors may download the originals")
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    state = serializers.SerializerMethodField(help_text="active, revoked or expired: only an active link works")

    @extend_schema_field(serializers.ChoiceField(choices=AlbumShare.State.choices))
    def get_state(self, share: AlbumShare) -> str:
        return share.state()


class NewShareOutputSerializer(ShareOutputSerializer):
    link = serializers.SerializerMethodField(help_text="The link to give visitors: shown this once (only its hash "
                                                       "is kept)")

    def get_link(self, share: AlbumShare) -> str:
        return self.context["link"]


def _managed_album(request, album_id: int) -> Album:
    """The album (a 404 when not in one of the caller's families), if the caller may share it (else 403, as on the
    album's share page)."""
    album = album_get(user=request.user, album_id=album_id)
    if not album_can_manage(user=request.user, album=album):
        raise PermissionDenied("Only the album's creator or a family admin can share it.")
    return album


class AlbumSharesApi(APIView):
    """An album's share links, newest first (revoked and expired ones too), and a new one: for the album's creator
    or a family admin, as on the album's share page. The link itself is answered once, when it is made."""

    pagination_class = PageNumberPagination

    class ShareCreateInputSerializer(ParamsSerializer):
        days = serializers.IntegerField(required=False, min_value=1, max_value=SHARE_MAX_DAYS,
                                        help_text=f"How long it works (default SHARE_DAYS, at most {SHARE_MAX_DAYS})")
        password = TextField(required=False, allow_blank=True, max_length=128, trim_whitespace=False,
                             help_text="Optional: visitors must type it")
        allow_download = serializers.BooleanField(required=False, default=False)
        note = TextField(required=False, allow_blank=True, max_length=100, help_text="Who it is for")

    @extend_schema(responses=ShareOutputSerializer(many=True))
    def get(self, request, album_id: int):
        album = _managed_album(request, album_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(share_list(album=album), request, view=self)
        return paginator.get_paginated_response(ShareOutputSerializer(page, many=True).data)

    @extend_schema(request=ShareCreateInputSerializer, responses={201: NewShareOutputSerializer},
                   parameters=[LOCATION])
    def post(self, request, album_id: int):
        album = _managed_album(request, album_id)
        data = self.ShareCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        form = ShareForm({"days": settings.SHARE_DAYS, **data.validated_data})  # the share page's form and rules
        if not form.is_valid():
            raise ValidationError(api_errors(DjangoValidationError(form.errors.as_data())))
        # (the album deleted meanwhile: a 404, gallery.apis.exception_handler)
        made = share_create(user=request.user, album=album, **form.cleaned_data)
        link = request.build_absolute_uri(reverse("shared_album", args=[made.token]))
        return created(request, NewShareOutputSerializer(made.share, context={"link": link}).data,
                       view_name="api_album_share_detail", pk=(album.pk, made.share.pk))


class AlbumShareDetailApi(APIView):
    """One share link of an album (never the link itself: it was shown once); DELETE revokes it (it stops working
    at once and stays listed as revoked)."""

    @extend_schema(responses=ShareOutputSerializer)
    def get(self, request, album_id: int, share_id: int):
        share = share_get(user=request.user, album=_managed_album(request, album_id), share_id=share_id)
        return Response(ShareOutputSerializer(share).data)

    @extend_schema(responses={204: None})
    def delete(self, request, album_id: int, share_id: int):
        share = share_get(user=request.user, album=_managed_album(request, album_id), share_id=share_id)
        share_revoke(user=request.user, share=share)  # gone meanwhile: a 404 (gallery.apis.exception_handler)
        return Response(status=status.HTTP_204_NO_CONTENT)
