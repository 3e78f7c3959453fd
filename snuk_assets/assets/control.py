"""The ``room_controls`` and ``control_evaluation`` assets: the policies run on the plant.

One run evaluates its whole partition range in one closed loop (the room temperatures carry
from day to day), after one warm-up day of each policy; a day computed alone starts from the
warm-up, so it can differ a little from the same day inside a range. Needs a simulated
building: the ground truth (``SnukSettings.truth_dir``) and the simulator's seed.
"""

import pyarrow as pa
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetOut,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    multi_asset,
)

from snuk_assets.assets.buildings import building_runs
from snuk_assets.partitions import pipeline_mapping, pipeline_partitions
from snuk_assets.settings import SnukSettings


class ControlConfig(Config):
    """The simulator's seed (its weather) and the forecast policy's parameters."""

    seed: int = 42
    threshold: float = 0.1  # ControlParams' defaults, chosen on seed 7
    lead_bins: int = 3


@multi_asset(
    outs={
        "room_controls": AssetOut(
            description="Per policy, room and bin: what the policy commanded and why.",
            group_name="control",
            kinds={"delta"},
        ),
        "control_evaluation": AssetOut(
            description="Per day, room and policy: energy, discomfort, MissTime, dark minutes.",
            group_name="control",
            kinds={"delta"},
        ),
    },
    deps=[
        AssetDep(
            "room_series",
            partition_mapping=pipeline_mapping(TimeWindowPartitionMapping(start_offset=-2)),
        ),
        AssetDep(
            "occupancy_models",
            partition_mapping=pipeline_mapping(
                TimeWindowPartitionMapping(
                    start_offset=-7, end_offset=-1, allow_nonexistent_upstream_partitions=True
                )
            ),
        ),
    ],
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
)
def control_assets(context: AssetExecutionContext, config: ControlConfig, settings: SnukSettings):
    """Run fixed_schedule, reactive, forecast and oracle control on the evaluation plant."""
    from snuk_assets.control.evaluation import (
        ControlParams,
        building_and_kind_summary,
        evaluate_control,
        read_truth,
    )
    from snuk_assets.control.pictures import energy_against_discomfort
    from snuk_assets.pictures import png_markdown

    runs = list(building_runs(settings, context.partition_keys))
    if len(runs) > 1:
        # The evaluation replays one simulated building's truth (SNUK_TRUTH_DIR).
        raise ValueError(
            f"the control evaluation runs one simulated building at a time; this run holds "
            f"{len(runs)}: select one building's days"
        )
    _, settings, days = runs[0]
    lakehouse = settings.lakehouse()
    params = ControlParams(threshold=config.threshold, lead_bins=config.lead_bins)
    run = evaluate_control(
        lakehouse,
        settings.registry(),
        truth=read_truth(settings.truth_dir),
        start=days[0],
        days=(days[-1] - days[0]).days + 1,
        seed=config.seed,
        freq=settings.bin_freq,
        params=params,
    )
    controls = pa.Table.from_pandas(run.controls, schema=CONTROLS_SCHEMA, preserve_index=False)
    kpis = pa.Table.from_pandas(run.kpis, preserve_index=False)
    controls_report = lakehouse.replace_partitions("room_controls", controls, dates=days)
    kpis_report = lakehouse.replace_partitions("control_evaluation", kpis, dates=days)
    building = building_and_kind_summary(run.kpis)["building"]
    picture = png_markdown(
        energy_against_discomfort(building, title=f"{days[0]} .. {days[-1]}, seed {config.seed}"),
        alt="energy against discomfort per policy",
    )
    yield MaterializeResult(
        asset_key="room_controls",
        metadata={
            "dagster/row_count": controls.num_rows,
            "rooms_without_forecast": MetadataValue.json(run.rooms_without_forecast),
            "table_uri": MetadataValue.path(controls_report.table_uri),
        },
    )
    yield MaterializeResult(
        asset_key="control_evaluation",
        metadata={
            "dagster/row_count": kpis.num_rows,
            "energy_against_discomfort": MetadataValue.md(picture),
            "building": MetadataValue.md(building.round(2).to_markdown()),
            "table_uri": MetadataValue.path(kpis_report.table_uri),
        },
    )


CONTROLS_SCHEMA = pa.schema(
    [
        ("policy", pa.string()),
        ("room_id", pa.string()),
        ("bin_start", pa.timestamp("us", tz="UTC")),
        ("lights", pa.bool_()),
        ("hvac_mode", pa.string()),
        ("band_low_c", pa.float64()),
        ("band_high_c", pa.float64()),
        ("reason", pa.string()),
        ("forecast_now", pa.float64()),
        ("forecast_ahead", pa.float64()),
        ("motion", pa.float64()),
        ("date", pa.date32()),
    ]
)
