"""Search API: the same engine and scope rules as the search page, with the full score breakdown."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.utils import html
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery.api_fields import NumberField, ParamsSerializer, TextField, TextRegexField
from gallery.apis import (DATE_ERRORS, LOCATION, PhotoOutputSerializer, PhotoResultSerializer, api_errors, created,
                          photo_response)
from gallery.selectors import family_filter, family_get, photo_get
from search.duplicate_selectors import DUPLICATES_SHOWN, duplicate_groups_reviewed
from search.duplicate_services import DUPLICATES_TRASH_MAX, duplicate_group_trash
from search.duplicates import (DISMISS_MAX_PHOTOS, GroupChanged, duplicates_dismiss,
                               duplicates_dismiss_group, group_key_valid)
from search.engine import (
    MAX_LIMIT, MAX_QUERY_CHARS, MAX_REFINE, PAGE_SIZE, SORTS, SearchParams, preferences_for, refine_both_ways,
    search_photos, similar_photos,
)
from search.forms import MAX_PLAIN, PreferencesForm, photo_ids, refine_text
from search.judgment_selectors import judgment_get, judgment_list, judgment_verdicts
from search.judgment_services import judgment_delete, judgment_record
from search.models import SearchPreferences
from search.quality import family_quality
from search.ocr import OCR_OFF, photos_text_request
from search.ocr_requests import family_skipped_read_ask
from search.read_estimates import ReadEstimate
from mediasearch.parsers import MergePatchParser
from search.selectors import failed_photo_ids, skipped_text_count
from search.services import photos_retry, preferences_lock, preferences_reset, preferences_update
from search.text_embeddings import EncodeBudget
from search.query_parser import normalise
from search.understanding import understand_search


class ExplanationSerializer(serializers.Serializer):
    model_name = serializers.CharField(allow_null=True)
    cosine = serializers.FloatField(allow_null=True)
    probability = serializers.FloatField(allow_null=True, help_text="p_sem = sigmoid(a·cos + b)")
    term = serializers.CharField(allow_null=True, help_text="the expanded term that matched best")
    calibration_scale = serializers.FloatField(allow_null=True, help_text="a = exp(logit_scale)")
    calibration_bias = serializers.FloatField(allow_null=True, help_text="b = logit_bias")
    meta_score = serializers.FloatField(help_text="s_meta in [0, 1): the metadata's text rank, squashed")
    meta_fts = serializers.FloatField()
    meta_typo = serializers.FloatField()
    meta_fields = serializers.ListField(child=serializers.CharField(), help_text="what matched, as explain names it")
    meta_ranks = serializers.DictField(child=serializers.FloatField(),
                                       help_text="rank of each metadata field that matched (tags, title, …)")
    semantic_weight = serializers.FloatField()
    metadata_weight = serializers.FloatField()
    probability_semantic = serializers.FloatField(
        help_text="p_sem: probability of relevance from the image match (0 without one)")
    probability_metadata = serializers.FloatField(
        help_text="p_meta = 1 − Π(1 − p_k) over the kinds of metadata match found (0 without one)")
    meta_probabilities = serializers.DictField(
        child=serializers.FloatField(), help_text="p_k of each kind of metadata match found (tags, title, …, typo)")
    calibration_fitted = serializers.BooleanField(
        help_text="whether the family's calibration fitted from its judgments made these probabilities")
    excluded_probability = serializers.FloatField(
        allow_null=True, help_text="calibrated probability that an excluded concept (\"-dog\") is in the photo")
    excluded_metadata = serializers.FloatField(help_text="how surely the metadata names an excluded concept, 0-1")
    excluded_fields = serializers.ListField(child=serializers.CharField())
    exclusion_factor = serializers.FloatField(help_text="(1 - excluded_probability)·(1 - excluded_metadata)")
    score = serializers.FloatField(
        help_text="probability of relevance: (1 − (1 − probability_semantic)^(2·semantic_weight)"
                  " · (1 − probability_metadata)^(2·metadata_weight)) · exclusion_factor")


class PhotoRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="photo.pk")
    title = serializers.CharField(source="photo.__str__")
    family = serializers.IntegerField(source="photo.family_id")
    taken_at = serializers.DateTimeField(source="photo.taken_at")
    taken_at_local = serializers.SerializerMethodField(
        help_text="taken_at in the zone the photo was taken in, with that zone's offset")
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_taken_at_local(self, result) -> str:
        return result.photo.taken_at_local.isoformat()

    def get_url(self, result) -> str:
        return self.context["request"].build_absolute_uri(result.photo.get_absolute_url())

    def get_thumbnail_url(self, result) -> str:
        return self.context["request"].build_absolute_uri(result.photo.thumbnail_url)


class SearchResultSerializer(PhotoRefSerializer):
    score = serializers.FloatField()
    below_minimum = serializers.BooleanField()
    explanation = ExplanationSerializer()
    judgment = serializers.SerializerMethodField(
        help_text="your verdict on this result for this query: true (right), false (wrong), null (not judged); "
                  "POST /api/v1/search/judgments/ to judge")

    def get_judgment(self, result) -> bool | None:
        return self.context.get("verdicts", {}).get(result.photo.pk)


class PhotoIdsField(TextField):
    """Photo ids separated by commas ("12,15"), as the search page's URL carries them; a repeated parameter gives
    each value's ("like=12&like=15"), as the page reads it."""

    repeatable = True  # (ParamsSerializer)

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return refine_text(dictionary, self.field_name)
        return super().get_value(dictionary)

    def to_internal_value(self, data) -> tuple[int, ...]:
        try:
            return photo_ids(super().to_internal_value(data), strict=True)
        except ValueError:
            raise ValidationError("Photo ids separated by commas, like 12,15.") from None


class SimilarResultSerializer(PhotoRefSerializer):
    cosine = serializers.FloatField(help_text="raw image-to-image cosine similarity, -1 to 1: uncalibrated, not a "
                                              "probability (search's scores are)")
    similarity = serializers.FloatField(help_text="look-alike similarity, 0 to 1: the cosine, below 0 taken as 0 "
                                                  "(the photo page shows it as a percent); not a probability")
    model_name = serializers.CharField()


class InterpretedSerializer(serializers.Serializer):
    places = serializers.ListField(child=serializers.CharField(),
                                   help_text="places and countries named in q that filter the search (a photo in any "
                                             "of them); empty when an explicit place or country was given")
    not_places = serializers.ListField(child=serializers.CharField(),
                                       help_text="places and countries q names after a negation (\"not in Lisbon\"): "
                                                 "photos taken there are left out (photos with no known place stay)")
    not_dates = serializers.ListField(
        child=inline_serializer("NotDate", {"taken_after": serializers.DateField(allow_null=True),
                                            "taken_before": serializers.DateField(allow_null=True)}),
        help_text="dates q names after a negation (\"not in 2023\", \"-2023\"): photos taken in them (first to last "
                  "day, null: open) are left out")
    taken_after = serializers.DateField(allow_null=True, help_text="first day searched (explicit, else from q)")
    taken_before = serializers.DateField(allow_null=True, help_text="last day searched (explicit, else from q)")
    periods = serializers.ListField(
        child=inline_serializer("Period", {"taken_after": serializers.DateField(),
                                           "taken_before": serializers.DateField()}),
        help_text="several dates q names, searched as either of them (\"2019 or 2024\": a photo taken in 2019 or in "
                  "2024, not between): the first and last day of each, in order, within taken_after/taken_before "
                  "(the first and last day of them all); empty when the dates searched are one span (one date, "
                  "\"2023 or 2024\", a start and an end, explicit dates, or a season among them that names other "
                  "days across the equator: the span that covers them)")
    days_of_year = serializers.ListField(
        child=inline_serializer("DayOfYear", {"month": serializers.IntegerField(), "day": serializers.IntegerField()}),
        help_text="days of every year q names without a year (\"3 june\", \"christmas eve\": 24 December): a photo "
                  "taken on one of them, on its own local day, within taken_after/taken_before when those are set")
    not_days_of_year = serializers.ListField(
        child=inline_serializer("NotDayOfYear", {"month": serializers.IntegerField(), "day": serializers.IntegerField()}),
        help_text="days of every year q names after a negation (\"not on 3 june\", \"-christmas eve\"): photos taken on "
                  "them are left out")
    other_hemisphere = inline_serializer(
        "OtherHemisphere", {"taken_after": serializers.DateField(allow_null=True),
                            "taken_before": serializers.DateField(allow_null=True),
                            "not_dates": serializers.ListField(child=inline_serializer(
                                "OtherHemisphereNotDate", {"taken_after": serializers.DateField(allow_null=True),
                                                           "taken_before": serializers.DateField(allow_null=True)}))},
        allow_null=True,
        help_text="a season in q names other days across the equator (\"summer 2023\": June to August in the north, "
                  "December 2022 to February 2023 in the south): the dates (and not_dates) searched for photos taken "
                  "on the other side from the one taken_after/taken_before are (by their position, else their "
                  "country); null when no season makes them differ")
    excluded = serializers.ListField(child=serializers.CharField(), help_text="concepts q excludes (-dog, not dog)")
    text = serializers.CharField(allow_blank=True, help_text="what remained of q for semantic and metadata search")
    date_notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="dates q names that no photo can have, left as words, and why (\"summer 9999\": \"No photo is from "
                  "9999 yet: …\"; \"31 february\": \"There is no 31 February: …\")")
    day_word_notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="days of every year q names as a month that is a word too and a number (\"may 5\", \"march 4\"), read "
                  "as that day, and how to have the words searched instead (\"“march 4” is read as a day, 4 March of "
                  "every year: remove its chip (×) to search the words instead.\"; the API's `plain`); none when q "
                  "says it is a day (\"on march 4\", \"march 4th\", \"4 march\")")
    date_word_notes = serializers.ListField(
        child=inline_serializer("DateWordNote", {
            "family": serializers.IntegerField(allow_null=True, help_text="null for no_calendar"),
            "family_name": serializers.CharField(allow_null=True, help_text="null for no_calendar"),
            "why": serializers.ChoiceField(choices=["no_country", "not_kept", "no_dated_photos", "no_calendar"],
                                           help_text=(
                "no_country: the family has no default country and no photo of it a place, so no photo's date names "
                "a holiday; not_kept: no photo of the family has a place and its default country's calendar has no "
                "such holiday (\"christmas\" in Japan), so no photo's date names it; no_dated_photos: no photo of "
                "the family tells the day it was taken (only its upload, its file's time, its folder's month or "
                "year), so none names a season or a holiday; no_calendar: no country's calendar has the holiday "
                "(\"halloween\", \"valentine's day\"), so no photo's date names it in any family, whatever its "
                "country: said once, of no family")),
            "word": serializers.CharField(help_text="the holiday or season, as the photos' words name it "
                                                    "(\"christmas\" for \"xmas\" or \"christmas day\", "
                                                    "\"new year's\" for \"new year's day\")"),
            "date_instead": serializers.CharField(allow_null=True, help_text=(
                "the day of every year that finds a holiday's photos now (\"25 december\"); null for a holiday whose "
                "day moves (Easter), when q has that day already (\"christmas 25 december\") and for "
                "no_dated_photos")),
            "family_settings": serializers.CharField(allow_null=True, help_text=(
                "the family page's country setting, for an admin of the family (no_country); null otherwise")),
            "note": serializers.CharField(help_text="what the search page says")}),
        help_text="a holiday or season q searches as a word (\"christmas\", \"summer\"; not \"christmas 2020\", a "
                  "date) finds photos by the words their dates give them: for each family of yours searched whose "
                  "photos' dates can't name it (no photo with a place, and no default country or one whose calendar "
                  "has no such holiday, for a holiday; no photo that tells the day it was taken), or once for a "
                  "holiday no country's calendar has, why, and what finds them instead: each such word of q, in its "
                  "order (a word q names twice, once); [] otherwise")


# A sort that is none of them says which there are (DRF's own message names none).
SORT_ERRORS = {"invalid_choice": "“{input}” is no order of results: " + " or ".join(SORTS) + "."}


def _ids(help_text: str) -> serializers.ListField:
    """A list of photo ids in a response (the refine's photos left out, by why)."""
    return serializers.ListField(child=serializers.IntegerField(), help_text=help_text)


class SearchApi(APIView):
    class InputSerializer(ParamsSerializer):
        q = TextField(required=False, allow_blank=True, default="", trim_whitespace=True)
        family = serializers.IntegerField(required=False)
        uploader = serializers.IntegerField(required=False)
        tag = TextField(required=False, max_length=64)
        country = TextRegexField(r"^[A-Za-z]{2}$", required=False, help_text="ISO 3166 code of the photo's place",
                                 error_messages={"invalid": "A country is a two-letter code, like PT."})
        place = TextField(
            required=False, max_length=100,
            help_text="the photo's city, region or country, or their start, from the beginning of a word (\"lisb\" finds "
                      "Lisbon; \"nice\" never Venice)")
        taken_after = serializers.DateField(required=False, error_messages=DATE_ERRORS)
        taken_before = serializers.DateField(required=False, error_messages=DATE_ERRORS)
        sort = serializers.ChoiceField(choices=list(SORTS), required=False, error_messages=SORT_ERRORS)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=PAGE_SIZE)
        min_score = NumberField(required=False, min_value=0, max_value=1)
        favourite = serializers.BooleanField(required=False, default=False, help_text="1: your favourites only")
        plain = serializers.ListField(
            child=TextField(max_length=200), required=False, max_length=MAX_PLAIN,
            help_text="phrases of q to search as plain words, not as a place, date or exclusion (repeat the parameter)")
        like = PhotoIdsField(required=False, allow_blank=True, max_length=2000,
                             help_text="refine: ids of results that are right (\"12,15\"); the query moves towards "
                                       "them (ids you can't see are ignored)")
        unlike = PhotoIdsField(required=False, allow_blank=True, max_length=2000,
                               help_text="refine: ids of results that are wrong; the query moves away from them (an id "
                                         "in like too is refused: 400)")

        def validate(self, data):  # as GET /api/v1/photos/: no photo is taken in a range that ends before it starts
            if data.get("taken_after") and data.get("taken_before") and data["taken_before"] < data["taken_after"]:
                raise serializers.ValidationError(
                    {"taken_before": ["The last day comes before the first (taken_after)."]})
            # A photo both right and wrong is a contradiction the client settles (the page leaves it out and says so).
            if both := refine_both_ways(data.get("like") or (), data.get("unlike") or ()):
                named = f"Photo {both[0]} is" if len(both) == 1 else f"Photos {', '.join(map(str, both))} are"
                raise serializers.ValidationError(
                    {"unlike": [f"{named} in like too: a photo is right or wrong, not both."]})
            return data

    class OutputSerializer(serializers.Serializer):
        query = serializers.CharField(help_text="what was searched for: the words left for semantic and metadata "
                                                "search, or q as typed when it names only places and dates")
        message = serializers.CharField(help_text="why nothing was searched for a q that was given: it holds no word "
                                                  "to search for (\"?!\"), or only says what to leave out; else empty")
        terms = serializers.ListField(child=serializers.CharField())
        semantic_available = serializers.BooleanField()
        semantic_message = serializers.CharField()
        min_score = serializers.FloatField()
        hidden_count = serializers.IntegerField(help_text="matches below min_score, not returned")
        more = serializers.BooleanField(help_text="more photos match than `limit` returned (ask again with a larger one)")
        sort = serializers.CharField()
        interpreted = InterpretedSerializer(help_text="how q was understood")
        like = serializers.ListField(child=serializers.IntegerField(), help_text="the like ids that refined it")
        unlike = serializers.ListField(child=serializers.IntegerField(), help_text="the unlike ids that refined it")
        left_out = serializers.IntegerField(help_text=f"how many photos like/unlike name (the first {MAX_REFINE} of each, each "
                                                      "once) that are not yours to see (another family's), in the "
                                                      "trash or deleted: left out of the refine")
        left_out_other_family = _ids(
            "ids like/unlike name of your photos in another of your families than `family`: left out of the "
            "refine (search without `family` to refine with them)")
        left_out_not_indexed = _ids(
            "ids like/unlike name of photos of the families searched that are not indexed yet (just "
            "uploaded, or the worker is behind): left out of the refine until they are")
        left_out_failed = _ids(
            "ids like/unlike name of photos of the families searched whose indexing failed: left out of the "
            "refine until POST /api/v1/photos/{id}/retry/ indexes them")
        left_out_model_off = _ids(
            "ids like/unlike name of indexed photos whose family's search model can't be loaded now "
            "(semantic_available is false): they refine nothing until it can")
        results = SearchResultSerializer(many=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        family_filter(user=request.user, family_id=v.get("family"))
        understood = understand_search(user=request.user, params=SearchParams(
            query=v["q"], family_id=v.get("family"), uploader_id=v.get("uploader"), tag=v.get("tag"),
            country=v.get("country"), place=v.get("place"),
            taken_after=v.get("taken_after"), taken_before=v.get("taken_before"), sort=v.get("sort"),
            limit=v["limit"], min_score=v.get("min_score"), favourite=v["favourite"],
            like=v.get("like") or (), unlike=v.get("unlike") or (),
        ), removed=frozenset(normalise(phrase) for phrase in v.get("plain", [])), notes=True)
        response = search_photos(user=request.user, params=understood.params)
        body = {
            "query": understood.shown(response.query),
            "message": understood.nothing_searched(),
            "terms": [term.text for term in response.terms],
            "semantic_available": response.semantic_available,
            "semantic_message": response.semantic_message,
            "min_score": response.min_score,
            "hidden_count": response.hidden_count,
            "more": response.more,
            "sort": response.sort,
            "interpreted": understood.interpreted(),
            "like": response.liked,
            "unlike": response.unliked,
            "left_out": response.left_out.unseen,
            "left_out_other_family": list(response.left_out.other_families),
            "left_out_not_indexed": response.left_out.not_indexed,
            "left_out_failed": response.left_out.failed,
            "left_out_model_off": response.left_out.model_off,
            "results": response.results,
        }
        verdicts = judgment_verdicts(user=request.user, query=v["q"], photo_ids=[r.photo.pk for r in response.results])
        return Response(self.OutputSerializer(body, context={"request": request, "verdicts": verdicts}).data)


SIMILAR_DEFAULT, SIMILAR_MAX = 12, 60


class SimilarApi(APIView):
    """The photos that look most like this one, most alike first: at most `limit` (a bounded list, not a page)."""

    class SimilarFilterSerializer(ParamsSerializer):
        limit = serializers.IntegerField(required=False, min_value=1, max_value=SIMILAR_MAX, default=SIMILAR_DEFAULT,
                                         help_text=f"How many at most (default {SIMILAR_DEFAULT}, up to {SIMILAR_MAX})")

    @extend_schema(parameters=[SimilarFilterSerializer], responses=SimilarResultSerializer(many=True))
    def get(self, request, photo_id: int):
        filters = self.SimilarFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        photo = photo_get(user=request.user, photo_id=photo_id)
        results, _ = similar_photos(user=request.user, photo=photo, limit=filters.validated_data["limit"])
        return Response(SimilarResultSerializer(results, many=True, context={"request": request}).data)


class JudgmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    query = serializers.CharField(help_text="normalised: whitespace collapsed, case folded")
    photo = serializers.IntegerField(source="photo_id")
    family = serializers.IntegerField(source="family_id")
    relevant = serializers.BooleanField()
    model_name = serializers.CharField(help_text="the image model that scored the photo (blank: none did)")
    components = serializers.DictField(help_text="every score component of the result when judged (as explanation)")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class JudgmentListApi(APIView):
    pagination_class = PageNumberPagination

    class FilterSerializer(ParamsSerializer):
        family = serializers.IntegerField(required=False)
        query = TextField(required=False, max_length=MAX_QUERY_CHARS * 2)

    class InputSerializer(ParamsSerializer):
        query = TextField(max_length=MAX_QUERY_CHARS * 2, help_text="the search the result came from")
        photo = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        relevant = serializers.BooleanField(help_text="true: right for the query; false: wrong")

    @extend_schema(parameters=[FilterSerializer], responses=JudgmentSerializer(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        family_filter(user=request.user, family_id=filters.validated_data.get("family"))
        judgments = judgment_list(user=request.user, family_id=filters.validated_data.get("family"),
                                  query=filters.validated_data.get("query"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(judgments, request, view=self)
        return paginator.get_paginated_response(JudgmentSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: JudgmentSerializer, 200: JudgmentSerializer},
                   parameters=[LOCATION],
                   description="Judge a search result: the same normalised query and photo again replaces the "
                               "verdict (200, same id). The server records the result's score components.")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        photo = photo_get(user=request.user, photo_id=v["photo"])
        # (a refusal is a 400 naming its field: gallery.apis.exception_handler)
        judgment, new = judgment_record(user=request.user, photo=photo, query=v["query"], relevant=v["relevant"])
        if new:
            return created(request, JudgmentSerializer(judgment).data, view_name="api_judgment_detail", pk=judgment.pk)
        return Response(JudgmentSerializer(judgment).data)


class JudgmentDetailApi(APIView):
    @extend_schema(responses=JudgmentSerializer)
    def get(self, request, judgment_id: int):
        return Response(JudgmentSerializer(judgment_get(user=request.user, judgment_id=judgment_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, judgment_id: int):
        judgment_delete(user=request.user, judgment_id=judgment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class QualitySerializer(serializers.Serializer):
    """GET /api/v1/search/quality/: a family's search quality on its judged queries."""

    judged_queries = serializers.IntegerField()
    judgments = serializers.IntegerField()
    needed = serializers.IntegerField(help_text="judgments still needed before a fit (0: enough)")
    waiting_queries = serializers.IntegerField(
        help_text="judged queries left out of these figures until the worker has encoded their words (after a model "
                  "switch or an import of judgments); ask again later")
    unindexed_judgments = serializers.IntegerField(
        help_text="judgments left out of these figures until the model has read their photos (new uploads, an "
                  "import): they count once the photos are indexed")
    precision_at_5 = serializers.FloatField(allow_null=True, help_text="on judged queries, under your current settings "
                                                                      "(null while nothing is judged)")
    precision_at_10 = serializers.FloatField(allow_null=True)
    ndcg_at_10 = serializers.FloatField(allow_null=True)
    ece = serializers.FloatField(allow_null=True, help_text="expected calibration error of the final score")
    fitted = serializers.SerializerMethodField()
    suggested_weights = serializers.SerializerMethodField()

    @extend_schema_field(inline_serializer("QualityFitted", {
        "ece": serializers.FloatField(), "precision_at_5": serializers.FloatField(),
        "precision_at_10": serializers.FloatField(), "ndcg_at_10": serializers.FloatField(),
        "applied": serializers.BooleanField(help_text="whether this fit is in force"),
        "rolled_back": serializers.BooleanField(help_text="a family admin rolled it back"),
        "judge_left": serializers.BooleanField(help_text="someone whose judgments it was made with left the family "
                                                         "(withdrawn, or never applied if they left while it ran); "
                                                         "else, when neither and not applied: it did not predict "
                                                         "held-out queries clearly better")},
        allow_null=True))
    def get_fitted(self, body) -> dict | None:
        return body["fitted"]

    @extend_schema_field(inline_serializer("QualityWeights", {
        "semantic": serializers.FloatField(), "metadata": serializers.FloatField()}, allow_null=True))
    def get_suggested_weights(self, body) -> dict | None:
        return body["suggested_weights"]


class QualityApi(APIView):
    """A family's search quality on its judged queries (the quality page's figures)."""

    class InputSerializer(ParamsSerializer):
        family = serializers.IntegerField(help_text="the family's id (one of yours)")

    @extend_schema(parameters=[InputSerializer], responses=QualitySerializer)
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        family = family_get(user=request.user, family_id=data.validated_data["family"])
        with EncodeBudget() as budget:  # as the page: words the model has not read yet go to the worker
            quality = family_quality(user=request.user, family_id=family.pk, budget=budget)
        return Response(QualitySerializer(quality.as_api()).data)


class DuplicatePhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="photo.pk")
    title = serializers.CharField(source="photo.__str__")
    taken_at = serializers.DateTimeField(source="photo.taken_at")
    taken_at_local = serializers.SerializerMethodField(
        help_text="taken_at in the zone the photo was taken in, with that zone's offset")
    width = serializers.IntegerField(source="photo.width")
    height = serializers.IntegerField(source="photo.height")
    file_size = serializers.IntegerField(source="photo.file_size", help_text="bytes of the original")
    keep = serializers.BooleanField(help_text="the suggestion: keep the largest (pixels, then bytes), then the earliest")
    trash = serializers.BooleanField(help_text="suggested for the trash: a near-duplicate of the kept photo itself "
                                               "(one that only resembles another member is not)")
    may_trash = serializers.BooleanField(help_text="whether you may move it to the trash (its uploader or a family "
                                                   "admin)")
    reason = serializers.CharField(help_text="why it is in the group: its closest match, by hash distance or cosine")
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_taken_at_local(self, member) -> str:
        return member.photo.taken_at_local.isoformat()

    def get_url(self, member) -> str:
        return self.context["request"].build_absolute_uri(member.photo.get_absolute_url())

    def get_thumbnail_url(self, member) -> str:
        return self.context["request"].build_absolute_uri(member.photo.thumbnail_url)


class DuplicateRestSerializer(serializers.Serializer):
    photos = serializers.IntegerField(help_text="members not listed (past the first photos)")
    to_trash = serializers.IntegerField(help_text="of them, near-duplicates of the kept photo you may move: what "
                                                  "POST /api/v1/duplicates/trash/ with `more` moves")
    theirs = serializers.IntegerField(help_text="of them, near-duplicates of the kept photo only their uploader or a "
                                                "family admin may move")
    unlike = serializers.IntegerField(help_text="of them, photos that resemble only other members, not the kept one "
                                                "(never moved with `more`)")


class DuplicateGroupSerializer(serializers.Serializer):
    signals = serializers.ListField(child=serializers.ChoiceField(choices=["hash", "embedding"]),
                                    help_text="what grouped them: perceptual hash distance and/or embedding cosine")
    keep = serializers.IntegerField(source="keep.pk", help_text="the photo suggested to keep")
    key = serializers.CharField(help_text="the group as it is now (its smallest photo id and a fingerprint of its "
                                          "members), for POST /api/v1/duplicates/dismiss/ and /trash/")
    size = serializers.IntegerField(help_text="the group's photos, listed or not")
    photos = DuplicatePhotoSerializer(source="members", many=True,
                                      help_text=f"the keeper first; the first {DUPLICATES_SHOWN} of the group")
    more = DuplicateRestSerializer(source="rest", help_text="the members not listed, counted")


class DuplicatesQuerySerializer(ParamsSerializer):
    family = serializers.IntegerField(help_text="family id")


class DuplicatesApi(APIView):
    """A family's near-duplicate groups (photos not in the trash), largest first, a page at a time, each with its
    first photos (as the review page shows them) and counts of the rest; another family's is 404."""

    pagination_class = PageNumberPagination

    @extend_schema(parameters=[DuplicatesQuerySerializer], responses=DuplicateGroupSerializer(many=True))
    def get(self, request):
        data = DuplicatesQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        family = family_get(user=request.user, family_id=data.validated_data["family"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(duplicate_groups_reviewed(user=request.user, family=family), request,
                                           view=self)
        return paginator.get_paginated_response(
            DuplicateGroupSerializer(page, many=True, context={"request": request}).data)


GROUP_CHANGED = inline_serializer("DuplicatesGroupChanged", {
    "detail": serializers.CharField(), "photos": serializers.IntegerField(help_text="the group's photos now (0: none)")})


def _group_key(value: str) -> str:
    if not group_key_valid(value):
        raise serializers.ValidationError("Not a group's key (the `key` of GET /api/v1/duplicates/).")
    return value


class DuplicatesTrashApi(APIView):
    """Move photos of a group to the trash, as the review page's "Move ticked to trash": the `photos` named and, with
    `more`, the group's members not listed that match its kept photo and that you may move. A `group` (its `key`, as
    GET /api/v1/duplicates/ gives it; required with `more`) is checked first: 409 when the group changed since,
    nothing moved. Only photos of `family` (with `group`, of that group) are tried: another is "No such photo.". At
    most 500 a call: `left` says how many were not tried (those named: send them again; with `more`, the members not
    listed, which you can't name: fetch the group again). Each photo is checked as the trash's own API does (its
    uploader or a family admin)."""

    class TrashInputSerializer(ParamsSerializer):
        family = serializers.IntegerField(help_text="family id")
        group = TextField(required=False, max_length=64, validators=[_group_key],
                          help_text="the group's key (GET /api/v1/duplicates/), required with `more`; checked "
                                    "whenever given (409 when the group changed)")
        photos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                       max_length=DUPLICATES_TRASH_MAX, required=False,
                                       help_text="photos of the group to move (those it lists)")
        more = serializers.BooleanField(required=False, default=False,
                                        help_text="also the members not listed that match the kept photo")

        def validate(self, data):
            if data["more"] and "group" not in data:
                raise serializers.ValidationError({"group": ["`more` moves the rest of a group: name it."]})
            if not data["more"] and not data.get("photos"):
                raise serializers.ValidationError("Name `photos`, or a `group` with `more`.")
            return data

    class TrashOutputSerializer(serializers.Serializer):
        results = PhotoResultSerializer(many=True)
        left = serializers.IntegerField(help_text="photos not tried, past the 500 a call: those named (send them "
                                                  "again) and the group's members not listed (fetch the group again)")

    @extend_schema(request=TrashInputSerializer, responses={200: TrashOutputSerializer, 409: GROUP_CHANGED})
    def post(self, request):
        data = self.TrashInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        family = family_get(user=request.user, family_id=data.validated_data["family"])
        try:
            moved = duplicate_group_trash(user=request.user, family=family,
                                          photo_ids=data.validated_data.get("photos", []),
                                          key=data.validated_data.get("group", ""), more=data.validated_data["more"])
        except GroupChanged as changed:
            return Response({"detail": changed.message, "photos": changed.photos}, status=status.HTTP_409_CONFLICT)
        return Response(self.TrashOutputSerializer({"results": [result._asdict() for result in moved.results],
                                                    "left": moved.left}).data)


class DuplicatesDismissApi(APIView):
    """"Not duplicates": a group (by its `key`, as GET /api/v1/duplicates/ gives it: 409 when the group changed
    since, nothing changed) or the pairs among these photos of the family (`photos`) are no longer grouped (any
    member; ids of other families' photos are ignored; another family is 404)."""

    class DismissInputSerializer(ParamsSerializer):
        family = serializers.IntegerField(help_text="family id")
        group = TextField(required=False, max_length=64,
                          help_text="a group's key (GET /api/v1/duplicates/): all of it, whatever its size")
        photos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                       min_length=2, max_length=DISMISS_MAX_PHOTOS, required=False,
                                       help_text="or the photos of a group (its members' ids)")

        def validate_group(self, value: str) -> str:
            return _group_key(value)

        def validate(self, data):
            if ("group" in data) == ("photos" in data):
                raise serializers.ValidationError("Give either `group` or `photos`.")
            return data

    @extend_schema(request=DismissInputSerializer, responses={
        200: inline_serializer("DuplicatesDismissed",
                               {"dismissed": serializers.IntegerField(help_text="pairs no longer grouped")}),
        409: GROUP_CHANGED})
    def post(self, request):
        data = self.DismissInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        family = family_get(user=request.user, family_id=data.validated_data["family"])
        if "photos" in data.validated_data:
            return Response({"dismissed": duplicates_dismiss(user=request.user, family=family,
                                                             photo_ids=data.validated_data["photos"])})
        try:
            _, dismissed = duplicates_dismiss_group(user=request.user, family=family,
                                                    key=data.validated_data["group"])
            return Response({"dismissed": dismissed})
        except GroupChanged as changed:
            return Response({"detail": changed.message, "photos": changed.photos}, status=status.HTTP_409_CONFLICT)


class PreferencesSerializer(ParamsSerializer):
    """Your search preferences (what the search preferences page sets); each user has their own."""

    semantic_weight = NumberField(min_value=0, max_value=1,
                                  help_text="How much the image match counts, 0 to 1 (weights are normalised to sum "
                                            "1; at least one above 0)")
    metadata_weight = NumberField(min_value=0, max_value=1,
                                  help_text="How much tags, titles, places… count, 0 to 1")
    min_score = NumberField(min_value=0, max_value=1, help_text="Results scoring below it are hidden")
    expansion_enabled = serializers.BooleanField(help_text="Expand queries with synonyms")
    default_sort = serializers.ChoiceField(choices=SearchPreferences.Sort.choices, error_messages=SORT_ERRORS,
                                           help_text="The order of results when a search names none")


class PreferencesApi(APIView):
    """Your own search preferences: read them, change some (PATCH: the fields left out keep their values; the same
    rules as the preferences page), or go back to the defaults (DELETE)."""

    parser_classes = [*APIView.parser_classes, MergePatchParser]

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return Response(PreferencesSerializer(preferences_for(request.user)).data)

    @extend_schema(request=PreferencesSerializer(partial=True), responses=PreferencesSerializer)
    def patch(self, request):
        changes = PreferencesSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        with transaction.atomic():  # the fields left out are read under the row's lock: a PATCH at once keeps its own
            current = PreferencesSerializer(preferences_lock(user=request.user)).data
            form = PreferencesForm({**current, **changes.validated_data})  # the page's form: the page's rules
            if not form.is_valid():
                raise ValidationError(api_errors(DjangoValidationError(form.errors.as_data())))
            prefs = preferences_update(user=request.user, **form.cleaned_data)
        return Response(PreferencesSerializer(prefs).data)

    @extend_schema(responses={204: None}, description="Back to the defaults.")
    def delete(self, request):
        preferences_reset(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoRetryApi(APIView):
    """Index a photo again that could not be indexed (`status` failed): it goes back to pending and the worker
    tries anew (the indexing page's "Retry"; any member of its family)."""

    @extend_schema(request=None, responses=PhotoOutputSerializer)
    def post(self, request, photo_id: int):
        photo = photo_get(user=request.user, photo_id=photo_id)
        ids = failed_photo_ids(user=request.user, photo_ids=[photo.pk])
        if not ids:
            raise ValidationError({"detail": [f"This photo's indexing has not failed (it is {photo.status}): "
                                              "there is nothing to retry."]})
        photos_retry(photo_ids=ids)
        return photo_response(request, photo.pk)


class RetryAllOutputSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="How many failed photos were queued again")


class PhotosRetryApi(APIView):
    """Index again every photo of your families (or of one) that could not be indexed (the indexing page's "Retry
    all")."""

    class RetryAllInputSerializer(ParamsSerializer):
        family = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                          help_text="Only this family's (one of yours); all of them when left out")

    @extend_schema(request=RetryAllInputSerializer, responses=RetryAllOutputSerializer,
                   operation_id="photos_retry_all")
    def post(self, request):
        data = self.RetryAllInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        family_id = data.validated_data.get("family")
        family_filter(user=request.user, family_id=family_id)
        ids = failed_photo_ids(user=request.user, family_id=family_id)
        return Response({"queued": photos_retry(photo_ids=ids) if ids else 0})


class PhotoReadTextApi(APIView):
    """Read the text in a photo (OCR) whatever the gate decided, e.g. when `ocr_status` is skipped or failed (the
    photo page's "Read text"; any member of its family). The answer is the photo, its `ocr_status` pending until
    the worker has read it (a photo being read now is left alone)."""

    @extend_schema(request=None, responses=PhotoOutputSerializer)
    def post(self, request, photo_id: int):
        photo = photo_get(user=request.user, photo_id=photo_id)
        if not settings.OCR_ENABLED:
            raise ValidationError({"detail": [OCR_OFF]})
        photos_text_request(photo_ids=[photo.pk])
        return photo_response(request, photo.pk)


class ReadSkippedSerializer(ParamsSerializer):
    family = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="One of your families")


def _worker_time(photos: int) -> dict:
    estimate = ReadEstimate(photos)
    return {"worker_seconds": estimate.seconds, "worker_time": estimate.words}


WORKER_TIME_FIELDS = {
    "worker_seconds": serializers.IntegerField(help_text="What reading them costs the OCR worker, in seconds "
                                                         "(photos × the median of the worker's latest readings, "
                                                         "OCR_SECONDS_PER_PHOTO until it has read enough)"),
    "worker_time": serializers.CharField(help_text='The same in words: "under a minute", "about 2 hours"'),
}


class PhotosReadTextApi(APIView):
    """The photos of one of your families whose text the OCR gate skipped (the Index page's "Read the N skipped
    photos"; any member): GET says how many and what reading them costs the worker, POST queues them (those waiting
    already are not queued again, so a POST sent twice queues each once). The ticked photos of a page are read with
    `POST /api/v1/photos/bulk/`, action `read_text`."""

    def _family_id(self, request, data) -> int:
        serializer = ReadSkippedSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        family = family_get(user=request.user, family_id=serializer.validated_data["family"])
        if not settings.OCR_ENABLED:
            raise ValidationError({"detail": [OCR_OFF]})
        return family.pk

    @extend_schema(parameters=[ReadSkippedSerializer], operation_id="photos_read_text_estimate",
                   responses=inline_serializer("ReadSkippedEstimate", {
                       "photos": serializers.IntegerField(help_text="The family's photos the gate skipped"),
                       **WORKER_TIME_FIELDS}))
    def get(self, request):
        photos = skipped_text_count(user=request.user, family_id=self._family_id(request, request.query_params))
        return Response({"photos": photos, **_worker_time(photos)})

    @extend_schema(request=ReadSkippedSerializer, operation_id="photos_read_text_skipped",
                   responses=inline_serializer("ReadSkippedQueued", {
                       "queued": serializers.IntegerField(help_text="How many photos were queued to be read"),
                       **WORKER_TIME_FIELDS}))
    def post(self, request):
        serializer = ReadSkippedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        queued = family_skipped_read_ask(user=request.user, family_id=serializer.validated_data["family"],
                                         confirmed=None).asked
        return Response({"queued": queued, **_worker_time(queued)})
