"""Issue 22: a portfolio's pipeline on (building, day) partitions, end to end on real tables.

Criteria, fixed before the first run: with ``SNUK_REGISTRIES`` set when the code loads, the
stages are partitioned by building and day; "all buildings, both days" is one run that
materializes every (building, day) of room_series; the landing sensor requests (building, day)
keys and adds the building keys the instance lacks; a backfill of one building's day replaces
that partition's data files in every stage and leaves every data file of the other buildings,
and of its other day, as it was (file lists compared).

The graph is built in a child process (``portfolio_run.py``): its partitions are fixed at import,
and this process's graph is the single-building one.
"""

from __future__ import annotations

import pytest
from portfolio_run import BUILDINGS, DAYS, assert_backfill_left_the_others, run_portfolio

from snuk_assets.partitions import BY_BUILDING


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    return run_portfolio(tmp_path_factory.mktemp("portfolio_pipeline"))


def test_this_process_is_partitioned_by_day():
    assert not BY_BUILDING  # the suite's own graph: SNUK_REGISTRIES unset


def test_all_buildings_both_days_in_one_run(run):
    assert run["by_building"]
    assert len(run["buildings"]) == BUILDINGS
    assert run["first_run_success"]
    expected = sorted(f"{b}|{d}" for b in run["buildings"] for d in DAYS)
    assert run["first_run_room_series_keys"] == expected
    assert run["first_run_metadata_buildings"] == BUILDINGS
    for table, files in run["before"].items():
        assert sorted(files) == expected, table  # every building's days, nothing else


def test_the_landing_sensor_asks_for_building_days(run):
    assert run["sensor_adds"] == run["buildings"]  # none existed yet
    assert run["sensor_partition_keys"] == sorted(f"{b}|{DAYS[0]}" for b in run["buildings"])


def test_a_backfill_of_one_building_leaves_the_others_files(run):
    assert_backfill_left_the_others(run)
