"""Asset checks that read a stage's whole Delta table (the others live beside their assets)."""

from __future__ import annotations

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from snuk_assets.settings import SnukSettings

FOREST = "random_forest"
BASELINES = ("persistence", "time_of_week")


def rooms_beating_baselines(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per room, mean F1 over horizons of each model, and whether the forest beats both.

    ``metrics`` has the columns of ``model_metrics`` for one training date.
    """
    f1 = metrics.pivot_table(index="room_id", columns="model", values="f1", aggfunc="mean")
    f1["forest_wins"] = (f1[FOREST] > f1[list(BASELINES)].max(axis=1)) if len(f1) else []
    return f1


@asset_check(
    asset="model_metrics",
    description="On the newest training date, the forest's F1 (mean over horizons) beats both "
    "baselines in most rooms.",
)
def models_beat_baselines(settings: SnukSettings) -> AssetCheckResult:
    metrics = settings.lakehouse().read("model_metrics").to_pandas()
    newest = metrics["date"].max()
    per_room = rooms_beating_baselines(metrics[metrics["date"] == newest])
    wins = int(per_room["forest_wins"].sum())
    return AssetCheckResult(
        passed=wins > len(per_room) / 2,
        severity=AssetCheckSeverity.WARN,
        description=f"{newest}: the forest beats both baselines in {wins} of {len(per_room)} rooms",
        metadata={
            "training_date": str(newest),
            "rooms_won": wins,
            "rooms": len(per_room),
            "mean_f1": MetadataValue.md(per_room.round(3).to_markdown()),
        },
    )
