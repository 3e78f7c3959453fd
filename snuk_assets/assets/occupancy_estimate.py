"""The ``occupancy_estimate`` asset: per room and bin, the probability that somebody is there.

The stage is ``stages.estimate`` (in-process, either engine): trained per run on the counter
rooms' bins of the run's days and of up to ``settings.estimate_history_days`` before them,
hence the dependency on that many more days of room_series (and of resampled_series: the
counter rooms' own motion sensors). The picture and the shares come from the written rows.
"""

import datetime as dt

from dagster import (
    AssetDep,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionMapping,
    TimeWindowPartitionMapping,
    asset,
)

from snuk_assets.assets.buildings import building_runs, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.days import MAX_ESTIMATE_HISTORY_DAYS
from snuk_assets.partitions import pipeline_mapping, pipeline_partitions
from snuk_assets.pictures import png_markdown, room_heatmap
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.estimate import (
    FEATURE_PAST_DAYS,
    decided_shares,
    estimate_days,
    estimator_bins,
    shares,
)
from snuk_assets.stages.resample import picture_freq
from snuk_assets.transforms.counter_taught import MIN_CLASS_BINS, UNTRAINED


def _trailing_days() -> PartitionMapping | None:
    return pipeline_mapping(
        TimeWindowPartitionMapping(
            start_offset=-(MAX_ESTIMATE_HISTORY_DAYS + FEATURE_PAST_DAYS),
            allow_nonexistent_upstream_partitions=True,
        )
    )


@asset(
    deps=[
        AssetDep("room_series", partition_mapping=_trailing_days()),
        AssetDep("resampled_series", partition_mapping=_trailing_days()),
    ],
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="features",
    kinds={"delta", "sklearn"},
)
def occupancy_estimate(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Per room and bin, the probability somebody is there, taught by the people counters."""
    return MaterializeResult(
        metadata=combined_metadata(
            {
                building: _building_metadata(context, building, scoped, days)
                for building, scoped, days in building_runs(settings, context.partition_keys)
            }
        )
    )


def _building_metadata(
    context: AssetExecutionContext, building: str, settings: SnukSettings, days: list[dt.date]
) -> dict[str, object]:
    """One building's estimate, from its own counter rooms only."""
    result = estimate_days(settings, days)
    taught = result.taught
    if taught.estimator is None:
        context.log.warning(
            f"{building} {days[0]} .. {days[-1]}: nothing trained ({taught.reason}); "
            f"the estimate is the motion label (at least {MIN_CLASS_BINS} occupied and free "
            "counted bins are needed)"
        )
    else:
        context.log.info(
            f"{building}: trained on {taught.training_bins} bins of counter rooms "
            f"{taught.trained_on}"
        )
    rows = taught.estimates
    pictures = {}
    if len(rows) and rows["estimate"].notna().any():
        freq = picture_freq(days, settings.bin_freq)
        hourly = rows.assign(bin_start=rows["bin_start"].dt.floor(freq))
        heatmap = room_heatmap(
            hourly,
            value="estimate",
            title=f"Occupancy estimate per room, {days[0]} .. {days[-1]}",
            label="probability somebody is there (blank: no input)",
        )
        pictures["estimate_by_room"] = MetadataValue.md(
            png_markdown(heatmap, alt="occupancy estimate per room and bin")
        )
    training_days = result.training_days
    return {
        **pictures,
        **table_metadata(result.write),
        "trained_on": MetadataValue.json(taught.trained_on) if taught.trained_on else UNTRAINED,
        "untrained_because": taught.reason,
        "training_bins": taught.training_bins,
        "training_occupied_bins": taught.training_occupied_bins,
        "training_days": f"{training_days[0]} .. {training_days[-1]}" if training_days else "",
        "estimator_bins": estimator_bins(result),
        "bins_by_source": MetadataValue.json(
            {k: int(v) for k, v in rows["source"].value_counts().sort_index().items()}
        ),
        "decided_shares": MetadataValue.json(decided_shares(result)),
        "occupied_shares": MetadataValue.json(shares(result)),
    }
