"""Score detection and forecasts on a public dataset with the pipeline's own transforms.

Observations go through resample -> room_series -> windows exactly as in the lakehouse; then a
detection forest (the current bin's occupancy from the other sensors) and the multi-horizon
forecast forest are trained on the training span and scored on the test span, beside the
persistence and time-of-week baselines.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from sklearn.ensemble import RandomForestClassifier

from snuk_assets.transforms.models.baselines import PersistenceBaseline, TimeOfWeekProfile
from snuk_assets.transforms.models.metrics import binary_scores, horizon_scores
from snuk_assets.transforms.models.training import TrainingParams, feature_columns, positive_proba
from snuk_assets.transforms.resample.arrivals import with_sensor_type
from snuk_assets.transforms.resample.bins import resample_observations
from snuk_assets.transforms.rooms import WINDOWED_COLUMNS, combine_sensors
from snuk_assets.transforms.windows import room_windows


@dataclass(frozen=True)
class EvalParams:
    freq: str = "1min"
    bsteps: int = 12
    fsteps: int = 12
    n_estimators: int = 100
    max_depth: int = 12
    seed: int = 0


def windows_of(observations: pd.DataFrame, *, timezone: str, params: EvalParams) -> pd.DataFrame:
    """Observations -> resampled bins -> room series -> windows (features and labels)."""
    start = observations["ts"].min().floor(params.freq)
    end = observations["ts"].max().floor(params.freq) + pd.Timedelta(params.freq)
    series = resample_observations(
        with_sensor_type(pa.Table.from_pandas(observations, preserve_index=False)),
        start=start,
        end=end,
        freq=params.freq,
    )
    series["room_id"] = "room"
    rooms = combine_sensors(series)
    windows = room_windows(
        rooms,
        signals=list(WINDOWED_COLUMNS),
        bsteps=params.bsteps,
        fsteps=params.fsteps,
        freq=params.freq,
        timezone=timezone,
    )
    frame = pd.concat([windows.features, windows.targets], axis=1)
    return frame.rename_axis("bin_start").reset_index().assign(room_id="room")


def _forest(params: EvalParams) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        min_samples_leaf=10,
        random_state=params.seed,
        n_jobs=-1,
    )


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    timezone: str,
    params: EvalParams,
    detection_sets: dict[str, list[str]],
) -> pd.DataFrame:
    """Scores per model and horizon (0 = detection): accuracy, F1, ROC AUC, Brier, test size."""
    train, test = with_trends(train, params.bsteps), with_trends(test, params.bsteps)
    records = []
    occupied_now_train = (train["occupancy_t"] > 0).astype(int)
    occupied_now_test = (test["occupancy_t"] > 0).astype(int).to_numpy()
    for name, columns in detection_sets.items():
        detector = _forest(params).fit(train[columns], occupied_now_train)
        proba = positive_proba(detector, test[columns])[:, 0]
        records.append(
            {
                "model": f"detection_rf[{name}]",
                "horizon": 0,
                "test_size": len(test),
                **binary_scores(occupied_now_test, proba),
            }
        )
    labels = [f"occupied_t+{h}" for h in range(1, params.fsteps + 1)]
    features = feature_columns(train, TrainingParams())
    forest = _forest(params).fit(train[features], train[labels].to_numpy())
    truth = test[labels].to_numpy()
    profile = TimeOfWeekProfile(timezone=timezone, freq=params.freq).fit(
        train, train[labels].to_numpy()
    )
    persistence = PersistenceBaseline().fit(train, train[labels].to_numpy())
    records += horizon_scores("random_forest", truth, positive_proba(forest, test[features]))
    records += horizon_scores("persistence", truth, persistence.predict_proba(test))
    records += horizon_scores("time_of_week", truth, profile.predict_proba(test))
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
