"""The pipeline's days, fixed when the code loads: the first partition, the lateness, the lookback.

``SNUK_START_DATE`` (default 2016-06-01, when the reference building's data begins) and
``SNUK_MAX_LATENESS_DAYS`` (default 3) are read here, at import (``environment.calendar_values``),
because the daily partitions and their mappings (``partitions.py``) are part of the asset graph
itself; this is the one place the calendar is decided. ``SnukSettings.max_lateness_days``
defaults to the same value, and definitions built with settings that disagree are refused
(``check_lateness``). No Dagster here: stage modules, which workers import, use these days too.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from snuk_assets.environment import calendar_values
from snuk_assets.transforms.resample.bins import DEFAULT_MAX_GAP

_CALENDAR = calendar_values()
START_DATE = _CALENDAR.start_date
# How many days after its measurement an observation may still land; it also decides which
# arrival days a measurement day depends on, so it is fixed with the graph.
MAX_LATENESS_DAYS = _CALENDAR.max_lateness_days
# A portfolio (SNUK_REGISTRIES) partitions the stages by building and day (partitions.py).
BY_BUILDING = _CALENDAR.by_building
# A motion sensor's last report holds for up to its max_gap (72 h: a quiet weekend), so day D's
# bins need each sensor's last observation up to that long before D's midnight.
LOOKBACK_DAYS = math.ceil(max(DEFAULT_MAX_GAP.values()) / pd.Timedelta(days=1))
# The most days before a run's first day that occupancy_estimate trains on (and so depends on).
MAX_ESTIMATE_HISTORY_DAYS = 28


def partition_dates(partition_keys: list[str]) -> list[dt.date]:
    """The UTC days of daily partition keys (``YYYY-MM-DD``)."""
    return [dt.date.fromisoformat(key) for key in partition_keys]


def arrival_days_for(
    measured: list[dt.date], *, max_lateness_days: int = MAX_LATENESS_DAYS
) -> list[dt.date]:
    """Every arrival day the measurement days ``measured`` read (see ``measured_day_mapping``)."""
    first = min(measured) - dt.timedelta(days=LOOKBACK_DAYS)
    last = max(measured) + dt.timedelta(days=max_lateness_days + 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def check_lateness(max_lateness_days: int) -> None:
    """Refuse a lateness other than the one the partition mappings were built with.

    Quarantine (``SnukSettings.max_lateness_days``) and the graph's dependencies
    (``measured_day_mapping``) must agree: with settings at 5 and the graph at 3, observations
    4 and 5 days late would be kept but no late file would mark their days stale.
    """
    if max_lateness_days != MAX_LATENESS_DAYS:
        raise ValueError(
            f"the settings' max_lateness_days is {max_lateness_days} but the asset graph was "
            f"built with {MAX_LATENESS_DAYS} (SNUK_MAX_LATENESS_DAYS when partitions.py was "
            f"imported): set SNUK_MAX_LATENESS_DAYS={max_lateness_days} before the code "
            "location loads, or leave max_lateness_days at its default"
        )
