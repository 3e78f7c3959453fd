"""The ``model_metrics`` asset: held-out scores per room, model and horizon, with a picture.

The stage is ``stages.metrics``; this module renders the scores for the UI.
"""

import pandas as pd
from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from snuk_assets.assets.buildings import building_runs, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.partitions import pipeline_partitions
from snuk_assets.pictures import png_markdown
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.metrics import mean_f1, score_days
from snuk_assets.transforms.models.metrics import forest_wins_by_room, rooms_won


@asset(
    deps=["occupancy_models"],
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="models",
    kinds={"delta"},
)
def model_metrics(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Accuracy, F1, ROC AUC and Brier score of the forest and both baselines per horizon."""
    by_building = {}
    for building, scoped, days in building_runs(settings, context.partition_keys):
        write, metrics = score_days(scoped, days)
        latest = metrics[metrics["date"] == metrics["date"].max()] if len(metrics) else metrics
        by_building[building] = {
            **table_metadata(write),
            "mean_f1_latest_day": MetadataValue.md(f1_markdown(latest)),
            "f1_by_horizon": MetadataValue.md(f1_picture_markdown(latest)),
        }
    return MaterializeResult(metadata=combined_metadata(by_building))


def f1_markdown(metrics: pd.DataFrame) -> str:
    if metrics.empty:
        return "No trained model."
    table = mean_f1(metrics)
    lines = [
        "| model | " + " | ".join(f"h{h}" for h in table.columns) + " |",
        "|---|" + "---:|" * len(table.columns),
    ]
    lines += [
        f"| {model} | " + " | ".join(f"{v:.3f}" for v in values) + " |"
        for model, values in table.iterrows()
    ]
    won, compared = rooms_won(forest_wins_by_room(metrics))
    lines.append(
        f"\nForest beats both baselines at every horizon in {won} of {compared} rooms "
        "(horizons without an occupied test window are not compared)."
    )
    return "\n".join(lines)


def f1_picture_markdown(metrics: pd.DataFrame) -> str:
    """Per-horizon mean F1 of the three models as an embedded PNG."""
    if metrics.empty:
        return "No trained model."
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = mean_f1(metrics)
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    for model, values in table.iterrows():
        axes.plot(table.columns, values, marker="o", label=model)
    axes.set(xlabel="horizon (bins ahead)", ylabel="mean F1 over rooms", title="Held-out F1")
    axes.grid(alpha=0.3)
    axes.legend()
    return png_markdown(figure, alt="F1 by horizon")
