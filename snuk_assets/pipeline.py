"""Run the pipeline from Python or the ``snuk`` command, recorded in the Dagster instance.

With ``DAGSTER_HOME`` set (the Makefile sets it to ``.dagster``), the runs and their metadata
show up in the UI afterwards; without it they run on an ephemeral instance.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import pyarrow as pa
from dagster import AssetKey, DagsterInstance

from snuk_assets.definitions import DAILY_JOB, build_definitions
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.partitions import BY_BUILDING, building_partitions, pipeline_partition_key
from snuk_assets.registry_sensor import plan_building_changes
from snuk_assets.settings import SnukSettings

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"
# Progress at INFO on the console; Dagster's DEBUG event stream stays in the instance.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _instance() -> DagsterInstance:
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


# Stages that train on a trailing window: one run for one day is what a day needs.
MODEL_STAGES = ("occupancy_models", "model_metrics", "occupancy_forecasts")


def materialize_days(
    start: dt.date,
    end: dt.date,
    *,
    model_day: dt.date | None = None,
    settings: SnukSettings | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> bool:
    """Materialize the registry, then every daily stage for ``start..end`` in one run.

    With ``model_day``, the model stages (which train on the trailing days) run for that day
    only, after the data stages have run for the whole range.
    """
    defs = build_definitions(settings)  # the engine too: SNUK_ENGINE, as for `dagster dev`
    log(f"Engine: {defs.resources['engine']!r}")
    instance = _instance()
    buildings = _sync_buildings(instance, defs.resources["settings"], log)
    registry_job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={AssetKey("sensors")}
    )
    log("Materializing the building registry (sensors)")
    if not registry_job.execute_in_process(instance=instance, run_config=CONSOLE_INFO).success:
        return False
    daily = defs.resolve_job_def(DAILY_JOB)
    if model_day is None:
        log(f"Materializing the daily pipeline for {start} .. {end} in one run")
        return _run_days(daily, instance, start, end, buildings)
    data_stages = {k for k in daily.asset_layer.executable_asset_keys} - {
        AssetKey(name) for name in MODEL_STAGES
    }
    log(f"Materializing the data stages for {start} .. {end} in one run")
    if not _run_days(
        daily.get_subset(asset_selection=data_stages), instance, start, end, buildings
    ):
        return False
    log(f"Training, scoring and forecasting for {model_day}")
    models = daily.get_subset(asset_selection={AssetKey(name) for name in MODEL_STAGES})
    return _run_days(models, instance, model_day, model_day, buildings)


def _sync_buildings(
    instance: DagsterInstance, settings: SnukSettings, log: Callable[[str], None]
) -> list[str]:
    """A portfolio's ``buildings`` partitions made the registries folder's, as the registry
    sensor makes them (``registry_sensor``); the keys in the instance's order. None by day."""
    if not BY_BUILDING:
        return []
    known = instance.get_dynamic_partitions(building_partitions.name)
    changes = plan_building_changes(settings.building_ids(), known)
    if changes.deleted:
        log(f"Building partitions without a registry deleted: {', '.join(changes.deleted)}")
        for building in changes.deleted:
            instance.delete_dynamic_partition(building_partitions.name, building)
    if changes.added:
        log(f"Building partitions added: {', '.join(changes.added)}")
        instance.add_dynamic_partitions(building_partitions.name, list(changes.added))
    return instance.get_dynamic_partitions(building_partitions.name)


def _run_days(
    job, instance: DagsterInstance, start: dt.date, end: dt.date, buildings: list[str]
) -> bool:
    """One run of ``job`` for the days ``start..end`` of every building (by day: the days).

    A range of multi-partition keys is their rectangle: the buildings between the first and
    the last key, in the instance's order, times the days.
    """
    first, last = (buildings[0], buildings[-1]) if buildings else ("", "")
    result = job.execute_in_process(
        instance=instance,
        run_config=CONSOLE_INFO,
        tags={
            PARTITION_RANGE_START: str(pipeline_partition_key(first, start)),
            PARTITION_RANGE_END: str(pipeline_partition_key(last, end)),
        },
    )
    return result.success


def describe_tables(settings: SnukSettings | None = None) -> list[str]:
    """One line per lakehouse table: name, rows (of every building), Delta version, location."""
    settings = settings or SnukSettings.from_env()
    lakehouse = Lakehouse(settings.lakehouse_uri)
    lines = [f"Lakehouse tables under {lakehouse.uri}:"]
    graph = build_definitions(settings).resolve_asset_graph()
    names = [key.to_user_string() for key in graph.toposorted_asset_keys]  # data-flow order
    for name in names:
        if not lakehouse.exists(name):
            lines.append(f"  {name:28s} (not materialized)")
            continue
        table = lakehouse.table(name)
        rows = sum(pa.table(table.get_add_actions(flatten=True))["num_records"].to_pylist())
        lines.append(
            f"  {name:28s} {rows:>12,d} rows  v{table.version():<4d} {lakehouse.table_uri(name)}"
        )
    return lines


def describe_models(settings: SnukSettings | None = None) -> list[str]:
    """Per building, the newest training day's held-out F1 (mean over rooms) and the rooms the
    forest wins."""
    settings = settings or SnukSettings.from_env()
    lines = []
    for building, scoped in settings.each_building():
        if settings.registries_path:
            lines.append(f"{building}:")
        lines += _building_models(scoped)
    return lines


def _building_models(settings: SnukSettings) -> list[str]:
    from snuk_assets.stages.metrics import mean_f1
    from snuk_assets.transforms.models.metrics import (
        forest_wins_by_room,
        rooms_won,
        rooms_won_by_kind,
    )

    metrics = settings.lakehouse().read("model_metrics", missing_ok=True)
    if metrics is None or metrics.num_rows == 0:
        return ["No model metrics yet."]
    metrics = metrics.to_pandas()
    newest = metrics["date"].max()
    metrics = metrics[metrics["date"] == newest]
    table = mean_f1(metrics)
    shown = [h for h in (1, 3, 6, 12) if h in table.columns] or list(table.columns)
    per_room = forest_wins_by_room(metrics)
    won, compared = rooms_won(per_room)
    by_kind = rooms_won_by_kind(per_room, settings.registry().room_kinds())
    return [
        f"Held-out F1 of the models trained for {newest}, mean over rooms:",
        "  " + f"{'horizon (bins ahead)':22s}" + "".join(f"{h:>8d}" for h in shown),
        *(
            "  " + f"{model:22s}" + "".join(f"{values[h]:8.3f}" for h in shown)
            for model, values in table.iterrows()
        ),
        f"The forest beats both baselines at every horizon in {won} of {compared} rooms.",
        "  by room kind: " + ", ".join(f"{kind} {w}/{n}" for kind, (w, n) in by_kind.items()),
    ]
