"""The pipeline's calendar: daily partitions in UTC, one per landing folder.

The first day comes from ``SNUK_START_DATE`` (default 2016-06-01, when the reference building's
data begins). It is read here, at import, because a partitions definition is part of the asset
graph itself; this is the one place the calendar is decided.
"""

from __future__ import annotations

import datetime as dt
import math
import os

import pandas as pd
from dagster import DailyPartitionsDefinition, TimeWindowPartitionMapping

from snuk_assets.transforms.resample.bins import DEFAULT_MAX_GAP

DEFAULT_START_DATE = "2016-06-01"
START_DATE = os.environ.get("SNUK_START_DATE", DEFAULT_START_DATE)
# How many days after its measurement an observation may still land; it also decides which
# arrival days a measurement day depends on, so it is fixed with the graph.
MAX_LATENESS_DAYS = int(os.environ.get("SNUK_MAX_LATENESS_DAYS", "3"))
# A motion sensor's last report holds for up to its max_gap (72 h: a quiet weekend), so day D's
# bins need each sensor's last observation up to that long before D's midnight.
LOOKBACK_DAYS = math.ceil(max(DEFAULT_MAX_GAP.values()) / pd.Timedelta(days=1))

# end_offset=1 includes today's partition, so files arriving today can be ingested right away.
daily_partitions = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)


def partition_dates(partition_keys: list[str]) -> list[dt.date]:
    """The UTC days of daily partition keys (``YYYY-MM-DD``)."""
    return [dt.date.fromisoformat(key) for key in partition_keys]


def measured_day_mapping() -> TimeWindowPartitionMapping:
    """Arrival days that hold observations needed for measurement day D: D-3 .. D+lateness+1.

    D's own observations arrive on D .. D+lateness; the ``LOOKBACK_DAYS`` (3) days before add
    each sensor's last observation before midnight, and the day after the first observation
    after D's end (which itself may land up to D+1+lateness). A late file for arrival day A so
    marks days A-lateness-1 .. A+3 stale, and nothing else.
    """
    return TimeWindowPartitionMapping(
        start_offset=-LOOKBACK_DAYS,
        end_offset=MAX_LATENESS_DAYS + 1,
        allow_nonexistent_upstream_partitions=True,
    )


def arrival_days_for(measured: list[dt.date]) -> list[dt.date]:
    """Every arrival day the measurement days ``measured`` read (see ``measured_day_mapping``)."""
    first = min(measured) - dt.timedelta(days=LOOKBACK_DAYS)
    last = max(measured) + dt.timedelta(days=MAX_LATENESS_DAYS + 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
