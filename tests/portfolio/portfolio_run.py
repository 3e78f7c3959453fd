"""A portfolio's pipeline, run in a child process: ``python portfolio_run.py OUT.json``.

The stages' partitions are fixed when the code loads (``partitions.BY_BUILDING``), so the
(building, day) graph is built in a process whose environment has ``SNUK_REGISTRIES`` from the
start: ``run_portfolio`` simulates the buildings, sets it with the landing zone, the lakehouse
and the engine, and returns what the child wrote to OUT.json
(``tests/portfolio/test_portfolio_pipeline.py`` on the local engine,
``tests/spark/test_spark_portfolio.py`` on Spark).

Steps, on a real (ephemeral) Dagster instance and Delta tables on disk:
1. the landing sensor's requests for two buildings' files, before any building key exists;
2. one run of ingest, resampling and room series for every building and both days;
3. a backfill of one building's second day, with every table's data files listed before and
   after it;
4. declarative automation evaluated before and after the backfill: what it asks for then.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    build_sensor_context,
    evaluate_automation_conditions,
)
from deltalake import DeltaTable

from snuk_assets.definitions import DAILY_JOB, build_definitions
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.landing_sensor import DayRequest, ingest_run_requests, new_building_partitions
from snuk_assets.partitions import BY_BUILDING, pipeline_partition_key
from snuk_assets.pipeline import PARTITION_RANGE_END, PARTITION_RANGE_START

BUILDINGS = 3
STAGES = ("raw_observations", "quarantined_observations", "resampled_series", "room_series")
DAYS = (dt.date(2016, 6, 2), dt.date(2016, 6, 3))
# The automation's clock: DAYS are within its lookback.
NOW = dt.datetime(2016, 6, 5, 12, tzinfo=dt.UTC)


def run_portfolio(root: Path, engine_env: dict[str, str] | None = None) -> dict:
    """Simulate ``BUILDINGS`` buildings under ``root`` and run this script on them."""
    from snuk_assets.simulate.portfolio import simulate_portfolio

    simulate_portfolio(
        buildings=BUILDINGS,
        registries_dir=root / "registries",
        landing_uri=str(root / "landing"),
        truth_dir=root / "truth",
        start=DAYS[0],
        days=len(DAYS),
        seed=42,
    )
    env = {
        **os.environ,
        **(engine_env or {}),
        "SNUK_REGISTRIES": str(root / "registries"),
        "SNUK_LANDING_URI": str(root / "landing"),
        "SNUK_LAKEHOUSE_URI": str(root / "lakehouse"),
        "SNUK_TRUTH_DIR": str(root / "truth"),
    }
    env.pop("SNUK_REGISTRY", None)
    out = root / "report.json"
    subprocess.run([sys.executable, __file__, str(out)], env=env, check=True, timeout=1200)
    return json.loads(out.read_text())


def assert_backfill_left_the_others(run: dict) -> None:
    """The backfilled (building, day) has new data files in every table; every other
    partition's files are the ones it had; automation then asks for the backfilled building's
    partitions downstream, and for no other building's."""
    assert run["backfill_success"]
    backfilled_building = run["backfilled"].split("|")[0]
    stale = run["automation_after_backfill"]
    assert "occupancy_estimate" in stale, stale
    for asset, keys in stale.items():
        assert {key.split("|")[0] for key in keys} == {backfilled_building}, (asset, keys)
    for table, before in run["before"].items():
        after = run["after"][table]
        assert sorted(after) == sorted(before), table
        for key, files in before.items():
            if key == run["backfilled"]:
                assert set(after[key]).isdisjoint(files), (table, key)  # replaced
            else:
                assert after[key] == files, (table, key)  # untouched


def data_files(uri: str) -> dict[str, list[str]]:
    """Each (building, date) partition's data files of a table."""
    actions = pa.table(DeltaTable(uri).get_add_actions(flatten=True)).to_pydict()
    files: dict[str, list[str]] = {}
    for path, building, day in zip(
        actions["path"],
        actions["partition.building_id"],
        actions["partition.date"],
        strict=True,
    ):
        files.setdefault(f"{building}|{day}", []).append(path)
    return {key: sorted(paths) for key, paths in sorted(files.items())}


def materialized_keys(instance: DagsterInstance, run_id: str, asset: str) -> list[str]:
    records = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    return sorted(
        str(record.dagster_event.partition)
        for record in records
        if record.dagster_event.asset_key == AssetKey(asset)
    )


def main(out_path: str) -> None:
    defs = build_definitions()
    settings = defs.resources["settings"]
    buildings = list(settings.building_ids())
    report: dict[str, object] = {"by_building": BY_BUILDING, "buildings": buildings}
    with DagsterInstance.ephemeral() as instance:
        # 1. The landing sensor: multi-partition keys, and the building keys they need.
        context = build_sensor_context(instance=instance)
        requests = [DayRequest(DAYS[0], f"raw:{b}:x", (f"{b}.txt",), b) for b in buildings]
        added = new_building_partitions(context, requests)
        report["sensor_adds"] = sorted(key for request in added for key in request.partition_keys)
        report["sensor_partition_keys"] = sorted(
            str(r.partition_key) for r in ingest_run_requests(context, requests)
        )

        instance.add_dynamic_partitions("buildings", buildings)
        job = defs.resolve_job_def(DAILY_JOB).get_subset(
            asset_selection={AssetKey(name) for name in STAGES}
        )
        # 2. All buildings, both days: one run (the rectangle of the range's ends).
        everything = job.execute_in_process(
            instance=instance,
            tags={
                PARTITION_RANGE_START: str(pipeline_partition_key(buildings[0], DAYS[0])),
                PARTITION_RANGE_END: str(pipeline_partition_key(buildings[-1], DAYS[-1])),
            },
        )
        report["first_run_success"] = everything.success
        report["first_run_room_series_keys"] = materialized_keys(
            instance, everything.run_id, "room_series"
        )
        metadata = everything.asset_materializations_for_node("room_series")[0].metadata
        report["first_run_metadata_buildings"] = metadata["buildings"].value
        lakehouse = Lakehouse(settings.lakehouse_uri)
        first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NOW)
        tables = ("raw_observations", "resampled_series", "room_series")
        before = {name: data_files(lakehouse.table_uri(name)) for name in tables}

        # 3. A backfill of one building's one day.
        backfilled = buildings[0]
        again = job.execute_in_process(
            instance=instance, partition_key=pipeline_partition_key(backfilled, DAYS[-1])
        )
        report["backfill_success"] = again.success
        report["backfilled"] = f"{backfilled}|{DAYS[-1]}"
        report["before"] = before
        report["after"] = {name: data_files(lakehouse.table_uri(name)) for name in tables}
        # 4. What the backfill makes stale downstream: its building's partitions only.
        second = evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=NOW, cursor=first.cursor
        )
        report["automation_after_backfill"] = {
            result.key.to_user_string(): sorted(
                str(k) for k in result.true_subset.expensively_compute_partition_keys()
            )
            for result in second.results
            if result.true_subset.is_partitioned and result.true_subset.size
        }
    with open(out_path, "w") as out:
        json.dump(report, out, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
