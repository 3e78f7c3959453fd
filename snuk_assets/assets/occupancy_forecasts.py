"""The ``occupancy_forecasts`` asset: per room, the next bins' occupancy probabilities.

The forecast starts after the latest bin of the partition day that has a complete feature
window, and uses each room's latest trained model up to that day.
"""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import (
    AssetDep,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from snuk_assets.assets.occupancy_models import read_models
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.models.blobs import load_model
from snuk_assets.transforms.models.metrics import comparable_f1
from snuk_assets.transforms.models.training import TrainingParams, positive_proba
from snuk_assets.transforms.rooms import WINDOWED_COLUMNS
from snuk_assets.transforms.windows import lagged_signals, room_windows

# How far back a room's latest model may have been trained.
MODEL_MAX_AGE_DAYS = 7
MODEL_COLUMNS = ["room_id", "date", "status", "model", "feature_names", "horizons", "metrics"]


@asset(
    deps=[
        "occupancy_models",
        AssetDep("room_series", partition_mapping=TimeWindowPartitionMapping(start_offset=-1)),
    ],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="forecasts",
    kinds={"delta"},
)
def occupancy_forecasts(
    context: AssetExecutionContext, settings: SnukSettings
) -> MaterializeResult:
    """Per room, the probability of occupancy for each of the next bins after the day's end."""
    days = partition_dates(context.partition_keys)
    lakehouse = settings.lakehouse()
    registry = settings.registry()
    frames, skipped = [], {}
    for day in days:
        models = latest_models(lakehouse, day)
        rooms = lakehouse.read("room_series", dates=[day - dt.timedelta(days=1), day])
        rooms = rooms.to_pandas()
        for model_row in models.itertuples():
            room = rooms[rooms["room_id"] == model_row.room_id]
            forecast = forecast_room(
                room, model_row, day=day, settings=settings, timezone=registry.timezone
            )
            if isinstance(forecast, str):
                skipped[f"{day} {model_row.room_id}"] = forecast
            else:
                frames.append(forecast)
    table = (
        pa.Table.from_pandas(
            pd.concat(frames, ignore_index=True), schema=SCHEMA, preserve_index=False
        )
        if frames
        else SCHEMA.empty_table()
    )
    report = lakehouse.replace_partitions("occupancy_forecasts", table, dates=days)
    return MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "rooms_forecast": len(frames),
            "rooms_free_ahead": MetadataValue.json(rooms_free_ahead(frames)),
            "rooms_skipped": MetadataValue.json(skipped),
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )


def rooms_free_ahead(frames: list[pd.DataFrame]) -> dict[str, list[str]]:
    """Per day, the rooms called free for every forecast bin: where lights and cooling can go."""
    free: dict[str, list[str]] = {}
    for frame in frames:
        if not frame["occupied"].any():
            free.setdefault(str(frame["date"].iloc[0]), []).append(str(frame["room_id"].iloc[0]))
    return {day: sorted(rooms) for day, rooms in free.items()}


def latest_models(lakehouse, day: dt.date) -> pd.DataFrame:
    """Each room's most recently trained model of the days up to ``day``."""
    span = [day - dt.timedelta(days=n) for n in range(MODEL_MAX_AGE_DAYS)]
    models = read_models(lakehouse, span, columns=MODEL_COLUMNS)
    if models is None:
        return pd.DataFrame(columns=MODEL_COLUMNS)
    models = models[models["status"] == "trained"].sort_values("date")
    return models.drop_duplicates("room_id", keep="last")


def forecast_room(room, model_row, *, day, settings, timezone) -> pd.DataFrame | str:
    """The room's forecast rows, or why there is none."""
    # Only the signals the model uses need a complete window, as far back as it looks.
    reach = lagged_signals(model_row.feature_names)
    signals = [column for column in WINDOWED_COLUMNS if column in reach]
    empty = [column for column in signals if not (len(room) and room[column].notna().any())]
    if empty:
        return f"no {' or '.join(empty)} data on the day"
    anchors = pd.date_range(
        pd.Timestamp(day, tz="UTC"),
        periods=int(pd.Timedelta(days=1) / pd.Timedelta(settings.bin_freq)),
        freq=settings.bin_freq,
    )
    windows = room_windows(
        room,
        signals=signals,
        bsteps=max(reach.values()),
        fsteps=0,
        freq=settings.bin_freq,
        timezone=timezone,
        anchors=anchors,
    )
    features = windows.features
    missing = [f for f in model_row.feature_names if f not in features.columns]
    if missing:
        return f"the day lacks the model's features {missing[:3]}"
    if features.empty:
        return "no complete feature window on the day"
    latest = features.iloc[[-1]][list(model_row.feature_names)]
    proba = positive_proba(load_model(model_row.model), latest)[0]
    anchor = latest.index[0]
    step = pd.Timedelta(settings.bin_freq)
    horizons = list(model_row.horizons)
    cuts, beats = held_out_record(model_row.metrics, horizons)
    return pd.DataFrame(
        {
            "room_id": model_row.room_id,
            "anchor_bin_start": anchor,
            "horizon": horizons,
            "bin_start": [anchor + h * step for h in horizons],
            "occupied_probability": proba,
            "threshold": cuts,
            "occupied": proba >= np.asarray(cuts),
            "beats_baselines": beats,
            "model_date": model_row.date,
            "date": day,
        }
    )


def held_out_record(metrics_json: str, horizons: list[int]) -> tuple[list[float], list]:
    """Per horizon, the stored forest's occupied/free cut and whether it won on held-out time.

    From the model row's ``metrics`` JSON: the forest's ``threshold``, and whether its F1
    beat both baselines' (``None`` where F1 is undefined: no occupied test window).
    """
    records = pd.DataFrame(json.loads(metrics_json)).assign(room_id="room")
    forest = records[records["model"] == "random_forest"].set_index("horizon")
    # Rows written before cuts were tuned have no threshold: the untuned cut applies.
    cuts = forest.get("threshold", pd.Series(dtype=float)).reindex(horizons)
    cuts = cuts.fillna(TrainingParams().threshold)
    f1 = comparable_f1(records).droplevel("room_id")
    won = f1["random_forest"] > f1[["persistence", "time_of_week"]].max(axis=1)
    beats = [bool(won[h]) if h in won.index else None for h in horizons]
    return cuts.astype(float).tolist(), beats


SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("anchor_bin_start", pa.timestamp("us", tz="UTC")),
        ("horizon", pa.int64()),
        ("bin_start", pa.timestamp("us", tz="UTC")),
        ("occupied_probability", pa.float64()),
        ("threshold", pa.float64()),
        ("occupied", pa.bool_()),
        ("beats_baselines", pa.bool_()),
        ("model_date", pa.date32()),
        ("date", pa.date32()),
    ]
)
