"""A photo's date in the words people search with: month, season, year and the public holidays of its country.

Holidays come from the `holidays` package (offline, named in English where the country's data has English
names); seasons are the meteorological ones, flipped south of the equator: by the photo's latitude, else by its
country (its place's, else its family's default country).
"""

from __future__ import annotations

import threading
from datetime import date

import holidays

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# Meteorological seasons of the northern hemisphere, by month (December to February is winter).
NORTHERN_SEASONS = ("winter", "winter", "spring", "spring", "spring", "summer", "summer", "summer", "autumn", "autumn",
                    "autumn", "winter")
OPPOSITE = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
ENGLISH = ("en_US", "en_GB")
# Countries whose people live mostly south of the equator: their seasons are flipped.
SOUTHERN_COUNTRIES = frozenset({
    "AR", "AU", "BO", "BR", "BW", "CL", "FJ", "LS", "MG", "MW", "MZ", "NA", "NZ", "PE", "PY", "SZ", "UY", "ZA",
    "ZM", "ZW", "AO", "FK", "NC", "PF", "RE", "MU", "CK", "TO", "WS", "ID", "TL", "PG", "SB", "VU",
})

_calendars: dict[tuple[str, int], holidays.HolidayBase | None] = {}
_lock = threading.Lock()


def season(*, day: date, latitude: float | None, country_code: str = "") -> str:
    """Northern unless the latitude says south; without a position, unless the country lies mostly south (neither
    known: northern, where most photos are taken)."""
    north = NORTHERN_SEASONS[day.month - 1]
    southern = latitude < 0 if latitude is not None else (country_code or "").upper() in SOUTHERN_COUNTRIES
    return OPPOSITE[north] if southern else north


def holiday_names(*, day: date, country_code: str) -> list[str]:
    """The public holidays of this country on this day, as a photo's words name them, e.g. ["christmas"]; [] for an
    unknown country. Without the word "day", which most of their names end with ("Christmas Day", "Thanksgiving
    Day"): it tells one holiday from no other, and searched it made every holiday's photos a match of "christmas day"
    or "a day at the zoo" (the query parser's names of holidays drop it too: search.query_dates._holiday_key)."""
    calendar = _calendar(country_code.upper(), day.year) if country_code else None
    if calendar is None:
        return []
    return [" ".join(word for word in name.lower().split() if word != "day") for name in calendar.get_list(day)]


def holiday_calendar(*, country_code: str, year: int) -> list[tuple[date, str]]:
    """Every public holiday of this country in this year, (day, English name), by day; [] for an unknown country."""
    calendar = _calendar(country_code.upper(), year) if country_code and 1 <= year <= 9999 else None
    if calendar is None:
        return []
    return sorted((day, name) for day, names in calendar.items() for name in names.split("; "))


def date_words(*, day: date, latitude: float | None, country_code: str) -> list[str]:
    """Words for a photo taken on `day` (its local date): "december winter 2023 christmas"."""
    words = [MONTHS[day.month - 1], season(day=day, latitude=latitude, country_code=country_code)]
    if day.year >= 1:
        words.append(str(day.year))
    return words + holiday_names(day=day, country_code=country_code)


def _calendar(country_code: str, year: int) -> holidays.HolidayBase | None:
    key = (country_code, year)
    with _lock:
        if key not in _calendars:
            _calendars[key] = _load(country_code, year)
        return _calendars[key]


def _load(country_code: str, year: int) -> holidays.HolidayBase | None:
    try:
        cls = holidays.country_holidays(country_code, years=[])  # which class, and which languages it speaks
    except (NotImplementedError, KeyError):
        return None
    language = next((lang for lang in ENGLISH if lang in (cls.supported_languages or ())), None)
    try:
        return holidays.country_holidays(country_code, years=year, language=language)
    except (NotImplementedError, ValueError):
        return None


def date_words_reset() -> None:
    with _lock:
        _calendars.clear()
