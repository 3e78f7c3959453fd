"""The building's public holidays: feature windows and schedules treat them as non-working days.

The dates come from the ``holidays`` package (any country, and its states or provinces), not
from code of our own: it also knows the one-off holidays a state legislates (Berlin's 8 May of
2020 and 2025, 17 June 2028) and the ones that changed over the years.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

import holidays


@dataclass(frozen=True)
class HolidayCalendar:
    """Where a building is, for its public holidays.

    Attributes
    ----------
    country : str
        ISO 3166-1 alpha-2 code, e.g. ``DE``, ``US``, ``GB``.
    subdivision : str or None
        The ISO 3166-2 suffix of its state or province (``BE`` for Berlin in ``DE-BE``), or
        None for the country's nationwide holidays only.
    """

    # No default: a country alone means its nationwide holidays, never Berlin's subdivision.
    country: str
    subdivision: str | None = None

    def dates(self, years: Iterable[int]) -> frozenset[dt.date]:
        """The public holidays of ``years``."""
        return public_holidays(years, country=self.country, subdivision=self.subdivision)


BERLIN = HolidayCalendar("DE", "BE")


def public_holidays(
    years: Iterable[int], *, country: str, subdivision: str | None = None
) -> frozenset[dt.date]:
    """The public holidays of ``country`` (and of its ``subdivision``, if given) in ``years``.

    Raises ``ValueError`` for a country or subdivision the ``holidays`` package does not know
    (``holiday_calendar_problem`` says which).
    """
    problem = holiday_calendar_problem(country, subdivision)
    if problem:
        raise ValueError(problem)
    return frozenset().union(*(_year_holidays(country, subdivision, y) for y in set(years)))


def holiday_calendar_problem(country: str, subdivision: str | None) -> str | None:
    """Why ``country`` / ``subdivision`` name no holiday calendar, or None if they do."""
    try:
        _year_holidays(country, subdivision, 2000)
    except NotImplementedError:
        if country not in holidays.list_supported_countries():
            return f"unknown country {country!r}: expected an ISO 3166-1 alpha-2 code, e.g. 'DE'"
        known = holidays.list_supported_countries()[country]
        return (
            f"country {country!r} has no subdivision {subdivision!r}: expected one of {known} "
            "(the ISO 3166-2 suffix) or none"
        )
    return None


# The schedule asks for one day's year at every bin: build each year's calendar once.
@functools.lru_cache(maxsize=256)
def _year_holidays(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))
