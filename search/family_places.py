"""Writes of the family place list (search.models.FamilyPlace) that the query parser reads."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from gallery.models import Photo
from search.models import FamilyPlace

PLACES = FamilyPlace._meta.db_table
PHOTOS = Photo._meta.db_table
# A photo with a place: a city or a region (what the query parser makes place chips of), or a country alone (no city
# nor region: a place set by hand, a file's IPTC country, a position far from any town), whose holidays its words name
# all the same. A family's list is empty exactly when no photo of it names a country's holidays by its own place
# (search.understanding._Facts.unplaced); the parser makes no chip of an empty name.
PLACED = "(place_city <> '' OR place_region <> '' OR place_country_code <> '')"


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
            FROM {PHOTOS} WHERE id = ANY(%s) AND {PLACED}
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
            FROM {PHOTOS} {scope + ' AND' if scope else 'WHERE'} {PLACED}
            ON CONFLICT (family_id, city, region, country_code) DO NOTHING
            """,
            params,
        )


def family_places_prune() -> int:
    """Rebuild the lists of the families that hold a place no photo of theirs has any more (its last photo deleted,
    or purged from the trash), so the parser stops making a chip of it that filters to nothing. One index probe per
    listed place (photo_family_places); returns how many families were rebuilt. The periodic sweep runs it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT f.family_id FROM {PLACES} f
            WHERE NOT EXISTS (SELECT 1 FROM {PHOTOS} p WHERE p.family_id = f.family_id AND p.place_country = f.country
                              AND p.place_region = f.region AND p.place_city = f.city
                              AND p.place_country_code = f.country_code)
            """
        )
        family_ids = [row[0] for row in cursor.fetchall()]
    if family_ids:
        family_places_rebuild(family_ids=family_ids)
    return len(family_ids)
