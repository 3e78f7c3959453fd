"""The ``model_metrics`` asset: held-out scores per room, model and horizon, with a picture."""

import json

import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.pictures import png_markdown
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.models.metrics import forest_wins_by_room, rooms_won

MODELS = ["random_forest", "persistence", "time_of_week"]


@asset(
    deps=["occupancy_models"],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="models",
    kinds={"delta"},
)
def model_metrics(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Accuracy, F1, ROC AUC and Brier score of the forest and both baselines per horizon."""
    days = partition_dates(context.partition_keys)
    lakehouse = settings.lakehouse()
    models = lakehouse.read(
        "occupancy_models", dates=days, columns=["room_id", "date", "status", "metrics"]
    ).to_pandas()
    metrics = expand_metrics(models)
    table = pa.Table.from_pandas(metrics, schema=SCHEMA, preserve_index=False)
    report = lakehouse.replace_partitions("model_metrics", table, dates=days)
    latest = metrics[metrics["date"] == metrics["date"].max()] if len(metrics) else metrics
    return MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "mean_f1_latest_day": MetadataValue.md(f1_markdown(latest)),
            "f1_by_horizon": MetadataValue.md(f1_picture_markdown(latest)),
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )


def expand_metrics(models: pd.DataFrame) -> pd.DataFrame:
    """One row per room, training day, model and horizon from the models' JSON scores."""
    rows = [
        {"room_id": m.room_id, "date": m.date, **record}
        for m in models[models["status"] == "trained"].itertuples()
        for record in json.loads(m.metrics)
    ]
    return pd.DataFrame(rows, columns=SCHEMA.names)


def mean_f1(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean F1 over rooms: one row per model, one column per horizon."""
    return metrics.pivot_table(index="model", columns="horizon", values="f1").reindex(MODELS)


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


SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("date", pa.date32()),
        ("model", pa.string()),
        ("horizon", pa.int64()),
        ("test_size", pa.int64()),
        ("accuracy", pa.float64()),
        ("f1", pa.float64()),
        ("roc_auc", pa.float64()),
        ("brier", pa.float64()),
    ]
)
