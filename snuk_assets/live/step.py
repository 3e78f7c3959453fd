"""The live step: (state, new observations, now) -> (state, closed bins, room states, forecasts).

A pure function of its arguments, built from the batch pipeline's own transforms, so that a day
replayed through it with every observation on time gives the batch tables' rows for that day:

- observations: one row per ``(sensor_id, ts)``, the latest arrival's (``latest_arrival_wins``);
- types: the registry's (``BuildingConfig.catalog``), else a gateway id's letter, as
  ``resampled_series`` types them; a sensor with neither has no bins;
- bins: ``resample_observations`` with the settings' ``bin_freq``, ``max_gap`` and ``max_on``,
  over the observations of arrival days ``D - LOOKBACK_DAYS ..`` for measurement day ``D``, as
  ``resampled_series`` reads them;
- rooms: ``transforms.rooms.combine_sensors`` with the registry's types, as ``room_series``
  combines them (a column for every further type: ``co2``, ``people_count``, ...);
- windows and forecasts: ``room_windows`` and each room's stored forest, as
  ``occupancy_forecasts`` does, at every closed bin instead of once a day;
- the occupancy estimate of now: ``transforms.counter_taught.estimate_by_counters``, as
  ``occupancy_estimate`` estimates, with the estimator the batch stage's run of the day before
  trains (``stages.estimate.fitted_for_day``, refitted from the tables when the day's config
  is loaded: the stage persists no estimator, and its fit is deterministic, so the refit is
  that run's estimator without a model table to keep in step). A counter room's estimate is
  its counter's; without a counter room or enough counted bins nothing is trained and the
  estimate is the motion label, as in the batch. Each forecast row carries the estimate of its
  anchor bin (``estimate_now``, its ``estimate_source``) beside the motion label
  (``motion_label_now``), and live control decides on the estimate (``live/control.py``).

A bin ``[t, t + freq)`` closes at the first step whose ``now`` is at least ``t + freq + delay``
(``delay`` defaults to 30 s). Observations that arrive later still go to the landing zone (the
service archives them) and the batch pipeline corrects history; in the live state they count
from the next bin on. What a bin needs after its end: a motion (step) signal nothing, so its
bins, room occupancy, idle minutes and the forecasts (which use only those) are final at close;
a linear (climate) signal its first report after the bin's end, so a climate bin equals the
batch one when the allowed delay covers the sensor's report period (60 s in the simulator),
and otherwise its last seconds are uncovered (``coverage`` below 1) until the batch run.

The state keeps, per sensor, only the observations later bins can depend on: from the last one
before the next open bin (from the start of its run of zeros, for a motion sensor at 0, since
``idle_minutes`` counts from there), and none from arrival days the batch would not read.
Trimming so leaves every later bin exactly as with the whole history (tested). The room bins
kept reach as far back as the forecasts' windows and, with an estimator that uses it, the
estimate's CO2 baseline (its trailing 24 hours): after a start that baseline is the lowest
reading since, so the first day's estimates can differ from the batch's where a room's CO2 was
lower before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from snuk_assets.partitions import LOOKBACK_DAYS
from snuk_assets.registry import BuildingRegistry
from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.stages.forecasts import held_out_record
from snuk_assets.transforms.counter_taught import estimate_by_counters
from snuk_assets.transforms.estimate_features import BASELINE_WINDOW
from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar
from snuk_assets.transforms.models.blobs import load_model
from snuk_assets.transforms.models.training import positive_proba
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator
from snuk_assets.transforms.resample.arrivals import latest_arrival_wins, with_sensor_type
from snuk_assets.transforms.resample.bins import (
    DEFAULT_FREQ,
    DEFAULT_MAX_ON,
    max_gap_with_defaults,
    resample_observations,
)
from snuk_assets.transforms.rooms import combine_sensors as combine_rooms
from snuk_assets.transforms.windows import lagged_signals, model_signals, model_windows

DEFAULT_DELAY = pd.Timedelta(seconds=30)
OBSERVATION_SCHEMA = pa.schema(
    [
        ("sensor_id", pa.string()),
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("value", pa.float64()),
        ("date", pa.date32()),  # arrival day (UTC)
        ("source_file", pa.string()),
    ]
)


@dataclass(frozen=True)
class RoomModel:
    """A room's stored forest, loaded, with what the forecast rows need from its table row."""

    room_id: str
    model_date: dt.date
    model: object
    feature_names: tuple[str, ...]
    horizons: tuple[int, ...]
    thresholds: tuple[float, ...]
    beats_baselines: tuple[bool | None, ...]
    # A model borrowed from another building's room (cold start): whose; None for the room's own.
    model_building_id: str | None = None
    model_room_id: str | None = None

    @classmethod
    def from_row(cls, row) -> RoomModel:
        """From an ``occupancy_models`` row (as ``latest_models`` returns them), or a borrowed
        ``stages.forecasts.ModelRow`` (``borrowed_models``), which names its lender."""
        horizons = [int(h) for h in row.horizons]
        cuts, beats = held_out_record(row.metrics, horizons)
        borrowed = bool(getattr(row, "borrowed", False))
        return cls(
            room_id=str(row.room_id),
            model_date=pd.Timestamp(row.date).date(),
            model=load_model(row.model),
            feature_names=tuple(row.feature_names),
            horizons=tuple(horizons),
            thresholds=tuple(cuts),
            beats_baselines=tuple(beats),
            model_building_id=row.building_id if borrowed else None,
            model_room_id=row.source_room_id if borrowed else None,
        )


@dataclass(frozen=True)
class BuildingConfig:
    """What the step needs to know about one building; it does not change between steps."""

    building_id: str
    timezone: str
    sensor_rooms: Mapping[str, str]  # sensor_id -> room_id
    room_floors: Mapping[str, int]
    freq: str = DEFAULT_FREQ
    delay: pd.Timedelta = DEFAULT_DELAY
    max_gap: Mapping[str, pd.Timedelta] = field(default_factory=dict)
    max_on: pd.Timedelta = DEFAULT_MAX_ON
    models: Mapping[str, RoomModel] = field(default_factory=dict)
    # The building's types and each registered sensor's (default: the built-in types, typed
    # by the gateway id's letter).
    catalog: SensorCatalog = field(default_factory=SensorCatalog)
    # Its public holidays, for the windows' working_day.
    holidays: HolidayCalendar = BERLIN
    # The rooms with a people counter, and the occupancy estimator taught by them (None:
    # nothing trained, the estimate is the motion label; ``estimator_note`` says why or on
    # what it was trained).
    counter_rooms: frozenset[str] = frozenset()
    estimator: OccupancyEstimator | None = None
    estimator_note: str = ""

    @classmethod
    def from_registry(cls, registry: BuildingRegistry, **kwargs) -> BuildingConfig:
        sensors = registry.sensors
        counters = sensors.loc[sensors["sensor_type"] == "people_count", "room_id"]
        return cls(
            building_id=registry.building_id,
            timezone=registry.timezone,
            sensor_rooms=dict(zip(sensors["sensor_id"], sensors["room_id"], strict=True)),
            room_floors={
                str(r): int(f)
                for r, f in zip(registry.rooms["room_id"], registry.rooms["floor"], strict=True)
            },
            catalog=registry.catalog(),
            holidays=registry.holiday_calendar(),
            counter_rooms=frozenset(str(r) for r in counters),
            **kwargs,
        )

    @property
    def room_types(self) -> list[str]:
        """The registered sensors' types, sorted: the columns ``room_series`` carries
        (``stages.rooms.room_types``)."""
        return sorted(set(self.catalog.type_by_id.values()))

    @property
    def history_bins(self) -> int:
        """Room bins kept for the feature windows: as far back as any model looks."""
        reach = [max(lagged_signals(m.feature_names).values()) for m in self.models.values()]
        return max([12, *reach])

    @property
    def kept_bins(self) -> int:
        """Room bins kept between steps: the forecasts' and, with an estimator that uses the
        CO2 baseline, the trailing 24 hours it looks at."""
        if self.estimator is None or "co2_above_min" not in self.estimator.features_:
            return self.history_bins  # the other features look back 3 bins at most
        return max(self.history_bins, int(BASELINE_WINDOW / pd.Timedelta(self.freq)))


@dataclass(frozen=True)
class BuildingState:
    """Between steps: the observations later bins need, the next open bin, recent room bins."""

    observations: pa.Table = field(default_factory=OBSERVATION_SCHEMA.empty_table)
    next_bin: pd.Timestamp | None = None
    rooms: pd.DataFrame | None = None  # room_series rows of the latest kept_bins bins

    def to_json(self) -> str:
        """A compact description (for /health and logs), not a serialization."""
        return json.dumps(
            {
                "observations": self.observations.num_rows,
                "next_bin": None if self.next_bin is None else self.next_bin.isoformat(),
            }
        )


@dataclass(frozen=True)
class StepResult:
    state: BuildingState
    closed_bins: pd.DataFrame  # resampled_series rows of the bins closed by this step
    room_states: pd.DataFrame  # room_series rows of those bins
    forecasts: pd.DataFrame  # per room and closed bin: FORECAST_COLUMNS
    # per room and closed bin: room_id, bin_start, estimate, motion_label, source, inputs
    # (``transforms.counter_taught.Taught.estimates``)
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)


FORECAST_COLUMNS = [
    "building_id",
    "room_id",
    "anchor_bin_start",
    "horizon",
    "bin_start",
    "occupied_probability",
    "threshold",
    "occupied",
    "beats_baselines",
    "model_date",
    # whose model served the room, as in occupancy_forecasts: its own building and room, or
    # the lender's (cold start)
    "model_building_id",
    "model_room_id",
    # the anchor bin's occupancy estimate (0..1), where it came from (``counter``,
    # ``estimator``, ``motion label``, ``no input``) and its motion label (0 or 1), for
    # comparison; NaN where the bin has none
    "estimate_now",
    "estimate_source",
    "motion_label_now",
    "date",
]


def live_step(
    state: BuildingState,
    observations: pa.Table | None,
    now: pd.Timestamp,
    config: BuildingConfig,
) -> StepResult:
    """Add ``observations`` and close every bin that ends by ``now - delay``.

    Parameters
    ----------
    state : BuildingState
        The previous step's state (``BuildingState()`` to start: the first bin is the one
        holding the earliest observation).
    observations : pyarrow.Table, optional
        Validated observations (``sensor_id``, ``ts``, ``value``, ``date`` = arrival day,
        ``source_file``), any order, repeats allowed (the latest arrival wins).
    now : pandas.Timestamp
        The current time (UTC); the step reads no clock.
    config : BuildingConfig

    Returns
    -------
    StepResult
        The new state and the rows of the closed bins: ``closed_bins`` as ``resampled_series``,
        ``room_states`` as ``room_series`` (both with ``date``, the bin's UTC day),
        ``estimates`` (the occupancy estimate per room and closed bin) and ``forecasts``
        (``FORECAST_COLUMNS``) for each closed bin that has a complete window.
    """
    buffer = state.observations
    if observations is not None and observations.num_rows:
        buffer = pa.concat_tables(
            [buffer, observations.select(OBSERVATION_SCHEMA.names).cast(OBSERVATION_SCHEMA)]
        )
    now = _utc(now)
    freq = pd.Timedelta(config.freq)
    next_bin = state.next_bin
    if next_bin is None:
        if not buffer.num_rows:
            return _nothing(dataclasses.replace(state, observations=buffer))
        next_bin = pd.Timestamp(pc.min(buffer["ts"]).as_py()).floor(freq)
    close_until = (now - config.delay).floor(freq)
    if close_until <= next_bin:
        return _nothing(dataclasses.replace(state, observations=buffer, next_bin=next_bin))

    bins = []
    for start, end in _day_spans(next_bin, close_until):
        bins.append(_resample(buffer, start, end, config))
    closed = pd.concat(bins, ignore_index=True)
    rooms_now = combine_rooms(closed, sensor_types=config.room_types)
    rooms_now["date"] = rooms_now["bin_start"].dt.date
    history = rooms_now if state.rooms is None else pd.concat([state.rooms, rooms_now])
    estimates = _estimates(history, closed, next_bin, config)
    # the forecasts see the bins they saw before the estimate kept more
    windows_from = next_bin - (config.history_bins + 1) * freq
    forecasts = _forecasts(
        history[history["bin_start"] >= windows_from], rooms_now["bin_start"].unique(), config
    )
    keep_from = close_until - (config.kept_bins + 1) * freq
    history = history[history["bin_start"] >= keep_from].reset_index(drop=True)
    trimmed = _trim(buffer, close_until, config)
    return StepResult(
        state=BuildingState(observations=trimmed, next_bin=close_until, rooms=history),
        closed_bins=closed,
        room_states=rooms_now,
        forecasts=_with_estimates(forecasts, estimates),
        estimates=estimates,
    )


def _utc(when) -> pd.Timestamp:
    when = pd.Timestamp(when)
    return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")


def _nothing(state: BuildingState) -> StepResult:
    empty = pd.DataFrame()
    return StepResult(state, empty, empty, pd.DataFrame(columns=FORECAST_COLUMNS))


def _day_spans(start: pd.Timestamp, end: pd.Timestamp) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """``[start, end)`` cut at UTC midnights: each measurement day reads its own arrival days."""
    spans = []
    while start < end:
        midnight = start.normalize() + pd.Timedelta(days=1)
        spans.append((start, min(end, midnight)))
        start = min(end, midnight)
    return spans


def _readable(buffer: pa.Table, day: dt.date) -> pa.Table:
    """The rows measurement ``day`` reads in the batch: arrival days from ``day - LOOKBACK``."""
    first = pa.scalar(day - dt.timedelta(days=LOOKBACK_DAYS), pa.date32())
    return buffer.filter(pc.greater_equal(buffer["date"], first))


def _resample(
    buffer: pa.Table, start: pd.Timestamp, end: pd.Timestamp, config: BuildingConfig
) -> pd.DataFrame:
    """``resampled_series`` rows of ``[start, end)``, as ``resample_sensor`` makes them."""
    observations, _ = latest_arrival_wins(_readable(buffer, start.date()))
    series = resample_observations(
        _typed(observations.select(["sensor_id", "ts", "value"]), config.catalog),
        start=start,
        end=end,
        freq=config.freq,
        max_gap=config.max_gap,
        max_on=config.max_on,
        sensor_types=config.catalog.types,
    )
    series["room_id"] = series["sensor_id"].map(config.sensor_rooms)
    series["date"] = series["bin_start"].dt.date
    return series


def _typed(observations: pa.Table, catalog: SensorCatalog) -> pa.Table:
    """``observations`` with ``sensor_type`` from ``catalog``; rows without a type left out
    (the batch gives such a sensor no bins: ``resample_sensor``)."""
    typed = with_sensor_type(observations, catalog)
    return typed.filter(typed["sensor_type"].is_valid())


def _trim(buffer: pa.Table, next_bin: pd.Timestamp, config: BuildingConfig) -> pa.Table:
    """The rows bins from ``next_bin`` on can depend on (see the module docstring)."""
    table, _ = latest_arrival_wins(_readable(buffer, next_bin.date()))
    table = _typed(table, config.catalog)
    n = table.num_rows
    if n == 0:
        return OBSERVATION_SCHEMA.empty_table()
    ts = table["ts"].cast(pa.int64()).to_numpy() * 1_000_000  # ms -> ns
    value = table["value"].to_numpy()
    sensor = table["sensor_id"].to_numpy(zero_copy_only=False)
    first_of_sensor = np.ones(n, dtype=bool)
    first_of_sensor[1:] = sensor[1:] != sensor[:-1]
    types = table["sensor_type"].to_pylist()
    known = config.catalog.types
    is_step = np.array([known[t].signal_model == "step" for t in types], dtype=bool)
    gaps = max_gap_with_defaults(config.max_gap, known)
    max_gap_ns = np.array([gaps[t].value for t in types], dtype=np.int64)
    # A run of zeros starts as in idle_at_bin_ends: at a 0 after a nonzero value, at a
    # sensor's first row, or after a gap longer than max_gap.
    gap_before = np.zeros(n, dtype=np.int64)
    gap_before[1:] = np.diff(ts)
    prev_value = np.concatenate([[np.nan], value[:-1]])
    run_start = (value == 0) & (first_of_sensor | (prev_value != 0) | (gap_before > max_gap_ns))
    head = np.maximum.accumulate(np.where(run_start | first_of_sensor, np.arange(n), 0))
    before = ts < next_bin.value
    # Per row: the first row to keep if this row is its sensor's last one before next_bin.
    keep_from = np.where(is_step & (value == 0), head, np.arange(n))
    last_before = before & np.append(~before[1:] | first_of_sensor[1:], True)
    sensor_start = np.maximum.accumulate(np.where(first_of_sensor, np.arange(n), 0))
    cut = np.full(n, -1, dtype=np.int64)  # at each sensor's first row: where to keep from
    cut[sensor_start[last_before]] = keep_from[last_before]
    cut = cut[sensor_start]  # every row of the sensor; -1: no row before next_bin, keep all
    keep = np.arange(n) >= cut
    return table.filter(pa.array(keep)).drop_columns("sensor_type").cast(OBSERVATION_SCHEMA)


def _estimates(
    history: pd.DataFrame, closed: pd.DataFrame, first_bin: pd.Timestamp, config: BuildingConfig
) -> pd.DataFrame:
    """The occupancy estimate of each room's bins from ``first_bin``, as ``occupancy_estimate``
    makes it (a counter room's motion sensors read from the closed bins, as the stage reads
    them from ``resampled_series``)."""
    motion = closed[
        (closed["sensor_type"] == "motion")
        & closed["room_id"].isin(config.counter_rooms)
        & (closed["bin_start"] >= first_bin)
    ]
    columns = ["room_id", "bin_start", "occupancy", "idle_minutes"]
    counter_motion = (
        combine_rooms(motion)[columns] if len(motion) else pd.DataFrame(columns=columns)
    )
    # The boosted trees predict a handful of rows: OpenMP's threads cost 40 times the work on
    # a busy machine (0.9 s against 0.02 s a step for three rooms, measured), so one thread.
    with threadpool_limits(limits=1, user_api="openmp"):
        return estimate_by_counters(
            history.drop(columns=["date"], errors="ignore"),
            counter_motion=counter_motion,
            counter_rooms=config.counter_rooms,
            estimator=config.estimator,
            estimate_from=first_bin,
            freq=config.freq,
        )


def _with_estimates(forecasts: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """``forecasts`` with the estimate of each row's anchor bin (``FORECAST_COLUMNS``)."""
    if not len(forecasts):
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    now = estimates.rename(
        columns={
            "bin_start": "anchor_bin_start",
            "estimate": "estimate_now",
            "source": "estimate_source",
            "motion_label": "motion_label_now",
        }
    )
    keys = ["room_id", "anchor_bin_start"]
    out = forecasts.drop(columns=["estimate_now", "estimate_source", "motion_label_now"])
    out = out.merge(
        now[[*keys, "estimate_now", "estimate_source", "motion_label_now"]], on=keys, how="left"
    )
    return out[FORECAST_COLUMNS]


def _forecasts(history: pd.DataFrame, anchors: np.ndarray, config: BuildingConfig) -> pd.DataFrame:
    """Per room with a model, its forecast at each of ``anchors`` that has a complete window."""
    frames = []
    step = pd.Timedelta(config.freq)
    anchors = pd.DatetimeIndex(anchors)
    for room_id, room in history.groupby("room_id", sort=True):
        model = config.models.get(room_id)
        if model is None:
            continue
        signals, _ = model_signals(model.feature_names)
        if not signals or not all(c in room and room[c].notna().any() for c in signals):
            continue
        windows = model_windows(
            room,
            model.feature_names,
            freq=config.freq,
            timezone=config.timezone,
            anchors=anchors,
            holidays=config.holidays,
        )
        features = windows.features
        if features.empty or any(f not in features.columns for f in model.feature_names):
            continue
        proba = positive_proba(model.model, features[list(model.feature_names)])
        horizons = np.array(model.horizons)
        n = len(features)
        anchor = pd.DatetimeIndex(features.index).repeat(len(horizons))
        cuts = np.tile(model.thresholds, n)
        frames.append(
            pd.DataFrame(
                {
                    "building_id": config.building_id,
                    "room_id": room_id,
                    "anchor_bin_start": anchor,
                    "horizon": np.tile(horizons, n),
                    "bin_start": anchor + pd.to_timedelta(np.tile(horizons, n) * step),
                    "occupied_probability": proba.ravel(),
                    "threshold": cuts,
                    "occupied": proba.ravel() >= cuts,
                    "beats_baselines": np.tile(np.array(model.beats_baselines, dtype=object), n),
                    "model_date": model.model_date,
                    "model_building_id": model.model_building_id or config.building_id,
                    "model_room_id": model.model_room_id or room_id,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["date"] = out["anchor_bin_start"].dt.date
    return out.reindex(columns=FORECAST_COLUMNS)  # the estimate's columns: _with_estimates


def load_models(lakehouse, day: dt.date) -> dict[str, RoomModel]:
    """Each room's latest trained model up to ``day``, as ``occupancy_forecasts`` picks it."""
    from snuk_assets.stages.forecasts import latest_models

    return {
        str(row.room_id): RoomModel.from_row(row)
        for row in latest_models(lakehouse, day).itertuples()
    }


def served_models(settings, day: dt.date) -> dict[str, RoomModel]:
    """The models the batch forecasts serve on ``day``: each room's own (``load_models``) and,
    in a portfolio, for a room without one, the model ``occupancy_forecasts`` borrows from
    another building (``stages.forecasts.borrowed_models``: the same choice)."""
    from snuk_assets.stages.forecasts import borrowed_models

    models = load_models(settings.lakehouse(), day)
    for row in borrowed_models(settings, day, own=set(models)):
        models[str(row.room_id)] = RoomModel.from_row(row)
    return models


def building_config(settings, day: dt.date, **kwargs) -> BuildingConfig:
    """The registry's building with the settings' bins, the models in force on ``day``
    (``served_models``) and the occupancy estimator of the batch run of the day before
    (``load_estimator``)."""
    estimator, note = load_estimator(settings, day)
    return BuildingConfig.from_registry(
        settings.registry(),
        freq=settings.bin_freq,
        max_gap=settings.max_gap_by_type,
        max_on=pd.Timedelta(settings.max_on),
        models=served_models(settings, day),
        estimator=estimator,
        estimator_note=note,
        **kwargs,
    )


def load_estimator(settings, day: dt.date) -> tuple[OccupancyEstimator | None, str]:
    """The estimator ``occupancy_estimate``'s run of ``day - 1`` trains, and a note: the
    counter rooms and bins it was trained on, or why nothing was (the estimate is then the
    motion label). Day ``day`` itself is not trained on: its bins are still coming."""
    from snuk_assets.stages.estimate import fitted_for_day

    before = day - dt.timedelta(days=1)
    taught = fitted_for_day(settings, before)
    if taught.estimator is None:
        return None, f"none (motion label): {taught.reason} (the run of {before})"
    return taught.estimator, (
        f"trained on {taught.training_bins} bins of counter rooms {', '.join(taught.trained_on)} "
        f"(the run of {before})"
    )
