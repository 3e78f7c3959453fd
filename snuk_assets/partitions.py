"""The pipeline's calendar: daily partitions in UTC, one per landing folder, and their mappings.

The first day and the lateness are fixed when the code loads (``days.py``, from
``SNUK_START_DATE`` and ``SNUK_MAX_LATENESS_DAYS``); the names of ``days.py`` are here too.
"""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, TimeWindowPartitionMapping

from snuk_assets.days import (
    LOOKBACK_DAYS,
    MAX_LATENESS_DAYS,
    START_DATE,
    arrival_days_for,
    check_lateness,
    partition_dates,
)

# end_offset=1 includes today's partition, so files arriving today can be ingested right away.
daily_partitions = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)


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


__all__ = [
    "LOOKBACK_DAYS",
    "MAX_LATENESS_DAYS",
    "START_DATE",
    "arrival_days_for",
    "check_lateness",
    "daily_partitions",
    "measured_day_mapping",
    "partition_dates",
]
