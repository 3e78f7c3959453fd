"""Working days and local time of the simulated building: weekends, public holidays, DST."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def german_public_holidays(years: Iterable[int]) -> frozenset[dt.date]:
    """Public holidays in Berlin: the nationwide ones, plus Women's Day (8 March) from 2019."""
    holidays = set()
    for year in years:
        easter = easter_sunday(year)
        holidays |= {dt.date(year, m, d) for m, d in ((1, 1), (5, 1), (10, 3), (12, 25), (12, 26))}
        holidays |= {easter + dt.timedelta(days=n) for n in (-2, 1, 39, 50)}
        if year >= 2019:
            holidays.add(dt.date(year, 3, 8))
    return frozenset(holidays)


def is_working_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def local_midnight_utc_s(day: dt.date, timezone: str) -> int:
    """Epoch seconds (UTC) of the local wall-clock midnight that starts ``day``.

    Schedules are written in local seconds of the day and converted as ``midnight + seconds``
    with the UTC offset at local noon. DST switches happen at 02:00/03:00 on Sundays, when the
    building is empty, so noon's offset is right for every scheduled second.
    """
    zone = ZoneInfo(timezone)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
    offset_s = int(noon.utcoffset().total_seconds())
    naive_midnight = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    return int(naive_midnight.timestamp()) - offset_s


def utc_midnight_s(day: dt.date) -> int:
    """Epoch seconds of 00:00 UTC on ``day``."""
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp())
