"""Working days and local time of the simulated building: weekends, public holidays, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# The calendar is production code (feature windows use it); the simulator follows it.


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
