"""Occupancy forecasts: per room, the next bins' occupancy probabilities after each day.

The forecast starts after the latest bin of the day that has a complete feature window, and
uses each room's latest trained model up to that day (at most ``MODEL_MAX_AGE_DAYS`` old).
Rooms are forecast one per group and day through the engine, each group with the room_series
rows of the day and the day before; the models travel with the group function.

**Cold start** (issue 22): in a portfolio, a room without a model of its own (a new building,
with less history than training needs) is forecast with a model borrowed from a room of the
same kind in another building (``borrowed_models``): among the other buildings' latest trained
models, the one whose forest scored the best mean held-out F1 over its horizons, preferring a
room with the same sensor types (its features exist here too). The rows say whose model served
them (``model_building_id``, ``model_room_id``). As soon as the room has its own trained model,
that serves: whether the own model beats the borrowed one on the room's own validation time is
the model selection of the models issue (16), not built yet.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from snuk_assets.engines.grouped import TARGET_DATE
from snuk_assets.stages.models import read_models
from snuk_assets.tables import BUILDING_COLUMN
from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar
from snuk_assets.transforms.models.metrics import comparable_f1
from snuk_assets.transforms.models.params import TrainingParams
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
    # Whose model it is: the room's own (its building and room id), or a borrowed one's.
    building_id: str = ""
    source_room_id: str = ""
    borrowed: bool = False  # another building's room's model (cold start)

    @property
    def borrowed_from(self) -> str | None:
        """``<building>/<room>`` of a borrowed model, None for the room's own."""
        return f"{self.building_id}/{self.source_room_id}" if self.borrowed else None


def forecast_days(
    engine: ComputeEngine, settings: SnukSettings, days: list[dt.date]
) -> StageResult:
    """Replace ``occupancy_forecasts`` for ``days``, one room and day per group.

    The summary has a row per day and room with a model: ``reason`` (null if forecast) and
    ``free`` (called free for every forecast bin). A room with a model but no room_series rows
    in the two days gets its reason here, on the driver.
    """
    lakehouse = settings.lakehouse()
    building = settings.deployment_building_id()
    models = {}
    for day in days:
        own = latest_model_rows(lakehouse, day, building_id=building)
        borrowed = borrowed_models(settings, day, own={row.room_id for row in own})
        models.update({(day, row.room_id): row for row in [*own, *borrowed]})
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
            "borrowed_from": model.borrowed_from,
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
        {
            "date": [day],
            "room_id": [room_id],
            "reason": [reason],
            "free": [free],
            "borrowed_from": [model.borrowed_from],
        }
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


def latest_model_rows(
    lakehouse: Lakehouse, day: dt.date, *, building_id: str = ""
) -> list[ModelRow]:
    """``latest_models`` as ``ModelRow``s, which travel to the workers with the group function."""
    return [
        ModelRow(
            room_id=r.room_id,
            date=r.date,
            model=r.model,
            feature_names=tuple(r.feature_names),
            horizons=tuple(int(h) for h in r.horizons),
            metrics=r.metrics,
            building_id=building_id,
            source_room_id=r.room_id,
        )
        for r in latest_models(lakehouse, day).itertuples()
    ]


def borrowed_models(settings: SnukSettings, day: dt.date, *, own: set[str]) -> list[ModelRow]:
    """For each room of the settings' building without a trained model of its own up to
    ``day`` (``own``: the rooms that have one), the best same-kind model of another building
    (see the module docstring); none outside a portfolio. Only the chosen models' blobs are
    read."""
    if not settings.registries_path:
        return []
    building = settings.deployment_building_id()
    registry = settings.registry()
    needy = {
        room: _room_signature(registry.sensors, room, kind)
        for room, kind in registry.room_kinds().items()
        if room not in own
    }
    if not needy:
        return []
    from snuk_assets.lakehouse import Lakehouse  # the driver's; workers import stages plain

    lakehouse = Lakehouse(settings.lakehouse_uri)  # every building's rows
    if not lakehouse.exists("occupancy_models") or not lakehouse.exists("sensors"):
        return []
    lenders = [
        lender
        for lender in _lenders(
            settings.lakehouse_uri,
            lakehouse.table("occupancy_models").version(),
            lakehouse.table("sensors").version(),
            day,
        )
        if lender.building_id != building
    ]
    chosen: dict[str, Lender] = {}
    for room, (kind, types) in sorted(needy.items()):
        same_kind = [lender for lender in lenders if lender.kind == kind]
        if same_kind:
            # Same sensor types first, then the best held-out score; ties by building and room.
            chosen[room] = max(
                same_kind, key=lambda c: (c.types == types, c.score, c.building_id, c.room_id)
            )
    rows = []
    for other in sorted({lender.building_id for lender in chosen.values()}):
        donors = {
            r.source_room_id: r
            for r in latest_model_rows(lakehouse.scoped(other), day, building_id=other)
        }
        rows += [
            replace(donors[lender.room_id], room_id=room, borrowed=True)
            for room, lender in sorted(chosen.items())
            if lender.building_id == other and lender.room_id in donors
        ]
    return rows


@dataclass(frozen=True)
class Lender:
    """A trained model another building's room may lend: its room's kind, sensor types and
    held-out score."""

    building_id: str
    room_id: str
    kind: str
    types: frozenset[str]
    score: float


@lru_cache(maxsize=4)
def _lenders(uri: str, models_version: int, sensors_version: int, day: dt.date) -> list[Lender]:
    """Every building's latest trained model up to ``day`` as a ``Lender``: one read of the
    tables per version, so a run of many buildings reads them once, not once a building."""
    from snuk_assets.lakehouse import Lakehouse

    lakehouse = Lakehouse(uri)
    span = [day - dt.timedelta(days=n) for n in range(MODEL_MAX_AGE_DAYS)]
    columns = [BUILDING_COLUMN, "room_id", "date", "status", "metrics"]
    models = lakehouse.read("occupancy_models", dates=span, columns=columns).to_pandas()
    models = models[models["status"] == "trained"].sort_values("date")
    models = models.drop_duplicates([BUILDING_COLUMN, "room_id"], keep="last")
    sensors = lakehouse.read("sensors").to_pandas()
    lenders = []
    for building, rooms in sensors.groupby(BUILDING_COLUMN):
        kinds = dict(zip(rooms["room_id"], rooms["room_kind"], strict=False))
        for r in models[models[BUILDING_COLUMN] == building].itertuples():
            if r.room_id in kinds:
                _, types = _room_signature(rooms, r.room_id, kinds[r.room_id])
                lenders.append(
                    Lender(building, r.room_id, kinds[r.room_id], types, forest_score(r.metrics))
                )
    return lenders


def forest_score(metrics_json: str) -> float:
    """The forest's mean held-out F1 over its comparable horizons (-1 without any)."""
    records = pd.DataFrame(json.loads(metrics_json)).assign(room_id="room")
    f1 = comparable_f1(records)
    if "random_forest" not in f1 or f1["random_forest"].isna().all():
        return -1.0
    return float(f1["random_forest"].mean())


def _room_signature(sensors: pd.DataFrame, room_id: str, kind: str) -> tuple[str, frozenset[str]]:
    """A room's kind and the types of its sensors: what a borrowed model must match."""
    return kind, frozenset(sensors.loc[sensors["room_id"] == room_id, "sensor_type"])


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
    # Here, not with the module: the definitions import it, and load without skops (issue 19).
    from snuk_assets.transforms.models.blobs import ModelLoadError, load_model
    from snuk_assets.transforms.models.training import positive_proba

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
            "model_building_id": model_row.building_id or None,
            "model_room_id": model_row.source_room_id or model_row.room_id,
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
        # Whose model served the row: the room's own, or one borrowed (cold start).
        ("model_building_id", pa.string()),
        ("model_room_id", pa.string()),
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
        ("borrowed_from", pa.string()),  # <building>/<room> of a borrowed model, else null
    ]
)


def rooms_borrowing(summary: pd.DataFrame) -> dict[str, str]:
    """The forecast rooms whose model was borrowed, by ``"<day> <room>"``: whose it was."""
    borrowed = summary[summary["borrowed_from"].notna() & summary["reason"].isna()]
    borrowed = borrowed.sort_values(["date", "room_id"])
    return {f"{r.date} {r.room_id}": r.borrowed_from for r in borrowed.itertuples()}
