"""The pipeline's calendar: daily partitions in UTC, one per landing folder, and their mappings.

The first day and the lateness are fixed when the code loads (``days.py``, from
``SNUK_START_DATE`` and ``SNUK_MAX_LATENESS_DAYS``); the names of ``days.py`` are here too.

A portfolio (issue 22, ``wip/issue-22-design.md``) partitions by building and day:
``building_day_partitions``, a dynamic ``building`` dimension (one key per registry) beside the
same daily ``date``, and mappings that map a building to itself and the dates as today's do.

Which of the two the stages use (``pipeline_partitions``) is fixed when the code loads, like the
calendar: by building and day when ``SNUK_REGISTRIES`` names a folder of registries, by day when
the deployment has one building (``SNUK_REGISTRY`` or the reference office). Dagster cannot
change an asset's partitions in place: a deployment's run history, partition status and
automation cursors are keyed by its partition keys, so a single-building deployment keeps its
day keys, and ``snuk demo --buildings 1`` is today's demo. ``check_partition_shape`` refuses
settings that do not fit the shape the graph was built with.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING

from dagster import (
    BetaWarning,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    IdentityPartitionMapping,
    MultiPartitionKey,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    PartitionMapping,
    TimeWindowPartitionMapping,
)

from snuk_assets.days import (
    BY_BUILDING,
    LOOKBACK_DAYS,
    MAX_LATENESS_DAYS,
    START_DATE,
    arrival_days_for,
    check_lateness,
    partition_dates,
)

if TYPE_CHECKING:
    from snuk_assets.settings import SnukSettings

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


BUILDING_DIMENSION = "building"
DATE_DIMENSION = "date"
# One key per building registry, added and deleted as registries come and go.
building_partitions = DynamicPartitionsDefinition(name="buildings")
building_day_partitions = MultiPartitionsDefinition(
    {BUILDING_DIMENSION: building_partitions, DATE_DIMENSION: daily_partitions}
)


def per_building(date_mapping: PartitionMapping | None = None) -> MultiPartitionMapping:
    """Between two ``building_day_partitions`` assets: each building to itself, the dates by
    ``date_mapping`` (the same day when None). Nothing of one building maps to another's."""
    return _multi_mapping(
        {
            BUILDING_DIMENSION: IdentityPartitionMapping(),
            DATE_DIMENSION: date_mapping or IdentityPartitionMapping(),
        }
    )


def across_buildings(date_mapping: PartitionMapping | None = None) -> MultiPartitionMapping:
    """Every building's partitions of the mapped dates: only for the cross-building models
    (cold start), which learn from rooms of the same kind in other buildings."""
    return _multi_mapping({DATE_DIMENSION: date_mapping or IdentityPartitionMapping()})


# The stages' partitions: (building, day) in a portfolio, else the day (see the docstring).
pipeline_partitions = building_day_partitions if BY_BUILDING else daily_partitions


def pipeline_mapping(date_mapping: PartitionMapping | None = None) -> PartitionMapping | None:
    """Between two stages on ``pipeline_partitions``: the dates by ``date_mapping``, within each
    building in a portfolio (``per_building``)."""
    return per_building(date_mapping) if BY_BUILDING else date_mapping


def cross_building_mapping(date_mapping: PartitionMapping | None = None) -> PartitionMapping | None:
    """Every building's mapped dates in a portfolio (``across_buildings``: a new building's
    forecasts borrow other buildings' models), the dates alone by day."""
    return across_buildings(date_mapping) if BY_BUILDING else date_mapping


def building_days(partition_keys: list[str]) -> dict[str | None, list[dt.date]]:
    """A run's partition keys as each building's days, buildings and days sorted; the building
    is None for day keys (the deployment's one building).

    A run may hold several buildings ("all buildings, one day" is one run), and a multi-building
    range is not a rectangle: the stages take the pairs from the keys, never from the range's
    ends (tests/portfolio/test_backfill_policy.py).
    """
    if not BY_BUILDING:
        return {None: sorted(partition_dates(partition_keys))}
    days: dict[str | None, list[dt.date]] = {}
    for key in partition_keys:
        dimensions = building_day_partitions.get_partition_key_from_str(str(key)).keys_by_dimension
        building = dimensions[BUILDING_DIMENSION]
        days.setdefault(building, []).append(dt.date.fromisoformat(dimensions[DATE_DIMENSION]))
    return {building: sorted(days[building]) for building in sorted(days)}


def pipeline_partition_key(building_id: str, day: dt.date) -> str:
    """The stages' partition key of a building's day (the day alone outside a portfolio)."""
    if not BY_BUILDING:
        return day.isoformat()
    return MultiPartitionKey({BUILDING_DIMENSION: building_id, DATE_DIMENSION: day.isoformat()})


def check_partition_shape(settings: SnukSettings) -> None:
    """Refuse settings that do not fit the partitions the graph was built with.

    By day, the stages hold one building: two buildings' runs would replace each other's days.
    By building and day, the buildings are a registries folder's (listed by the sensors, not
    here: a folder may still be empty when the code loads).
    """
    if BY_BUILDING and not settings.registries_path:
        raise ValueError(
            "the asset graph is partitioned by building and day (SNUK_REGISTRIES was set when "
            "partitions.py was imported) but the settings name no registries folder: give them "
            "SNUK_REGISTRIES too"
        )
    if not BY_BUILDING and settings.registries_path:
        buildings = len(settings.building_ids())
        if buildings != 1:
            raise ValueError(
                f"SNUK_REGISTRIES {settings.registries_path} holds {buildings} buildings, but "
                "the asset graph is partitioned by day only (SNUK_REGISTRIES was not set when "
                "partitions.py was imported): set SNUK_REGISTRIES before the code location loads"
            )


def _multi_mapping(by_dimension: dict[str, PartitionMapping]) -> MultiPartitionMapping:
    # Dagster 1.13 marks MultiPartitionMapping beta; its behaviour here is pinned by
    # tests/portfolio/test_partition_mappings.py.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return MultiPartitionMapping(
            {
                name: DimensionPartitionMapping(dimension_name=name, partition_mapping=mapping)
                for name, mapping in by_dimension.items()
            }
        )


__all__ = [
    "BY_BUILDING",
    "building_days",
    "check_partition_shape",
    "cross_building_mapping",
    "pipeline_mapping",
    "pipeline_partition_key",
    "pipeline_partitions",
    "LOOKBACK_DAYS",
    "MAX_LATENESS_DAYS",
    "BUILDING_DIMENSION",
    "DATE_DIMENSION",
    "START_DATE",
    "across_buildings",
    "arrival_days_for",
    "building_day_partitions",
    "building_partitions",
    "check_lateness",
    "daily_partitions",
    "measured_day_mapping",
    "partition_dates",
    "per_building",
]
