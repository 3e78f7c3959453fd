"""Issue 22: the (building x day) partitions and their mappings, on a real instance's dynamic
partitions.

Criteria, fixed before the first run: the measured-day mapping per building asks, for a
(building, day D), exactly that building's arrival days D-3 .. D+lateness+1 (today's mapping,
``partitions.measured_day_mapping``), and a late file of (building, arrival day A) makes exactly
that building's days A-lateness-1 .. A+3 stale; the cross-building mapping asks every building's
partitions of the mapped days.
"""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import DagsterInstance, MultiPartitionKey

from snuk_assets.partitions import (
    LOOKBACK_DAYS,
    MAX_LATENESS_DAYS,
    across_buildings,
    building_day_partitions,
    measured_day_mapping,
    per_building,
)

BUILDINGS = ["b1", "b2", "b3"]
NOW = dt.datetime(2016, 9, 1, tzinfo=dt.UTC)
DAY = dt.date(2016, 8, 15)


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("buildings", BUILDINGS)
        yield instance


def subset(pairs):
    keys = [MultiPartitionKey({"building": b, "date": d.isoformat()}) for b, d in pairs]
    return building_day_partitions.empty_subset().with_partition_keys(keys)


def pairs_of(partitions_subset) -> list[tuple[str, dt.date]]:
    return sorted(
        (key.keys_by_dimension["building"], dt.date.fromisoformat(key.keys_by_dimension["date"]))
        for key in partitions_subset.get_partition_keys()
    )


def days(first: int, last: int) -> list[dt.date]:
    return [DAY + dt.timedelta(days=offset) for offset in range(first, last + 1)]


def upstream(mapping, pairs, instance):
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(
        subset(pairs),
        building_day_partitions,
        building_day_partitions,
        current_time=NOW,
        dynamic_partitions_store=instance,
    )
    return pairs_of(result.partitions_subset)


def test_a_building_day_reads_only_its_buildings_arrival_days(instance):
    wanted = upstream(per_building(measured_day_mapping()), [("b2", DAY)], instance)
    assert wanted == [("b2", d) for d in days(-LOOKBACK_DAYS, MAX_LATENESS_DAYS + 1)]


def test_a_late_file_makes_only_its_buildings_days_stale(instance):
    stale = per_building(measured_day_mapping()).get_downstream_partitions_for_partitions(
        subset([("b1", DAY)]),
        building_day_partitions,
        building_day_partitions,
        current_time=NOW,
        dynamic_partitions_store=instance,
    )
    assert pairs_of(stale) == [("b1", d) for d in days(-MAX_LATENESS_DAYS - 1, LOOKBACK_DAYS)]


def test_the_same_day_per_building(instance):
    assert upstream(per_building(), [("b3", DAY)], instance) == [("b3", DAY)]


def test_the_cross_building_mapping_reads_every_building_of_the_day(instance):
    assert upstream(across_buildings(), [("b2", DAY)], instance) == [(b, DAY) for b in BUILDINGS]
