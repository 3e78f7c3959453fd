"""The pipeline's calendar: daily partitions in UTC, one per landing folder.

The first day comes from ``SNUK_START_DATE`` (default 2016-06-01, when the reference building's
data begins). It is read here, at import, because a partitions definition is part of the asset
graph itself; this is the one place the calendar is decided.
"""

from __future__ import annotations

import datetime as dt
import os

from dagster import DailyPartitionsDefinition

DEFAULT_START_DATE = "2016-06-01"
START_DATE = os.environ.get("SNUK_START_DATE", DEFAULT_START_DATE)

# end_offset=1 includes today's partition, so files arriving today can be ingested right away.
daily_partitions = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)


def partition_dates(partition_keys: list[str]) -> list[dt.date]:
    """The UTC days of daily partition keys (``YYYY-MM-DD``)."""
    return [dt.date.fromisoformat(key) for key in partition_keys]
