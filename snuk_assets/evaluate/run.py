"""Score detection and forecasts on a public dataset with the pipeline's own stage code.

Observations go through the stages' group functions exactly as the assets run them, one group
at a time through the engine: ``resample_sensor`` per sensor, ``combine_room`` and
``room_day_windows`` per room. On the training span, the forecast forest and the baselines are
trained and scored by ``score_block`` (the assets' training, ``TrainingParams``); a detection
forest (the current bin's occupancy from the other sensors) uses the same forest. The splits
are the evaluation's own: the dataset's test file, or the last part of the time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from snuk_assets.engines import LocalEngine
from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.stages import resample, rooms, windows
from snuk_assets.transforms.holidays import HolidayCalendar
from snuk_assets.transforms.models.metrics import binary_scores
from snuk_assets.transforms.models.training import (
    TrainingParams,
    feature_columns,
    labels_of,
    make_forest,
    pooled_scores,
    positive_proba,
    score_block,
)
from snuk_assets.transforms.resample.bins import DEFAULT_MAX_ON
from snuk_assets.transforms.rooms import windowed_columns

ROOM = "room"  # each dataset is one room (room-climate: one per location, scored apart)


@dataclass(frozen=True)
class EvalParams:
    """The bins and windows of an evaluation, and the training settings of its forests
    (``TrainingParams``, the assets'; its ``timezone`` and ``freq`` are the dataset's)."""

    freq: str = "1min"
    bsteps: int = 12
    fsteps: int = 12
    training: TrainingParams = field(default_factory=TrainingParams)


def windows_of(
    observations: pd.DataFrame, *, timezone: str, holidays: HolidayCalendar, params: EvalParams
) -> pd.DataFrame:
    """Observations (``sensor_id``, ``ts``, ``value``) -> bins -> room series -> windows.

    Each stage's group function runs as in its asset; every observation arrives on time.
    ``timezone`` and ``holidays`` are where the dataset was recorded (``datasets``).
    """
    start = observations["ts"].min().floor(params.freq)
    end = observations["ts"].max().floor(params.freq) + pd.Timedelta(params.freq)
    room_series, types = room_series_of(observations, freq=params.freq)
    return per_group(
        room_series,
        key="room_id",
        fn=partial(
            windows.room_day_windows,
            signals={ROOM: windowed_columns(set(types))},
            bsteps=params.bsteps,
            fsteps=params.fsteps,
            freq=params.freq,
            timezone=timezone,
            holidays=holidays,
            anchors=pd.date_range(start, end, freq=params.freq, inclusive="left"),
        ),
        schema=windows.window_schema(params.bsteps, params.fsteps),
    )


def room_series_of(
    observations: pd.DataFrame, *, freq: str, catalog: SensorCatalog | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Observations (``sensor_id``, ``ts``, ``value``) of one room -> sensor bins -> room bins.

    Each stage's group function runs as in its asset, every observation on time. ``catalog``
    types sensors beyond the gateway-shaped ids. Returns the ``room_schema`` rows and the
    sensor types seen.
    """
    start = observations["ts"].min().floor(freq)
    end = observations["ts"].max().floor(freq) + pd.Timedelta(freq)
    raw = observations.assign(date=observations["ts"].dt.date, source_file="evaluate")
    series = per_group(
        raw,
        key="sensor_id",
        fn=partial(
            resample.resample_sensor,
            start=start,
            end=end,
            freq=freq,
            max_gap={},
            max_on=DEFAULT_MAX_ON,
            rooms={sensor: ROOM for sensor in raw["sensor_id"].unique()},
            picture_freq=freq,
            catalog=catalog or SensorCatalog(),
        ),
        schema=resample.SCHEMA,
    )
    types = sorted(set(series["sensor_type"]))
    room_series = per_group(
        series[rooms.SERIES_COLUMNS],
        key="room_id",
        fn=partial(rooms.combine_room, picture_freq=freq, sensor_types=types),
        schema=rooms.room_schema(types),
    )
    return room_series, types


def per_group(frame: pd.DataFrame, *, key: str, fn, schema) -> pd.DataFrame:
    """``fn``'s rows of each ``key`` group of ``frame`` (not its summary), through the engine."""
    return LocalEngine().apply_per_group(
        frame, key=key, fn=partial(_rows, fn), output_schema=schema
    )


def _rows(fn, group: pd.DataFrame) -> pd.DataFrame:
    rows, _summary = fn(group)
    return rows


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    timezone: str,
    params: EvalParams,
    detection_sets: dict[str, list[str]],
) -> pd.DataFrame:
    """Scores per model and horizon (0 = detection): accuracy, F1, ROC AUC, Brier, test size."""
    training = dataclasses.replace(params.training, timezone=timezone, freq=params.freq)
    train, test = with_trends(train, params.bsteps), with_trends(test, params.bsteps)
    records = []
    occupied_now_train = (train["occupancy_t"] > 0).astype(int)
    occupied_now_test = (test["occupancy_t"] > 0).astype(int).to_numpy()
    for name, columns in detection_sets.items():
        detector = make_forest(training).fit(train[columns], occupied_now_train)
        proba = positive_proba(detector, test[columns])[:, 0]
        records.append(
            {
                "model": f"detection_rf[{name}]",
                "horizon": 0,
                "test_size": len(test),
                **binary_scores(occupied_now_test, proba),
            }
        )
    block = score_block(
        train,
        test,
        features=feature_columns(train, training),
        labels=labels_of(train),
        params=training,
    )
    records += pooled_scores([block])
    return pd.DataFrame(records)


def with_trends(windows: pd.DataFrame, bsteps: int) -> pd.DataFrame:
    """Add ``<signal>_change_<k>``: the change over the last k bins, for the climate signals.

    Occupants warm and humidify a room; the change is robust to the level drifting between
    training and test weeks, which the level itself is not.
    """
    changes = pd.DataFrame(
        {
            f"{signal}_change_{k}": windows[f"{signal}_t"] - windows[f"{signal}_t-{k}"]
            for signal in ("temperature", "humidity", "luminosity")
            for k in range(1, bsteps)
        },
        index=windows.index,
    )
    # One concat, not one insert per column: assign() on this many columns fragments the frame.
    return pd.concat([windows, changes], axis=1)


def print_scores(title: str, scores: pd.DataFrame, *, train_size: int, dropped: str = "") -> None:
    """Accuracy and F1 per horizon, the models side by side."""
    print(
        f"\n{title}  (training windows: {train_size}, test windows: "
        f"{int(scores['test_size'].max())}{dropped})"
    )
    detection = scores[scores["horizon"] == 0]
    for row in detection.itertuples():
        print(
            f"  horizon 0 (detection) {row.model:38s} accuracy {row.accuracy:.2%}  F1 {row.f1:.3f}"
        )
    forecast = scores[scores["horizon"] > 0]
    table = forecast.pivot_table(index="horizon", columns="model", values=["accuracy", "f1"])
    models = ["random_forest", "persistence", "time_of_week"]
    print("  horizon  " + "  ".join(f"{m + ' acc/F1':>28s}" for m in models))
    for horizon, row in table.iterrows():
        cells = [f"{row[('accuracy', m)]:>19.2%} / {row[('f1', m)]:.3f}" for m in models]
        print(f"  {horizon:>7d}  " + "  ".join(cells))
    print(f"  RF F1 beats both baselines at {wins(forecast)} of {len(table)} horizons")


def wins(forecast: pd.DataFrame) -> int:
    f1 = forecast.pivot_table(index="horizon", columns="model", values="f1")
    return int(
        (
            (f1["random_forest"] > f1["persistence"]) & (f1["random_forest"] > f1["time_of_week"])
        ).sum()
    )


def time_ordered_split(windows: pd.DataFrame, test_fraction: float):
    cut = windows["bin_start"].quantile(1 - test_fraction)
    return windows[windows["bin_start"] < cut], windows[windows["bin_start"] >= cut]
