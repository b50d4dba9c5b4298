"""The local time zone a photo was taken in.

In order: the camera's own offset (EXIF OffsetTimeOriginal, "+05:30"), else the zone at the photo's GPS position
(timezonefinder's offline polygons, shipped in the timezonefinder-data wheel), else the offset between the camera's
clock and its GPS receiver's UTC time (GPSDateStamp/GPSTimeStamp, to the quarter hour), else settings.TIME_ZONE.
A file whose only date is the GPS time was taken at that instant. A photo stores the zone's name (`Photo.taken_tz`):
an IANA name ("Europe/Lisbon") or a fixed offset ("+05:30"); blank means TIME_ZONE (photos stored before zones were
kept), and the local day it was taken on (`Photo.taken_day`), which date filters, the timeline and the admin use.

The polygon index is loaded lazily, once per process (~0.2 s, file-backed), and only by processes that place a
photo with GPS and no offset.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone as dt_timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

# More than any zone's distance from UTC (−12 to +14 hours; offsets are taken up to ±14:59): a local day's photos
# were taken within this of its midnight in UTC.
ZONE_SPREAD = timedelta(hours=15)
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_finder = {}
_lock = threading.Lock()


def offset_name(raw: str | None) -> str:
    """An EXIF offset ("+05:30", "-0800", "Z") as we store it ("+05:30"), or "" when it is not a real offset."""
    raw = (raw or "").strip().strip("\x00").strip()
    if raw.upper() == "Z":
        return "+00:00"
    match = _OFFSET.match(raw)
    if not match:
        return ""
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) >= 60:
        return ""
    return f"{sign}{hours}:{minutes}"


def zone_at(*, latitude: float | None, longitude: float | None) -> str:
    """The IANA zone at a position ("" without one, or where the polygons name none). At sea past the 12-mile limit,
    where the polygons name the sea's own zone ("Etc/GMT-2", which keeps no summer time), the zone of the nearest
    town within REGION_KM, whose coast names the place (gallery.places): a photo on a ferry or a boat trip is on the
    clock of the shore it was off, as its camera or phone was; farther out, the sea's."""
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return ""
    name = _finder_zone(latitude, longitude)
    if name.startswith("Etc/"):
        from gallery.places import REGION_KM, nearest_town

        town = nearest_town(latitude=latitude, longitude=longitude, within_km=REGION_KM)
        name = (_finder_zone(*town) if town else "") or name
    return name


def _finder_zone(latitude: float, longitude: float) -> str:
    with _lock:
        if "finder" not in _finder:
            from timezonefinder import TimezoneFinder

            _finder["finder"] = TimezoneFinder()
        return _finder["finder"].timezone_at(lat=latitude, lng=longitude) or ""


@lru_cache(maxsize=512)
def country_zone(code: str) -> str:
    """The zone of a country that keeps one clock ("DE" → "Europe/Berlin"; its other zone, Busingen, has kept the
    same time since 1980), for a place named without a position (a file's IPTC country): "" for a country whose zones
    keep different clocks (Portugal's Azores, the United States), or an unknown one. The zones per country are CLDR's,
    shipped with Babel (offline); "the same clock" is the same offset in January and July of this year."""
    from babel.core import get_global

    zones = [zone for zone in get_global("territory_zones").get((code or "").upper(), ()) if _zone_info(zone)]
    if not zones:
        return ""
    year = datetime.now(dt_timezone.utc).year
    instants = [datetime(year, month, 15, 12, tzinfo=dt_timezone.utc) for month in (1, 7)]
    clocks = {tuple(instant.astimezone(_zone_info(zone)).utcoffset() for instant in instants) for zone in zones}
    return zones[0] if len(clocks) == 1 else ""


def zone_country(zone: str) -> str | None:
    """The ISO code of the country a zone keeps the time of ("Africa/Cairo" → "EG"; CLDR's, shipped with Babel), ""
    for a zone of no country (the sea's "Etc/GMT+3"), None for a zone newer than CLDR's list (a country's, unknown
    here: "America/Coyhaique", 2025)."""
    from babel.core import get_global

    territories = get_global("zone_territories")
    if zone and zone not in territories and not zone.startswith("Etc/"):
        return None
    code = territories.get(zone, "")
    return code if len(code) == 2 and code.isalpha() and code != "ZZ" else ""


def when_taken(*, local: datetime | None, offset: str = "", utc: datetime | None = None,
               latitude: float | None = None, longitude: float | None = None,
               place_zone: str = "") -> tuple[datetime | None, str]:
    """When a photo was taken (aware; None when the file says nothing) and the zone name it stores, from the camera's
    wall clock `local` and `offset`, the GPS receiver's `utc` time and the GPS position; `place_zone`: the zone a
    member's known place (no position) gave it, which ranks with a position."""
    zone = offset_name(offset) or zone_at(latitude=latitude, longitude=longitude) or place_zone
    if not zone and local is not None and utc is not None:
        zone = _offset_between(local, utc)
    zone = zone or settings.TIME_ZONE
    if local is not None:
        return aware(local, zone), zone
    return utc, zone


def _offset_between(local: datetime, utc: datetime) -> str:
    """The offset a camera's clock kept from UTC, to the quarter hour ("" beyond any zone's)."""
    quarters = round((local - utc.replace(tzinfo=None)).total_seconds() / 900)
    if abs(quarters) > 14 * 4:
        return ""
    sign, minutes = ("-" if quarters < 0 else "+"), abs(quarters) * 15
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_info(name: str) -> tzinfo:
    """The tzinfo of a stored zone name; TIME_ZONE for blank or unknown names."""
    return _zone_info(name or settings.TIME_ZONE) or ZoneInfo(settings.TIME_ZONE)


@lru_cache(maxsize=512)
def _zone_info(name: str) -> tzinfo | None:
    if match := _OFFSET.match(name):
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return dt_timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def aware(naive: datetime, name: str) -> datetime:
    """A camera's wall-clock time read in the photo's zone."""
    return naive.replace(tzinfo=zone_info(name))


def local(moment: datetime, name: str) -> datetime:
    """A stored instant as the photo's local time."""
    return moment.astimezone(zone_info(name))
