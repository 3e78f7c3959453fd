"""The building's public holidays: feature windows mark them as non-working days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


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
