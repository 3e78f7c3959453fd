"""Occupancy forecasts: per room, the next bins' occupancy probabilities after each day.

The forecast starts after the latest bin of the day that has a complete feature window, and
uses each room's latest trained model up to that day (at most ``MODEL_MAX_AGE_DAYS`` old).
Rooms are forecast one per group and day through the engine, each group with the room_series
rows of the day and the day before; the models travel with the group function.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from snuk_assets.engines.grouped import TARGET_DATE
from snuk_assets.stages.models import read_models
from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar
from snuk_assets.transforms.models.blobs import ModelLoadError, load_model
from snuk_assets.transforms.models.metrics import comparable_f1
from snuk_assets.transforms.models.training import TrainingParams, positive_proba
from snuk_assets.transforms.windows import model_signals, model_windows

if TYPE_CHECKING:
    from snuk_assets.engines import ComputeEngine, StageResult
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.settings import SnukSettings

# How far back a room's latest model may have been trained.
MODEL_MAX_AGE_DAYS = 7
MODEL_COLUMNS = ["room_id", "date", "status", "model", "feature_names", "horizons", "metrics"]


@dataclass(frozen=True)
class ModelRow:
    """What a forecast needs of one ``occupancy_models`` row."""

    room_id: str
    date: dt.date
    model: bytes
    feature_names: tuple[str, ...]
    horizons: tuple[int, ...]
    metrics: str


def forecast_days(
    engine: ComputeEngine, settings: SnukSettings, days: list[dt.date]
) -> StageResult:
    """Replace ``occupancy_forecasts`` for ``days``, one room and day per group.

    The summary has a row per day and room with a model: ``reason`` (null if forecast) and
    ``free`` (called free for every forecast bin). A room with a model but no room_series rows
    in the two days gets its reason here, on the driver.
    """
    lakehouse = settings.lakehouse()
    models = {(day, row.room_id): row for day in days for row in latest_model_rows(lakehouse, day)}
    registry = settings.registry()
    freq, timezone, holidays = settings.bin_freq, registry.timezone, registry.holiday_calendar()
    result = engine.transform_partitions(
        lakehouse,
        source="room_series",
        source_dates={day: [day - dt.timedelta(days=1), day] for day in days},
        key="room_id",
        fn=partial(
            forecast_room_of_day, models=models, freq=freq, timezone=timezone, holidays=holidays
        ),
        output_schema=SCHEMA,
        summary_schema=SUMMARY_SCHEMA,
        target="occupancy_forecasts",
        target_dates=days,
    )
    seen = set(zip(result.summary["date"], result.summary["room_id"], strict=True))
    unseen = [
        {
            "date": day,
            "room_id": room,
            "reason": forecast_room(
                pd.DataFrame(), model, day=day, freq=freq, timezone=timezone, holidays=holidays
            ),
            "free": False,
        }
        for (day, room), model in sorted(models.items())
        if (day, room) not in seen
    ]
    if unseen:
        summary = pd.concat([result.summary, pd.DataFrame(unseen)], ignore_index=True)
        result = type(result)(result.write, summary)
    return result


def forecast_room_of_day(
    room: pd.DataFrame,
    *,
    models: dict[tuple[dt.date, str], ModelRow],
    freq: str,
    timezone: str,
    holidays: HolidayCalendar = BERLIN,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One room's room_series rows of one day's window (``target_date``) to its forecast rows,
    and a summary row (``SUMMARY_SCHEMA``); a room without a model has neither."""
    day, room_id = room[TARGET_DATE].iloc[0], room["room_id"].iloc[0]
    model = models.get((day, room_id))
    if model is None:
        return SCHEMA.empty_table().to_pandas(), SUMMARY_SCHEMA.empty_table().to_pandas()
    forecast = forecast_room(
        room.drop(columns=[TARGET_DATE]),
        model,
        day=day,
        freq=freq,
        timezone=timezone,
        holidays=holidays,
    )
    if isinstance(forecast, str):
        rows, reason, free = SCHEMA.empty_table().to_pandas(), forecast, False
    else:
        rows, reason, free = forecast, None, not forecast["occupied"].any()
    summary = pd.DataFrame(
        {"date": [day], "room_id": [room_id], "reason": [reason], "free": [free]}
    )
    return rows, summary


def rooms_free_ahead(summary: pd.DataFrame) -> dict[str, list[str]]:
    """Per day, the rooms called free for every forecast bin: where lights and cooling can go."""
    free = summary[summary["free"].astype(bool) & summary["reason"].isna()]
    return {str(day): sorted(rooms["room_id"]) for day, rooms in sorted(free.groupby("date"))}


def rooms_skipped(summary: pd.DataFrame) -> dict[str, str]:
    """Why each skipped room of each day has no forecast, by ``"<day> <room>"``."""
    skipped = summary[summary["reason"].notna()].sort_values(["date", "room_id"])
    return {f"{r.date} {r.room_id}": r.reason for r in skipped.itertuples()}


def latest_models(lakehouse: Lakehouse, day: dt.date) -> pd.DataFrame:
    """Each room's most recently trained model of the days up to ``day`` (``MODEL_COLUMNS``)."""
    span = [day - dt.timedelta(days=n) for n in range(MODEL_MAX_AGE_DAYS)]
    models = read_models(lakehouse, span, columns=MODEL_COLUMNS)
    if models is None:
        return pd.DataFrame(columns=MODEL_COLUMNS)
    models = models[models["status"] == "trained"].sort_values("date")
    return models.drop_duplicates("room_id", keep="last")


def latest_model_rows(lakehouse: Lakehouse, day: dt.date) -> list[ModelRow]:
    """``latest_models`` as ``ModelRow``s, which travel to the workers with the group function."""
    return [
        ModelRow(
            room_id=r.room_id,
            date=r.date,
            model=r.model,
            feature_names=tuple(r.feature_names),
            horizons=tuple(int(h) for h in r.horizons),
            metrics=r.metrics,
        )
        for r in latest_models(lakehouse, day).itertuples()
    ]


def forecast_room(
    room: pd.DataFrame,
    model_row: ModelRow,
    *,
    day: dt.date,
    freq: str,
    timezone: str,
    holidays: HolidayCalendar = BERLIN,
) -> pd.DataFrame | str:
    """The room's forecast rows (``SCHEMA``) for ``day`` from its ``room_series`` rows of the
    day and the day before, or why there is none."""
    # Only the signals the model uses need a complete window, as far back as it looks.
    signals, _ = model_signals(model_row.feature_names)
    # A signal the room's rows lack altogether (a co2 model, a room without CO2 now) is empty.
    empty = [
        column
        for column in signals
        if column not in room.columns or not (len(room) and room[column].notna().any())
    ]
    if empty:
        return f"no {' or '.join(empty)} data on the day"
    anchors = pd.date_range(
        pd.Timestamp(day, tz="UTC"),
        periods=int(pd.Timedelta(days=1) / pd.Timedelta(freq)),
        freq=freq,
    )
    windows = model_windows(
        room,
        model_row.feature_names,
        freq=freq,
        timezone=timezone,
        anchors=anchors,
        holidays=holidays,
    )
    features = windows.features
    missing = [f for f in model_row.feature_names if f not in features.columns]
    if missing:
        return f"the day lacks the model's features {missing[:3]}"
    if features.empty:
        return "no complete feature window on the day"
    latest = features.iloc[[-1]][list(model_row.feature_names)]
    try:
        # A refused blob (foreign type, damaged trees) skips this room only.
        model = load_model(model_row.model)
    except ModelLoadError as error:
        return f"model of {model_row.date} refused: {error}"
    if model.n_features_in_ != latest.shape[1]:
        return (
            f"model of {model_row.date} refused: it takes {model.n_features_in_} inputs, "
            f"its feature_names list {latest.shape[1]}"
        )
    proba = positive_proba(model, latest)[0]
    anchor = latest.index[0]
    step = pd.Timedelta(freq)
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
# Per day and room with a model: why it has no forecast (null if it has), and whether every
# forecast bin was called free.
SUMMARY_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("room_id", pa.string()),
        ("reason", pa.string()),
        ("free", pa.bool_()),
    ]
)
