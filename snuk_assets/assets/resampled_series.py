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

from snuk_assets.assets.metadata import check_result, table_metadata
from snuk_assets.partitions import daily_partitions, measured_day_mapping, partition_dates
from snuk_assets.pictures import png_markdown, room_heatmap
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
        deps=[AssetDep("raw_observations", partition_mapping=measured_day_mapping())],
        check_specs=CHECK_SPECS,
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name="resample",
        kinds={"delta", "spark"} if launcher_key else {"delta"},
        required_resource_keys=resource_keys,
    )
    def resampled_series(context: AssetExecutionContext):
        """Per sensor, exact time-weighted bins of each measurement day, with coverage, status."""
        settings = context.resources.settings
        days = partition_dates(context.partition_keys)
        if launcher_key:
            launcher = getattr(context.resources, launcher_key)
            yield from launcher.run_stage(context, "resample", settings, days)
            return
        result = resample_days(context.resources.engine, settings, days)
        summary = result.summary
        context.log.info(
            f"{len(days)} days of {summary['sensor_id'].nunique()} sensors; "
            f"{int(summary['redelivered'].sum())} redelivered, "
            f"{int(summary['conflicting'].sum())} conflicting values resolved (latest arrival wins)"
        )
        silent = sorted(set(settings.registry().sensors["sensor_id"]) - set(summary["sensor_id"]))
        if silent:
            context.log.warning(f"{len(silent)} registered sensors sent nothing: {silent[:20]}")
        statuses = count_statuses(summary)
        bins = int(summary["bins"].sum())
        yield MaterializeResult(
            metadata={
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
        )
        for verdict in checks(summary, max_share=settings.max_offline_share):
            yield check_result(verdict)

    return resampled_series


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
