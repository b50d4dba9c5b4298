"""Writes of the family place list (search.models.FamilyPlace) that the query parser reads."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from gallery.models import Photo
from search.models import FamilyPlace

PLACES = FamilyPlace._meta.db_table
PHOTOS = Photo._meta.db_table


@transaction.atomic
def family_places_add(*, photo_ids: Iterable[int]) -> None:
    """Record the places of these photos (new or re-geocoded) in their families' lists. One cheap statement."""
    ids = list(photo_ids)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {PLACES} (family_id, city, region, country, country_code)
            SELECT DISTINCT family_id, place_city, place_region, place_country, place_country_code
            FROM {PHOTOS} WHERE id = ANY(%s) AND (place_city <> '' OR place_region <> '')
            ON CONFLICT (family_id, city, region, country_code) DO NOTHING
            """,
            [ids],
        )


@transaction.atomic
def family_places_rebuild(*, family_ids: Iterable[int] | None = None) -> None:
    """Rebuild the lists from the photos (all families, or these): drops places no photo has any more."""
    scope, params = ("WHERE family_id = ANY(%s)", [list(family_ids)]) if family_ids is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {PLACES} {scope}", params)
        cursor.execute(
            f"""
            INSERT INTO {PLACES} (family_id, city, region, country, country_code)
            SELECT DISTINCT family_id, place_city, place_region, place_country, place_country_code
            FROM {PHOTOS} {scope + ' AND' if scope else 'WHERE'} (place_city <> '' OR place_region <> '')
            ON CONFLICT (family_id, city, region, country_code) DO NOTHING
            """,
            params,
        )
