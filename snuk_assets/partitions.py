"""The pipeline's calendar: daily partitions in UTC, one per landing folder, and their mappings.

The first day and the lateness are fixed when the code loads (``days.py``, from
``SNUK_START_DATE`` and ``SNUK_MAX_LATENESS_DAYS``); the names of ``days.py`` are here too.

A portfolio (issue 22, ``wip/issue-22-design.md``) partitions by building and day:
``building_day_partitions``, a dynamic ``building`` dimension (one key per registry) beside the
same daily ``date``, and mappings that map a building to itself and the dates as today's do.
Not used by the assets yet (step 3 of the design).
"""

from __future__ import annotations

import warnings

from dagster import (
    BetaWarning,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    IdentityPartitionMapping,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    PartitionMapping,
    TimeWindowPartitionMapping,
)

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
