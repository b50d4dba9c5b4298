"""REST API (DRF). Same selectors and services as the pages, so the same isolation rules."""

from __future__ import annotations

from contextlib import contextmanager
import re
from datetime import date, datetime, time, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ParseError, PermissionDenied, Throttled, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from gallery.album_services import album_add_uploaded, upload_album
from gallery.api_fields import ClearableTextField, NumberField, ParamsSerializer, TextField, TextRegexField
from gallery.bulk import BULK_ACTIONS, BULK_MAX_PHOTOS, bulk_note, photos_bulk_apply
from gallery.models import Membership, Photo, PhotoTag
from gallery.forms import DESCRIPTION_MAX_CHARS, AcceptAboveForm
from gallery.selectors import (
    families_with_uploaders, family_filter, family_get, family_is_admin, family_known_places,
    family_suggestion_summary, open_suggestions, photo_get, photo_list, suggestion_get, trash_list, trash_photo_get,
)
from gallery.correction_services import (photo_date_set, photo_place_set, photos_shift_dates, rotation_apply,
                                         rotation_staged)
from gallery.files import ORIGINAL_MISSING, StorageFailed, StorageUnavailable
from gallery.images import ImageBusy, ImageRejected, human_size, too_large
from gallery.services import (
    DELETED, MAX_TAGS, UploadResult, member_hold, parse_tags, photo_api_version, photo_api_version_check,
    photo_embedded_read, photo_update, photo_upload, tags_clean,
)
from gallery.trash_services import (
    admin_family_ids, photo_may_manage, photos_favourite, photos_purge, photos_restore, photos_trash, purge_at,
    trash_empty,
)
from gallery.suggestions import suggestion_accept, suggestion_dismiss, suggestions_accept_above
from gallery.memories import MEMORY_PHOTOS, memories
from gallery.timeline import TimelineFilters
from gallery.upload_limits import upload_report
from gallery.text import DESCRIPTION_TEXT, TITLE_TEXT, id_from_text
from mediasearch.parsers import JSONParser, MergePatchParser


# For the schema of an operation answering created(...).
LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201],
                            description="The API URL of what was created")


# Optimistic concurrency of a photo's PATCH (RFC 9110 §13.1): its GET's ETag, sent back as If-Match.
IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                            description="The photo's ETag from your last GET: the PATCH is refused (412, saving "
                                        "nothing) when someone else saved the photo since. Without it the PATCH "
                                        "applies whatever changed meanwhile.")


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The photo changed since you read it."
    default_code = "edit_conflict"


def photo_response(request, photo_id: int) -> Response:
    """The photo as it is now (read again after a change), as every photo endpoint answers it."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    return Response(PhotoOutputSerializer(photo, context={"request": request}).data)


def created(request, data, *, view_name: str, pk: int | tuple[int, ...]) -> Response:
    """A 201 that names what it created in Location (RFC 9110), so a client follows it instead of building the URL.
    `pk`: the URL's id, or its ids in order (a nested resource)."""
    args = list(pk) if isinstance(pk, tuple) else [pk]
    return Response(data, status=status.HTTP_201_CREATED,
                    headers={"Location": request.build_absolute_uri(reverse(view_name, args=args))})


def api_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as a 400's body: field → messages when it names its fields (the request as a
    whole as "non_field_errors", as DRF says it), else its messages under "detail"."""
    if not hasattr(exc, "error_dict"):
        return {"detail": exc.messages}
    return {("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()}


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def exception_handler(exc, context):
    """DRF's handler (settings.REST_FRAMEWORK), which also answers a service's refusals: a Django ValidationError is a
    400 in api_errors' shape, a Django PermissionDenied a 403 that keeps its message (DRF's own says only "You do not
    have permission"), and a refusal of something deleted since the view read it (code DELETED: an album, a link, a
    photo, a suggestion, gone meanwhile) the 404 of a missing one, saying why (only a member who could read it gets
    that far: anyone else had the selector's 404). A view maps a refusal to a field of its own where it knows better;
    nothing refused becomes a 500. A body past Django's limits, which reading request.data raises, is a 413 or 400 in
    JSON too (left to Django, it was the site's HTML "Bad request" page)."""
    if isinstance(exc, DjangoValidationError) and getattr(exc, "code", None) == DELETED:
        exc = NotFound(exc.messages[0])
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(api_errors(exc))
    elif isinstance(exc, DjangoPermissionDenied) and str(exc):
        exc = PermissionDenied(str(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge(f"The request's body is over {human_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, the most "
                           "this server reads (DATA_UPLOAD_MAX_MEMORY_SIZE): send less at once.")
    elif isinstance(exc, TooManyFieldsSent):
        exc = ParseError(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields, the most this "
                         "server reads (DATA_UPLOAD_MAX_NUMBER_FIELDS): send JSON, or fewer at once.")
    return drf_exception_handler(exc, context)


# DRF says "Date has wrong format" of 2023-02-30 too, which is in the right format but not a day.
DATE_ERRORS = {"invalid": "Not a day on the calendar: write it YYYY-MM-DD, e.g. 2023-02-28."}


class FamilyMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user_id", help_text="The user's id: what `uploaded_by` and search's "
                                                              "`uploader` filter by")
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class FamilyUploaderSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The user's id: what `uploaded_by` and search's `uploader` filter by")
    username = serializers.CharField()


class FamilyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    photo_count = serializers.IntegerField()
    members = FamilyMemberSerializer(source="membership_list", many=True, help_text="By username")
    uploaders = FamilyUploaderSerializer(
        source="uploader_list", many=True,
        help_text="Whoever's photos are in the family, by username: its members, and those who left it (no longer in "
                  "`members`), whose photos `uploaded_by` still finds")


class PlaceSerializer(serializers.Serializer):
    city = serializers.CharField(source="place_city")
    region = serializers.CharField(source="place_region")
    country = serializers.CharField(source="place_country")
    country_code = serializers.CharField(source="place_country_code")
    label = serializers.CharField(source="place_label", read_only=True,
                                  help_text='"Lisbon, Portugal": city, region and country, each name once, as pages show it')


class TagSuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tag = serializers.CharField(source="name")
    probability = serializers.FloatField(help_text="The image model's calibrated probability sigmoid(a·cos + b), 0 to 1")


class TagDetailSerializer(serializers.Serializer):
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=PhotoTag.Source.choices,
                                     help_text="member (typed by a member), embedded (from the file's metadata: a "
                                               "keyword, or a person named in a face region), sidecar (a person "
                                               "named in Google Photos, from the photo's Google Takeout sidecar), "
                                               "suggestion (an accepted tag suggestion)")


class PhotoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    family = serializers.IntegerField(source="family_id")
    title = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.SerializerMethodField()
    tag_details = serializers.SerializerMethodField(help_text="The tags (as in `tags`) with where each came from")
    title_source = serializers.ChoiceField(
        choices=Photo.FieldSource.choices,
        help_text='Who wrote the title: "" nobody (empty, or made from the file name), "member", or "embedded" '
                  "(the file's metadata; a member's edit is never replaced by it)")
    description_source = serializers.ChoiceField(choices=Photo.FieldSource.choices,
                                                 help_text="Who wrote the description, as title_source")
    original_filename = serializers.CharField()
    mime_type = serializers.CharField()
    file_size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    taken_at = serializers.DateTimeField()
    taken_at_source = serializers.CharField(help_text='exif, filename (no date in the file, one in its name: '
                                                      'IMG-20230614-WA0003.jpg), upload (no date in the file: the '
                                                      'upload time), file (no '
                                                      'date in it, imported: its modified time), sidecar (no date in it, '
                                                      'imported with a Google Takeout sidecar: the date there), '
                                                      'google (no date taken in the file nor in its Google Takeout '
                                                      'sidecar: when it was added to Google Photos, a guess), '
                                                      'folder_day, folder_month, folder_year (no date in the file, '
                                                      'imported: the day, month or year a folder\'s name tells, '
                                                      '"2019-07-14 Beach day", "2019-07 Italy", "2019"; a month or '
                                                      'year is dated its first day at noon), xmp (no EXIF date: the '
                                                      'date taken in its XMP metadata, the file\'s or its XMP '
                                                      'sidecar\'s, photoshop:DateCreated or exif:DateTimeOriginal) or '
                                                      'member (edited; '
                                                      're-reading the file keeps it)')
    taken_at_local = serializers.SerializerMethodField(
        help_text="taken_at in the zone the photo was taken in, with that zone's offset")
    taken_tz = serializers.SerializerMethodField(
        help_text='The zone it was taken in: an IANA name ("Europe/Lisbon") or an offset ("+05:30") from the '
                  "camera (EXIF OffsetTimeOriginal), its GPS position, else the server's TIME_ZONE")
    camera_make = serializers.CharField()
    camera_model = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    place = serializers.SerializerMethodField(
        help_text="Where the photo was taken: the GPS position's place (offline GeoNames), else the one the file names "
                  "(IPTC City/Country; country_code empty when the country is unknown) or a member set; null when unknown")
    place_source = serializers.CharField(help_text='"" unknown, gps, embedded (the file names it) or member (edited)')
    rotation = serializers.IntegerField(help_text="Degrees clockwise a member turned it (renditions and search show "
                                                  "it turned; the original is untouched)")
    sha256 = serializers.CharField()
    phash = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username", allow_null=True, default=None)
    uploaded_at = serializers.DateTimeField()
    favourite = serializers.BooleanField(source="is_favourite", default=False, read_only=True,
                                         help_text="One of your favourites (each member has their own)")
    status = serializers.CharField()
    status_reason = serializers.CharField()
    text_in_photo = serializers.SerializerMethodField(help_text='Text read in the photo (OCR); "" when none was found or it was not read')
    ocr_status = serializers.CharField(help_text="pending, processing, skipped (no text expected), done or failed")
    tag_suggestions = serializers.SerializerMethodField(
        help_text="Open tag suggestions of the image model, most probable first; accept or dismiss them at "
                  "/api/v1/photos/{id}/suggestions/{suggestion id}/accept/ or .../dismiss/")
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    display_url = serializers.SerializerMethodField(help_text="An upright JPEG within DISPLAY_SIZE² that every browser shows")
    original_url = serializers.SerializerMethodField()

    @extend_schema_field(PlaceSerializer(allow_null=True))
    def get_place(self, photo: Photo) -> dict | None:
        # As the photo page: a place the file names without a country we know (IPTC City alone, "Ruritania")
        # is a place too, its country_code empty.
        return PlaceSerializer(photo).data if photo.place_label else None

    def get_text_in_photo(self, photo: Photo) -> str:
        return photo.text_in_photo or ""

    @extend_schema_field(TagSuggestionSerializer(many=True))
    def get_tag_suggestions(self, photo: Photo) -> list[dict]:
        suggestions = getattr(photo, "open_suggestions", None)  # prefetched by the selectors
        if suggestions is None:
            suggestions = open_suggestions().filter(photo=photo)
        return TagSuggestionSerializer(suggestions, many=True).data

    def get_tags(self, photo: Photo) -> list[str]:
        return [tag.name for tag in photo.tags.all()]

    @extend_schema_field(TagDetailSerializer(many=True))
    def get_tag_details(self, photo: Photo) -> list[dict]:
        sources = photo.tag_sources
        return [{"name": tag.name, "source": sources.get(tag.pk, PhotoTag.Source.MEMBER)} for tag in photo.tags.all()]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_taken_at_local(self, photo: Photo) -> str:
        return photo.taken_at_local.isoformat()

    def get_taken_tz(self, photo: Photo) -> str:
        return photo.taken_tz or settings.TIME_ZONE

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, photo: Photo) -> str:
        return self._absolute(photo.get_absolute_url())

    def get_thumbnail_url(self, photo: Photo) -> str:
        return self._absolute(photo.thumbnail_url)

    def get_display_url(self, photo: Photo) -> str:
        return self._absolute(photo.display_url)

    def get_original_url(self, photo: Photo) -> str:
        return self._absolute(photo.original_url)


class FamilyListApi(APIView):
    @extend_schema(responses=FamilyOutputSerializer(many=True))
    def get(self, request):
        return Response(FamilyOutputSerializer(families_with_uploaders(user=request.user), many=True).data)


class FamilyPlaceSerializer(serializers.Serializer):
    city = serializers.CharField()
    region = serializers.CharField()
    country = serializers.CharField()
    country_code = serializers.CharField()
    label = serializers.CharField(read_only=True, help_text="as a photo's place.label")


class FamilyPlacesApi(APIView):
    """The places where a family's photos were taken, by country then city: what PATCH /api/v1/photos/{id}/ takes
    as "place" (the photo page's picker)."""

    @extend_schema(responses=FamilyPlaceSerializer(many=True))
    def get(self, request, family_id: int):
        family = family_get(user=request.user, family_id=family_id)
        return Response(FamilyPlaceSerializer(family_known_places(family_id=family.pk), many=True).data)


class UploadConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Where the same file already is")
    photo = PhotoOutputSerializer(help_text="The photo already holding these bytes")


class MemoryOutputSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The earlier day (the photos' own local day)")
    years_ago = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Photos taken that day (under the filters)")
    photos = PhotoOutputSerializer(many=True, help_text=f"The day's first {MEMORY_PHOTOS}, by time taken")


class MemoriesOutputSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day whose earlier years these are")
    memories = MemoryOutputSerializer(many=True, help_text="Newest year first; [] when no earlier year has photos")


class TimelineFilterSerializer(ParamsSerializer):
    """The filters of the photo lists (the timeline's): a family, a tag, the user's favourites."""

    family = serializers.IntegerField(required=False)
    tag = TextField(required=False)
    favourite = serializers.BooleanField(required=False, default=False, help_text="1: your favourites only")
    city = TextField(required=False, max_length=200,
                     help_text="Taken in the city of that name (any case), as the timeline's ?city=")
    country = TextRegexField(r"^[A-Za-z]{2}$", required=False,
                             error_messages={"invalid": "A country's two-letter ISO code: PT, GB, US."},
                             help_text="Taken in the country of that ISO code (PT)")

    def timeline_filters(self) -> TimelineFilters:
        data = self.validated_data
        return TimelineFilters(family_id=data.get("family"), tag=data.get("tag") or None, favourite=data["favourite"],
                               city=data.get("city") or None, country=(data.get("country") or "").upper() or None)


class MemoriesApi(APIView):
    """On this day: the photos taken on a date (today by default, the site's TIME_ZONE) in earlier years, one entry
    per year, as the timeline's "On this day" row; the timeline's filters apply."""

    class FilterSerializer(TimelineFilterSerializer):
        date = serializers.DateField(required=False, error_messages=DATE_ERRORS,
                                     help_text="YYYY-MM-DD (default: today); earlier years of its month and day")

    @extend_schema(parameters=[FilterSerializer], responses=MemoriesOutputSerializer)
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        family_filter(user=request.user, family_id=data.get("family"))
        today = data.get("date") or timezone.localdate()
        found = memories(user=request.user, today=today, filters=filters.timeline_filters())
        # The API's whole photos (tags, suggestions), read in one go for every memory's few.
        rows = photo_list(user=request.user, with_suggestions=True).in_bulk(
            [photo.pk for memory in found for photo in memory.photos])
        answer = {"date": today, "memories": [
            {"day": m.day, "years_ago": m.years_ago, "count": m.count,
             "photos": [rows[photo.pk] for photo in m.photos if photo.pk in rows]} for m in found]}
        return Response(MemoriesOutputSerializer(answer, context={"request": request}).data)


class PhotoListApi(APIView):
    pagination_class = PageNumberPagination  # also tells the schema the list is a paginated object
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class FilterSerializer(TimelineFilterSerializer):
        uploaded_by = serializers.IntegerField(required=False)
        status = serializers.ChoiceField(choices=Photo.Status.choices, required=False,
                                         help_text="Only photos in this state of indexing (failed: those "
                                                   "POST /api/v1/photos/{id}/retry/ tries again)")
        taken_after = serializers.DateField(required=False, error_messages=DATE_ERRORS,
                                            help_text="First day (YYYY-MM-DD), as the photo's own local date")
        taken_before = serializers.DateField(required=False, error_messages=DATE_ERRORS,
                                             help_text="Last day (YYYY-MM-DD), as the photo's own local date")

        def validate(self, data):
            if data.get("taken_after") and data.get("taken_before") and data["taken_before"] < data["taken_after"]:
                raise ValidationError({"taken_before": ["The last day comes before the first (taken_after)."]})
            return data

    class UploadInputSerializer(ParamsSerializer):
        file = serializers.FileField()
        family = serializers.IntegerField()
        tags = TextField(required=False, allow_blank=True, help_text="Comma separated")
        description = TextField(required=False, allow_blank=True,
                                max_length=DESCRIPTION_MAX_CHARS,
                                validators=[DESCRIPTION_TEXT])
        album = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                         help_text="A plain album of the family to put the photo in (a duplicate's "
                                                   "photo too)")

    @extend_schema(parameters=[FilterSerializer], responses=PhotoOutputSerializer(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        family_filter(user=request.user, family_id=filters.validated_data.get("family"))
        photos = photo_list(
            user=request.user,
            family_id=filters.validated_data.get("family"),
            tag=filters.validated_data.get("tag"),
            uploaded_by_id=filters.validated_data.get("uploaded_by"),
            favourite=filters.validated_data["favourite"],
            with_suggestions=True,
            status=filters.validated_data.get("status"),
            taken_after=filters.validated_data.get("taken_after"),
            taken_before=filters.validated_data.get("taken_before"),
            city=filters.validated_data.get("city"),
            country=filters.validated_data.get("country"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(photos, request, view=self)
        return paginator.get_paginated_response(PhotoOutputSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request={"multipart/form-data": UploadInputSerializer}, parameters=[LOCATION],
                   responses={201: PhotoOutputSerializer, 200: PhotoOutputSerializer, 409: UploadConflictSerializer},
                   description="201: stored. 200: the same file was in the family's trash, and is restored. "
                               "409: the same file is already in the family. 413: the file is over UPLOAD_MAX_BYTES "
                               "(or the body over UPLOAD_MAX_REQUEST_BYTES).")
    def post(self, request):
        if refused := _upload_refused(request):
            return refused
        if (count := len(request.FILES.getlist("file"))) > 1:
            # One photo per request (each gets its own answer: stored, duplicate, refused): never keep one silently.
            raise ValidationError({"file": [f"One file per request: this one carried {count}. "
                                            "Send each photo in its own POST."]})
        data = self.UploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        family = family_get(user=request.user, family_id=data.validated_data["family"])
        try:
            tags = tags_clean(parse_tags(data.validated_data.get("tags", "")))
        except DjangoValidationError as exc:
            raise ValidationError({"tags": exc.messages}) from None
        try:
            album = upload_album(user=request.user, family=family, album_id=data.validated_data.get("album"))
        except DjangoValidationError as exc:
            raise ValidationError({"album": exc.messages}) from None
        upload = data.validated_data["file"]
        result = photo_upload(
            family=family,
            uploaded_by=request.user,
            stream=upload,
            filename=upload.name,
            tags=tags,
            description=data.validated_data.get("description", ""),
        )
        if result.outcome == UploadResult.REJECTED:
            raise ValidationError({"file": [result.reason]})
        if album is not None:
            [result] = album_add_uploaded(user=request.user, album=album, results=[result])
        if result.outcome == UploadResult.RESTORED:
            photo = photo_get(user=request.user, photo_id=result.photo.pk)
            return Response(PhotoOutputSerializer(photo, context={"request": request}).data, status=status.HTTP_200_OK)
        if result.outcome == UploadResult.DUPLICATE:
            body = {"detail": result.reason, "photo": PhotoOutputSerializer(result.photo, context={"request": request}).data}
            return Response(body, status=status.HTTP_409_CONFLICT)
        photo = photo_get(user=request.user, photo_id=result.photo.pk)
        return created(request, PhotoOutputSerializer(photo, context={"request": request}).data,
                       view_name="api_photo_detail", pk=photo.pk)


def _upload_refused(request) -> Response | None:
    """The answer when the upload handler refused the body while it streamed in (see gallery/upload_limits.py)."""
    report = upload_report(request)
    if problem := report.problem():
        status_code, message = problem
        return Response({"detail": message}, status=status_code)
    if report.too_large:
        reason = too_large(settings.UPLOAD_MAX_BYTES)
        return Response({"detail": " ".join(f"{name}: {reason}" for name in report.too_large)},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if report.not_received:  # the server's temporary space was full: said like a storage fault
        return Response({"file": [f"{name}: {reason}" for name, reason in report.not_received]},
                        status=status.HTTP_400_BAD_REQUEST)
    return None


class LocalDateTimeField(serializers.DateTimeField):
    """A date and time that stays naive when it comes without an offset: the service reads it in the photo's zone. A
    day alone ("1987-06-14", a scan) is its noon, as the photo page sets it; a day the calendar has not ("2021-02-30")
    is said as such, not as a format the client had followed."""

    default_error_messages = {"no_day": "{day} is no day of the calendar."}
    _DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[T ])")

    def to_internal_value(self, value):
        if isinstance(value, str) and (match := self._DAY.match(value.strip())):
            try:
                day = date(*(int(part) for part in match.groups()))
            except ValueError:
                self.fail("no_day", day=match.group(0))
            if match.group(0) == value.strip():
                value = datetime.combine(day, time(12, 0))
        return super().to_internal_value(value)

    def enforce_timezone(self, value):
        return value if timezone.is_naive(value) else super().enforce_timezone(value)


class PlaceInputSerializer(serializers.Serializer):
    city = TextField(allow_blank=True, default="", max_length=200)
    region = TextField(allow_blank=True, default="", max_length=200)
    country_code = TextField(allow_blank=True, default="", max_length=2)


class PhotoDetailApi(APIView):
    parser_classes = [*APIView.parser_classes, MergePatchParser]

    class UpdateInputSerializer(ParamsSerializer):
        title = ClearableTextField(required=False, max_length=255, validators=[TITLE_TEXT])
        description = ClearableTextField(required=False, max_length=DESCRIPTION_MAX_CHARS,
                                         validators=[DESCRIPTION_TEXT])
        tags = serializers.ListField(child=TextField(max_length=64), required=False, max_length=50)
        taken_at = LocalDateTimeField(
            required=False, help_text="A member's date taken (taken_at_source becomes \"member\"); without an offset "
                                      "it is read in the zone the photo was taken in (taken_tz), as the photo page "
                                      "reads it; a day alone is its noon")
        latitude = NumberField(required=False, allow_null=True, min_value=-90, max_value=90,
                                help_text="With longitude: a position, reverse-geocoded offline; both null clear "
                                          "the place")
        longitude = NumberField(required=False, allow_null=True, min_value=-180, max_value=180)
        place = PlaceInputSerializer(required=False, help_text="One of the family's known places (GET "
                                                               "/api/v1/families/{id}/places/, or a photo's `place`); "
                                                               "the position is cleared")
        rotation = serializers.ChoiceField(choices=[0, 90, 180, 270], required=False,
                                           help_text="Degrees clockwise from the original's upright orientation")

        def validate(self, data):
            if "place" in data and ("latitude" in data or "longitude" in data):
                raise ValidationError("Give a place or a position, not both.")
            if ("latitude" in data) != ("longitude" in data) or \
                    (data.get("latitude") is None) != (data.get("longitude") is None):
                raise ValidationError("A position needs both a latitude and a longitude.")
            return data

    @extend_schema(responses=PhotoOutputSerializer,
                   description="The `ETag` header is the version of what a PATCH can change (not of the whole answer: "
                               "the worker changes `status` and suggestions under it); send it back as `If-Match` so "
                               "that a PATCH never overwrites someone else's change made since.")
    def get(self, request, photo_id: int):
        photo = photo_get(user=request.user, photo_id=photo_id)
        return Response(PhotoOutputSerializer(photo, context={"request": request}).data,
                        headers={"ETag": quote_etag(photo_api_version(photo))})

    @extend_schema(request=UpdateInputSerializer, responses={
        200: PhotoOutputSerializer,
        412: OpenApiResponse(inline_serializer("PreconditionFailed", {"detail": serializers.CharField()}),
                             description="If-Match names an older version: someone saved the photo since; nothing "
                                         "was saved (`detail` says what it reads now)")},
                   parameters=[IF_MATCH])
    def patch(self, request, photo_id: int):
        photo = photo_get(user=request.user, photo_id=photo_id)
        data = self.UpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        corrections = {name: values.pop(name) for name in ("taken_at", "latitude", "longitude", "place")
                       if name in values}
        rotation = values.pop("rotation", None)
        if_match = request.headers.get("If-Match")
        if rotation is not None:
            # Out of date already: say so before decoding the picture (the check under the row's lock follows).
            _precondition(photo=photo, if_match=if_match, locked=False)
        # A rotation's renditions are decoded and written first, outside the transaction (slow, and no lock held);
        # they become the photo's inside it, with everything else of the request: all or nothing, a refused place,
        # date or rotation leaves the title and tags of the same request unsaved (and no rendition file behind).
        with _rotation_errors(), rotation_staged(photo=photo, rotation=photo.rotation if rotation is None else rotation) \
                as renditions, transaction.atomic():
            member_hold(family=photo.family, user=request.user)  # (every change below: removed since, none is saved)
            _precondition(photo=photo, if_match=if_match)
            if values:
                try:
                    photo_update(photo=photo, **values, user=request.user)
                except DjangoValidationError as exc:
                    if getattr(exc, "code", None) == DELETED:  # deleted for good meanwhile: exception_handler's 404
                        raise
                    raise ValidationError({"tags": exc.messages}) from None
            _apply_corrections(photo=photo, **corrections)
            if renditions is not None and not rotation_apply(photo=photo, renditions=renditions):
                raise Http404  # deleted for good meanwhile
        photo = photo_get(user=request.user, photo_id=photo_id)
        return Response(PhotoOutputSerializer(photo, context={"request": request}).data,
                        headers={"ETag": quote_etag(photo_api_version(photo))})

    @extend_schema(responses={204: None}, description="Moves the photo to its family's trash (restorable for "
                                                       "TRASH_DAYS by its uploader or a family admin).")
    def delete(self, request, photo_id: int):
        photo = photo_get(user=request.user, photo_id=photo_id)
        _one(photos_trash(user=request.user, photo_ids=[photo.pk]))
        return Response(status=status.HTTP_204_NO_CONTENT)


_UNSET = object()


def _apply_corrections(*, photo: Photo, taken_at=None, latitude=_UNSET, longitude=None, place=None) -> None:
    """The corrections of a PATCH, each through its service; a bad value is a 400 naming its field. A latitude and
    longitude of null clear the place. The place first: it moves the photo's zone, and a date given with it is then
    read in the new zone (or kept as given, with its offset)."""
    if place is not None:
        known = {(p.city, p.region, p.country_code.upper()): p for p in family_known_places(family_id=photo.family_id)}
        chosen = known.get((place["city"], place["region"], place["country_code"].upper()))
        if chosen is None:
            raise ValidationError({"place": ["Not one of the family's places (GET /api/v1/families/{id}/places/)."]})
        photo_place_set(photo=photo, place=chosen)
    elif latitude is not _UNSET:
        photo_place_set(photo=photo, latitude=latitude, longitude=longitude)
    try:
        if taken_at is not None:
            photo_date_set(photo=photo, taken_at=taken_at)
    except DjangoValidationError as exc:
        raise ValidationError({"taken_at": exc.messages}) from None


def _precondition(*, photo: Photo, if_match: str | None, locked: bool = True) -> None:
    """A PATCH's If-Match (photo_api_version_check; `locked`: under the row's lock, in the caller's transaction, else
    a first look at the photo as read): 412 when someone saved the photo since, 404 when it was deleted for good (code
    DELETED: exception_handler's)."""
    try:
        photo_api_version_check(photo=photo, if_match=if_match, lock=locked)
    except DjangoValidationError as exc:
        if getattr(exc, "code", None) != "edit_conflict":
            raise
        raise PreconditionFailed(exc.messages[0]) from None


@contextmanager
def _rotation_errors():
    """What making a rotation's renditions can meet, as the API answers it (nothing else raises these)."""
    try:
        yield
    except ImageBusy:
        raise Throttled(wait=5, detail="The server is busy with other pictures: try again in a moment.") from None
    except StorageUnavailable:
        raise StorageNotAnswering() from None
    except FileNotFoundError:
        raise ValidationError({"rotation": [ORIGINAL_MISSING]}) from None
    except (ImageRejected, OSError, StorageFailed) as exc:
        raise ValidationError({"rotation": [str(exc)]}) from None


class StorageNotAnswering(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The photo storage is not answering. Please try again in a moment."


def _one(results) -> None:
    """A single-photo action's result as the API answers it: nothing when done, else 403 with the reason (the
    photo was fetched by a selector first, so "missing" and "not yours" were already a 404)."""
    [result] = results
    if not result.ok:
        raise PermissionDenied(result.reason)


class PhotoRestoreApi(APIView):
    """Take a photo out of the trash (its uploader or a family admin)."""

    @extend_schema(request=None, responses=PhotoOutputSerializer)
    def post(self, request, photo_id: int):
        photo = trash_photo_get(user=request.user, photo_id=photo_id)
        _one(photos_restore(user=request.user, photo_ids=[photo.pk]))
        return photo_response(request, photo_id)


class PhotoReadMetadataApi(APIView):
    """Read the photo's file again for its embedded metadata (XMP, IPTC, EXIF: keywords, title, description,
    place, time zone) and apply it as an upload does: a member's edits are never replaced (`manage.py
    read_embedded` for one photo; any member of its family). Answers the photo as it is now."""

    @extend_schema(request=None, responses=PhotoOutputSerializer)
    def post(self, request, photo_id: int):
        photo = photo_get(user=request.user, photo_id=photo_id)
        if not settings.EMBEDDED_METADATA:
            raise ValidationError({"detail": ["Reading embedded metadata is switched off on this server "
                                              "(EMBEDDED_METADATA)."]})
        photo_embedded_read(photo=photo)
        return photo_response(request, photo_id)


class FavouriteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    favourite = serializers.BooleanField()


class PhotoFavouriteApi(APIView):
    """Your heart on a photo: POST marks it as one of your favourites, DELETE unmarks it (both idempotent)."""

    @extend_schema(request=None, responses=FavouriteOutputSerializer)
    def post(self, request, photo_id: int):
        return self._set(request, photo_id, on=True)

    @extend_schema(request=None, responses={200: FavouriteOutputSerializer})
    def delete(self, request, photo_id: int):
        return self._set(request, photo_id, on=False)

    def _set(self, request, photo_id: int, *, on: bool) -> Response:
        photo = photo_get(user=request.user, photo_id=photo_id)
        _one(photos_favourite(user=request.user, photo_ids=[photo.pk], on=on))
        return Response({"id": photo.pk, "favourite": on})


class TrashedPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    family = serializers.IntegerField(source="family_id")
    title = serializers.CharField(source="__str__")
    original_filename = serializers.CharField()
    taken_at = serializers.DateTimeField()
    uploaded_by = serializers.CharField(source="uploaded_by.username", allow_null=True, default=None)
    trashed_at = serializers.DateTimeField()
    trashed_by = serializers.CharField(source="trashed_by.username", allow_null=True, default=None)
    purge_at = serializers.SerializerMethodField(help_text="When it will be deleted for good (trashed_at + TRASH_DAYS)")
    can_restore = serializers.SerializerMethodField(
        help_text="Whether you may restore it or delete it for good (its uploader or a family admin)")
    thumbnail_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_purge_at(self, photo: Photo) -> str:
        return serializers.DateTimeField().to_representation(purge_at(photo))

    def get_can_restore(self, photo: Photo) -> bool:
        return photo_may_manage(photo=photo, user=self.context["request"].user, admin_of=self.context["admin_of"])

    def get_thumbnail_url(self, photo: Photo) -> str:
        return self.context["request"].build_absolute_uri(photo.thumbnail_url)


class TrashListApi(APIView):
    """The photos in the trash of your families (or of one), most recently trashed first."""

    pagination_class = PageNumberPagination

    class FilterSerializer(ParamsSerializer):
        family = serializers.IntegerField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=TrashedPhotoSerializer(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        family_id = filters.validated_data.get("family")
        if family_id is not None:
            family_get(user=request.user, family_id=family_id)  # another family's trash is a 404
        photos = trash_list(user=request.user, family_id=family_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(photos, request, view=self)
        context = {"request": request, "admin_of": admin_family_ids(request.user)}
        return paginator.get_paginated_response(TrashedPhotoSerializer(page, many=True, context=context).data)


class TrashDetailApi(APIView):
    """Delete a photo in the trash for good (its uploader or a family admin): its row now, its files right after."""

    @extend_schema(responses={204: None})
    def delete(self, request, photo_id: int):
        photo = trash_photo_get(user=request.user, photo_id=photo_id)
        _one(photos_purge(user=request.user, photo_ids=[photo.pk]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrashEmptyOutputSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="How many photos were deleted for good")


class TrashEmptyApi(APIView):
    """Empty a family's trash: every photo in it deleted for good (family admins). The family is named in the body
    (`{"family": id}`) or in the query string (`?family=id`, as before)."""

    class FilterSerializer(ParamsSerializer):
        family = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                          help_text="The family whose trash to empty (or in the body)")

    class TrashEmptyInputSerializer(ParamsSerializer):
        family = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                          help_text="The family whose trash to empty (or in the query string)")

    @extend_schema(request=TrashEmptyInputSerializer, parameters=[FilterSerializer], responses=TrashEmptyOutputSerializer)
    def post(self, request):
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        body = self.TrashEmptyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        named = {query.validated_data.get("family"), body.validated_data.get("family")} - {None}
        if not named:
            raise ValidationError({"family": ["Name the family whose trash to empty: {\"family\": id} in the body "
                                              "or ?family=id."]})
        if len(named) > 1:
            raise ValidationError({"family": ["The body and the query string name different families."]})
        family = family_get(user=request.user, family_id=named.pop())
        deleted = trash_empty(user=request.user, family=family)
        return Response({"deleted": deleted})


class PhotoResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, help_text="why not, when not ok; another family's photo and a "
                                                                 "missing one get the same answer")


def taken_at_seen_field() -> serializers.DictField:
    """A shift's optional record of the dates read: photo id → its taken_at as the client read it."""
    return serializers.DictField(
        child=serializers.DateTimeField(), required=False,
        help_text="Each photo's taken_at as you read it (id → taken_at, as GET answers it): when any of them changed "
                  "since (someone re-dated it, or this same shift was sent before), nothing is shifted (409, saying "
                  "what they read now). Without it the shift applies to the dates as they are.")


def taken_at_seen(data: dict) -> dict[int, datetime]:
    """`taken_at_seen` of a request's validated data, by photo id (400 for a key that is no id)."""
    seen = {}
    for key, at in data.get("taken_at_seen", {}).items():
        if (photo_id := id_from_text(key)) is None:
            raise ValidationError({"taken_at_seen": [f"“{key}” is not a photo id."]})
        seen[photo_id] = at
    return seen


class ShiftConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The dates of these photos changed since you read them."
    default_code = "shift_conflict"


@contextmanager
def _shift_conflicts():
    """A shift refused over dates changed since they were read: 409, in the words the pages use."""
    try:
        yield
    except DjangoValidationError as exc:
        if getattr(exc, "code", None) == "shift_conflict":
            raise ShiftConflict(" ".join(exc.messages)) from None
        raise


class ShiftDatesInputSerializer(ParamsSerializer):
    photos = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
    seconds = serializers.IntegerField(min_value=-100 * 366 * 86400, max_value=100 * 366 * 86400,
                                       help_text="the offset: negative for earlier; each whole 86,400 seconds a day of "
                                                 "the calendar where each photo was taken (its clock time stays "
                                                 "across a DST change), the rest time gone by")
    taken_at_seen = taken_at_seen_field()


class ShiftDatesOutputSerializer(serializers.Serializer):
    results = PhotoResultSerializer(many=True)


SHIFT_CONFLICT = OpenApiResponse(inline_serializer("ShiftConflict", {"detail": serializers.CharField()}),
                                 description="taken_at_seen names a date that changed since: nothing was shifted")


class ShiftDatesApi(APIView):
    """Move the date taken of photos by an offset (a camera whose clock was wrong); each is marked as edited."""

    @extend_schema(request=ShiftDatesInputSerializer, responses={200: ShiftDatesOutputSerializer, 409: SHIFT_CONFLICT})
    def post(self, request):
        data = ShiftDatesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with _shift_conflicts():
                results = photos_shift_dates(user=request.user, photo_ids=data.validated_data["photos"],
                                             delta=timedelta(seconds=data.validated_data["seconds"]),
                                             seen=taken_at_seen(data.validated_data))
        except DjangoValidationError as exc:
            raise ValidationError({"seconds": exc.messages}) from None
        return Response(ShiftDatesOutputSerializer({"results": [r._asdict() for r in results]}).data)


class SuggestionAcceptApi(APIView):
    """Accept a tag suggestion: it becomes an ordinary tag of the photo (source "suggestion")."""

    @extend_schema(request=None, responses=PhotoOutputSerializer)
    def post(self, request, photo_id: int, suggestion_id: int):
        suggestion = suggestion_get(user=request.user, photo_id=photo_id, suggestion_id=suggestion_id)
        suggestion_accept(suggestion=suggestion, user=request.user)  # gone meanwhile: a 404 (exception_handler)
        return photo_response(request, photo_id)


class SuggestionDismissApi(APIView):
    """Dismiss a tag suggestion: no longer shown nor searched, and never suggested again for this photo."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request, photo_id: int, suggestion_id: int):
        suggestion = suggestion_get(user=request.user, photo_id=photo_id, suggestion_id=suggestion_id)
        suggestion_dismiss(suggestion=suggestion, user=request.user)  # gone meanwhile: a 404 (exception_handler)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoBulkApi(APIView):
    """Do one action to many photos. Each photo is checked on its own: the answer has one result per distinct id, in
    the order sent; a photo of another family and an id that names no photo both answer ok=false, "No such photo."."""

    class BulkInputSerializer(ParamsSerializer):
        action = serializers.ChoiceField(
            choices=(),  # those registered when a request comes (__init__): search registers read_text at start-up
            help_text="add_tags and remove_tags need `tags`, add_to_album and remove_from_album need `album` (a plain "
                      "album of the photo's family), shift_dates needs `seconds`; favourite and unfavourite are the "
                      "user's own; trash and restore are for the photo's uploader or a family admin; read_text "
                      "(any member) queues the photos' text to be read, those read already only with `again`")
        photos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                       min_length=1, max_length=BULK_MAX_PHOTOS,
                                       help_text=f"Photo ids, at most {BULK_MAX_PHOTOS}")
        tags = serializers.ListField(child=TextField(max_length=64), required=False,
                                     max_length=MAX_TAGS, help_text="For add_tags and remove_tags")
        album = serializers.IntegerField(required=False, min_value=1, help_text="For add_to_album")
        seconds = serializers.IntegerField(required=False, min_value=-100 * 366 * 86400, max_value=100 * 366 * 86400,
                                           help_text="For shift_dates: the offset of the dates taken, negative for "
                                                     "earlier; each whole 86,400 seconds a day of the calendar where "
                                                     "each photo was taken, the rest time gone by")
        taken_at_seen = taken_at_seen_field()
        again = serializers.BooleanField(required=False, default=False,
                                         help_text="For read_text: read the text of photos read already too")

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["action"].choices = list(BULK_ACTIONS)

    class BulkResultSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        ok = serializers.BooleanField()
        reason = serializers.CharField(help_text='Why not, when ok is false; when ok, "" if the photo was changed, '
                                                 'else why it needed nothing ("Already in the album.", "It had these '
                                                 'tags already.", "It had none of these tags.")')

    @extend_schema(request=BulkInputSerializer, responses={200: inline_serializer(
        "PhotoBulkOutput", {"results": BulkResultSerializer(many=True), "note": serializers.CharField(
            required=False, help_text='Only for read_text: the OCR worker\'s time the photos queued take ("That is '
                                      'about 2 minutes of the worker’s time.")')}), 409: SHIFT_CONFLICT})
    def post(self, request):
        data = self.BulkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _shift_conflicts():
            results = photos_bulk_apply(user=request.user, action=data.validated_data["action"],
                                        photo_ids=data.validated_data["photos"],
                                        tags=data.validated_data.get("tags", ()),
                                        album_id=data.validated_data.get("album"),
                                        seconds=data.validated_data.get("seconds"),
                                        seen=taken_at_seen(data.validated_data),
                                        again=data.validated_data["again"])
        body = [{"id": r.id, "ok": r.ok, "reason": r.reason} for r in results]
        answer = {"results": self.BulkResultSerializer(body, many=True).data}
        if BULK_ACTIONS[data.validated_data["action"]].note is not None:
            answer["note"] = bulk_note(data.validated_data["action"], results)
        return Response(answer)


MIN_PROBABILITY_HELP = "A probability from 0 to 1 (default 0.9: what the model is 90% sure of)"


class FamilySuggestionSerializer(serializers.Serializer):
    tag = serializers.CharField(source="name")
    photos = serializers.IntegerField(help_text="The family's photos with this open suggestion")
    above = serializers.IntegerField(help_text="Those at or above min_probability")
    best = serializers.FloatField(help_text="The highest probability among them")


class FamilySuggestionsApi(APIView):
    """A family's open tag suggestions by tag, most often above `min_probability` first (the family's "Suggested
    tags" page; any member). Each photo's own are in its `tag_suggestions`, to accept or dismiss one by one."""

    pagination_class = PageNumberPagination

    class SuggestionFilterSerializer(ParamsSerializer):
        min_probability = NumberField(required=False, default=0.9, min_value=0, max_value=1,
                                      help_text=MIN_PROBABILITY_HELP)

    @extend_schema(parameters=[SuggestionFilterSerializer], responses=FamilySuggestionSerializer(many=True))
    def get(self, request, family_id: int):
        family = family_get(user=request.user, family_id=family_id)
        filters = self.SuggestionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        summary = family_suggestion_summary(family=family, min_probability=filters.validated_data["min_probability"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(summary, request, view=self)
        return paginator.get_paginated_response(FamilySuggestionSerializer(page, many=True).data)


class SuggestionsAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="How many suggestions became tags (a photo at the tag limit keeps "
                                                  "its suggestions open)")
    kept_open = serializers.ListField(child=serializers.CharField(),
                                      help_text="One sentence per photo at the tag limit whose suggestions stay open")


class FamilySuggestionsAcceptApi(APIView):
    """Accept every open suggestion of the family's photos at or above a probability: each becomes a tag (source
    "suggestion"). For the family's admins, as on its "Suggested tags" page."""

    class AcceptAboveInputSerializer(ParamsSerializer):
        min_probability = NumberField(required=False, default=0.9, min_value=0, max_value=1,
                                      help_text=MIN_PROBABILITY_HELP)

    @extend_schema(request=AcceptAboveInputSerializer, responses=SuggestionsAcceptedSerializer)
    def post(self, request, family_id: int):
        family = family_get(user=request.user, family_id=family_id)
        if not family_is_admin(user=request.user, family=family):
            raise PermissionDenied("Only the family's admins accept suggestions in bulk.")
        data = self.AcceptAboveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        form = AcceptAboveForm(data.validated_data)  # the page's form: the page's rules
        if not form.is_valid():
            raise ValidationError(api_errors(DjangoValidationError(form.errors.as_data())))
        kept_open: list[str] = []
        try:
            accepted = suggestions_accept_above(family=family, min_probability=form.cleaned_data["min_probability"],
                                                user=request.user, kept_open=kept_open)
        except DjangoValidationError as exc:
            raise ValidationError({"min_probability": exc.messages}) from None
        return Response({"accepted": accepted, "kept_open": kept_open})
