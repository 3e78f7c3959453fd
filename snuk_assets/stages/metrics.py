"""Model metrics: the held-out scores of every room's forest and baselines, one row each.

Small (a few thousand rows a day): read and written on the driver with either engine.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from snuk_assets.lakehouse import WriteReport
    from snuk_assets.settings import SnukSettings

MODELS = ["random_forest", "persistence", "time_of_week"]


def score_days(settings: SnukSettings, days: list[dt.date]) -> tuple[WriteReport, pd.DataFrame]:
    """Replace ``model_metrics`` for ``days`` from the models' stored scores; the write and
    the rows written."""
    lakehouse = settings.lakehouse()
    models = lakehouse.read(
        "occupancy_models", dates=days, columns=["room_id", "date", "status", "metrics"]
    ).to_pandas()
    metrics = expand_metrics(models)
    table = pa.Table.from_pandas(metrics, schema=SCHEMA, preserve_index=False)
    return lakehouse.replace_partitions("model_metrics", table, dates=days), metrics


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
