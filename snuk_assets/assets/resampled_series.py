"""The ``resampled_series`` asset: each sensor's observations as exact, gap-aware regular bins.

The stage is ``stages.resample``. One declaration serves both ways to run it
(``resampled_series_asset``): in this process through the ``engine`` resource (the main code
location), or as a spark-submit step through a ``SparkStepLauncher`` and Dagster Pipes
(``snuk_assets.emr.definitions``); the key, dependencies, partitions, group and checks are the
same, and so are the settings the stage sees (carried whole to the step).
"""

import datetime as dt

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from snuk_assets.assets.buildings import building_runs, combined_checks, combined_metadata
from snuk_assets.assets.metadata import check_result, table_metadata
from snuk_assets.engines import ComputeEngine
from snuk_assets.partitions import measured_day_mapping, pipeline_mapping, pipeline_partitions
from snuk_assets.pictures import png_markdown, room_heatmap
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.resample import checks, offline_summary, offline_verdict, resample_days
from snuk_assets.stages.resample import status_counts as count_statuses

NAME = "resampled_series"
CHECK_SPECS = [
    AssetCheckSpec(
        "sensors_mostly_online",
        asset=NAME,
        description="No sensor is offline for more than max_offline_share of a day.",
    ),
    AssetCheckSpec(
        "values_in_range",
        asset=NAME,
        description="Every bin value lies in its sensor type's plausible range.",
    ),
]


def resampled_series_asset(*, launcher_key: str | None = None) -> AssetsDefinition:
    """``resampled_series``, run by the engine or, with ``launcher_key``, by that launcher."""
    resource_keys = {"settings", launcher_key or "engine"}

    @asset(
        name=NAME,
        deps=[
            AssetDep("raw_observations", partition_mapping=pipeline_mapping(measured_day_mapping()))
        ],
        check_specs=CHECK_SPECS,
        partitions_def=pipeline_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name="resample",
        kinds={"delta", "spark"} if launcher_key else {"delta"},
        required_resource_keys=resource_keys,
    )
    def resampled_series(context: AssetExecutionContext):
        """Per sensor, exact time-weighted bins of each measurement day, with coverage, status."""
        settings = context.resources.settings
        runs = list(building_runs(settings, context.partition_keys))
        if launcher_key:
            if len(runs) > 1:
                # A step is one building's scope (settings.building) and reports one
                # materialization through Pipes: one step, one building, per run.
                raise ValueError(
                    f"a spark-submit or EMR step resamples one building per run; this run holds "
                    f"{len(runs)} ({', '.join(building for building, _, _ in runs)}): run each "
                    "building's days on their own"
                )
            _, scoped, days = runs[0]
            launcher = getattr(context.resources, launcher_key)
            yield from launcher.run_stage(context, "resample", scoped, days)
            return
        metadata, verdicts = {}, {}
        for building, scoped, days in runs:
            metadata[building], verdicts[building] = _building_report(
                context, context.resources.engine, building, scoped, days
            )
        yield MaterializeResult(metadata=combined_metadata(metadata))
        yield from combined_checks(verdicts)

    return resampled_series


def _building_report(
    context: AssetExecutionContext,
    engine: ComputeEngine,
    building: str,
    settings: SnukSettings,
    days: list[dt.date],
) -> tuple[dict[str, object], list[AssetCheckResult]]:
    """One building's resampling: its metadata and its check results."""
    result = resample_days(engine, settings, days)
    summary = result.summary
    context.log.info(
        f"{building}: {len(days)} days of {summary['sensor_id'].nunique()} sensors; "
        f"{int(summary['redelivered'].sum())} redelivered, "
        f"{int(summary['conflicting'].sum())} conflicting values resolved (latest arrival wins)"
    )
    silent = sorted(set(settings.registry().sensors["sensor_id"]) - set(summary["sensor_id"]))
    if silent:
        context.log.warning(
            f"{building}: {len(silent)} registered sensors sent nothing: {silent[:20]}"
        )
    statuses = count_statuses(summary)
    bins = int(summary["bins"].sum())
    metadata = {
        **motion_picture(summary, days),
        **table_metadata(result.write),
        "sensors": int(summary["sensor_id"].nunique()),
        "bin_freq": settings.bin_freq,
        "offline_bin_share": statuses.get("offline", 0) / bins if bins else 0.0,
        "status_counts": MetadataValue.json(statuses),
        "offline_sensors": MetadataValue.md(offline_summary(summary)),
        "silent_sensors": MetadataValue.json(silent),
        "observations_redelivered": int(summary["redelivered"].sum()),
        "observations_conflicting": int(summary["conflicting"].sum()),
    }
    verdicts = checks(summary, max_share=settings.max_offline_share)
    return metadata, [check_result(verdict) for verdict in verdicts]


def offline_check(summary: pd.DataFrame, *, max_share: float) -> AssetCheckResult:
    """The ``sensors_mostly_online`` check of ``summary`` (summary rows, or the bins)."""
    return check_result(offline_verdict(summary, max_share=max_share))


def motion_picture(summary: pd.DataFrame, days: list[dt.date]) -> dict[str, MetadataValue]:
    """The motion share heatmap per room, if any motion sensor reported."""
    motion = summary[summary["sensor_type"] == "motion"]
    if motion.empty:
        return {}
    heatmap = room_heatmap(
        motion.rename(columns={"picture_bin": "bin_start"}),
        value="motion",
        title=f"Motion share per room, {days[0]} .. {days[-1]}",
        label="share of bin with motion",
    )
    return {
        "motion_by_room": MetadataValue.md(
            png_markdown(heatmap, alt="motion share per room and bin")
        )
    }


resampled_series = resampled_series_asset()
