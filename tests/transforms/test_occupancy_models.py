"""Per-room training: time-ordered split, sparse rooms skipped, skops blobs loaded safely."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from snuk_assets.transforms.models.baselines import PersistenceBaseline, TimeOfWeekProfile
from snuk_assets.transforms.models.blobs import ModelLoadError, load_model
from snuk_assets.transforms.models.metrics import binary_scores
from snuk_assets.transforms.models.training import (
    THRESHOLD_GRID,
    TrainingParams,
    columns_read,
    feature_columns,
    grid_f1,
    positive_proba,
    train_room,
    walk_forward_splits,
)

PARAMS = TrainingParams(n_estimators=10, max_depth=6, min_windows=50)


def synthetic_windows(days: int = 4, room_id: str = "R1") -> pd.DataFrame:
    """Occupied 08:00-16:00 UTC on every day, with the lags and labels that implies."""
    bins = pd.date_range("2016-06-06", periods=days * 288, freq="5min", tz="UTC")
    occupied = ((bins.hour >= 8) & (bins.hour < 16)).astype(float)
    frame = {"room_id": room_id, "bin_start": bins}
    series = pd.Series(occupied, index=bins)
    for lag in range(-2, 1):
        frame[f"occupancy_t{lag:+d}" if lag else "occupancy_t"] = series.shift(-lag).to_numpy()
    frame["time_of_day_sin"] = np.sin(2 * np.pi * (bins.hour * 60 + bins.minute) / 1440)
    for step in range(1, 4):
        frame[f"occupied_t+{step}"] = series.shift(-step).to_numpy()
    return pd.DataFrame(frame).dropna().astype({f"occupied_t+{s}": int for s in range(1, 4)})


def test_a_room_trains_and_its_model_round_trips_through_skops():
    row = train_room(synthetic_windows(), PARAMS).iloc[0]
    assert row["status"] == "trained" and row["horizons"] == [1, 2, 3]
    # The stored model is the newest block's: trained on everything before the last 20 %.
    assert row["train_end"] < row["test_end"] and row["test_start"] < row["train_end"]
    model = load_model(row["model"])
    windows = synthetic_windows()
    proba = positive_proba(model, windows[row["feature_names"]])
    assert proba.shape == (len(windows), 3)
    scores = pd.DataFrame(json.loads(row["metrics"]))
    assert set(scores["model"]) == {"random_forest", "persistence", "time_of_week"}
    assert (scores[scores["model"] == "random_forest"]["f1"] > 0.9).all()


def test_the_forest_sees_the_configured_lags_and_calendar_columns():
    lags = {f"{signal}_t-{k}": [1.0] for signal in ("occupancy", "idle_minutes") for k in (4, 3)}
    windows = pd.DataFrame(
        {
            "room_id": ["R1"],
            **lags,
            **{f"{signal}_t": [1.0] for signal in ("occupancy", "idle_minutes", "temperature")},
            "humidity_t": [np.nan],  # the room has no humidity sensor
            "time_of_day_sin": [0.0],
            "day_of_week": [2.0],
            "occupied_t+1": [1],
        }
    )
    params = TrainingParams(feature_lags=(("occupancy", None), ("idle_minutes", 4)))
    # Signal by signal in feature_lags order, oldest lag first, then the calendar.
    assert feature_columns(windows, params) == [
        *("occupancy_t-4", "occupancy_t-3", "occupancy_t"),
        *("idle_minutes_t-3", "idle_minutes_t", "time_of_day_sin"),
    ]
    # Without params: every lag and calendar column the room has data for.
    assert len(feature_columns(windows)) == 9


def test_the_model_does_not_depend_on_the_tables_column_order():
    # An upgraded Delta table holds a newer column last; a fresh one holds it in place.
    windows = synthetic_windows()
    shuffled = windows[list(reversed(windows.columns))]
    first, second = train_room(windows, PARAMS).iloc[0], train_room(shuffled, PARAMS).iloc[0]
    assert first["feature_names"] == second["feature_names"]
    assert first["metrics"] == second["metrics"]


def test_training_reads_only_its_columns_and_trains_the_same_model_on_them():
    windows = synthetic_windows().assign(
        **{"temperature_t-1": 21.0, "temperature_t": 21.5, "co2_t": 400.0, "day_of_week": 2.0}
    )
    windows["date"] = windows["bin_start"].dt.date
    read = columns_read(list(windows.columns), PARAMS)
    assert read == [
        *("room_id", "bin_start", "occupancy_t-2", "occupancy_t-1", "occupancy_t"),
        *("time_of_day_sin", "occupied_t+1", "occupied_t+2", "occupied_t+3"),
    ]
    # Every lag of a named signal is read, the ones past its count too.
    with_co2 = TrainingParams(feature_lags=(("occupancy", 1), ("co2", 1)))
    assert "occupancy_t-2" in columns_read(list(windows.columns), with_co2)
    assert "co2_t" in columns_read(list(windows.columns), with_co2)
    whole, some = (train_room(w, PARAMS).iloc[0] for w in (windows, windows[read]))
    assert whole.drop("model").to_dict() == some.drop("model").to_dict()
    probas = [
        positive_proba(load_model(r["model"]), windows[r["feature_names"]]) for r in (whole, some)
    ]
    np.testing.assert_array_equal(*probas)


def test_a_sparse_room_is_recorded_with_the_reason():
    row = train_room(synthetic_windows(days=2), PARAMS).iloc[0]
    assert row["status"] == "skipped" and "too sparse" in row["reason"]


def test_a_blob_with_a_type_outside_the_allow_list_is_refused():
    foreign = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(ModelLoadError, match="LogisticRegression"):
        load_model(sio.dumps(foreign))


def test_corrupted_bytes_are_refused():
    blob = train_room(synthetic_windows(), PARAMS).iloc[0]["model"]
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(blob[: len(blob) // 2])
    with pytest.raises(ModelLoadError):
        load_model(b"not a model")


def test_walk_forward_blocks_are_consecutive_and_trained_only_on_the_past():
    windows = synthetic_windows(days=10)
    splits = walk_forward_splits(windows, test_fraction=0.2, blocks=3)
    assert len(splits) == 3
    for train, test in splits:
        assert train["bin_start"].max() < test["bin_start"].min()
        assert len(train) + len(test) <= len(windows)
    tests = pd.concat([test for _, test in splits])
    assert tests["bin_start"].is_monotonic_increasing and tests["bin_start"].is_unique
    span = windows["bin_start"].max() - windows["bin_start"].min()
    assert tests["bin_start"].min() - windows["bin_start"].min() >= span * 0.4
    assert tests["bin_start"].max() == windows["bin_start"].max()
    # Each block's training windows are exactly those before it.
    assert [len(train) for train, _ in splits][1:] == [
        len(train) + len(test) for train, test in splits[:-1]
    ]
    with pytest.raises(ValueError, match="blocks x test_fraction"):
        walk_forward_splits(windows, test_fraction=0.5, blocks=2)


def test_one_block_holds_out_the_last_part():
    windows = synthetic_windows()
    [(train, test)] = walk_forward_splits(windows, test_fraction=0.25, blocks=1)
    assert train["bin_start"].max() < test["bin_start"].min()
    assert abs(len(test) / len(windows) - 0.25) < 0.01


def test_baselines():
    now = pd.DataFrame({"occupancy_t": [0.0, 0.3]})
    persistence = PersistenceBaseline().fit(now, np.zeros((2, 2)))
    assert persistence.predict_proba(now).tolist() == [[0, 0], [1, 1]]
    anchors = pd.date_range("2016-06-06", periods=4, freq="7D", tz="UTC")  # same time of week
    windows = pd.DataFrame({"bin_start": anchors})
    profile = TimeOfWeekProfile(timezone="Europe/Berlin", freq="5min")
    assert profile.fit(windows[:3], np.array([[1], [0], [1]])) is profile
    assert profile.predict_proba(windows[3:]).tolist() == [[pytest.approx(2 / 3)]]
    # the defaults, as documented: Berlin weeks of 5-minute bins
    assert TimeOfWeekProfile().get_params() == {"freq": "5min", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(
    "baseline", [PersistenceBaseline(), TimeOfWeekProfile(timezone="UTC", freq="1h")]
)
def test_baselines_are_scikit_learn_estimators(baseline):
    """Parameters by keyword, cloneable, and unusable before fit (the models' one interface)."""
    assert clone(baseline).get_params() == baseline.get_params()
    with pytest.raises(NotFittedError):
        baseline.predict_proba(pd.DataFrame({"bin_start": [], "occupancy_t": []}))


def test_roc_auc_is_null_when_undefined():
    scores = binary_scores(np.array([0, 0]), np.array([0.2, 0.7]))
    assert scores["roc_auc"] is None and scores["accuracy"] == 0.5 and scores["f1"] == 0.0


def test_the_trained_row_names_its_room_span_versions_and_forest_settings():
    row = train_room(synthetic_windows(room_id="2.14"), PARAMS).iloc[0]
    assert row["room_id"] == "2.14"
    # the newest block trains on every window before it: from the first complete window,
    # 00:10 on the first day (the lags reach two bins back)
    assert row["train_start"] == pd.Timestamp("2016-06-06 00:10", tz="UTC")
    assert set(json.loads(row["library_versions"])) == {"python", "scikit-learn", "skops", "numpy"}
    model = load_model(row["model"])
    assert (model.n_estimators, model.max_depth, model.max_features) == (10, 6, 0.5)
    assert model.min_samples_leaf == PARAMS.min_samples_leaf
    assert len(model.estimators_) == 10


def test_a_room_without_enough_windows_before_the_held_out_time_is_skipped():
    windows = synthetic_windows()  # 1,147 windows on 4 days; each block trains on at most 80 %
    params = TrainingParams(n_estimators=10, max_depth=6, min_windows=1000)
    row = train_room(windows, params).iloc[0]
    assert row["status"] == "skipped"
    assert row["reason"] == "too sparse: fewer than 1000 windows before the held-out time"


def test_positive_proba_of_one_output_and_of_an_output_never_occupied():
    features = pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0]})
    forest = RandomForestClassifier(n_estimators=3, bootstrap=False, random_state=0)
    # pure leaves: the probability of 1 is exactly the label
    single = forest.fit(features, [0, 0, 1, 1])
    np.testing.assert_array_equal(positive_proba(single, features), [[0.0], [0.0], [1.0], [1.0]])
    # the second output never saw a 1: its probability of 1 is 0
    double = clone(forest).fit(features, np.array([[0, 0], [0, 0], [1, 0], [1, 0]]))
    np.testing.assert_array_equal(
        positive_proba(double, features), [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
    )


@pytest.mark.parametrize("occupied_share", [0.02, 0.3, 0.8])
def test_grid_f1_is_sklearns_f1_score_bit_for_bit(occupied_share):
    """The counted F1 of every cut equals sklearn's f1_score per cut exactly, so the tuned
    thresholds (argmax, lowest on ties) are those sklearn's scores pick. Probabilities on a
    0.05 grid sit on the cuts, where ``>=`` decides."""
    rng = np.random.default_rng(11)
    positive = rng.random(3000) < occupied_share
    proba = np.round(rng.random(3000) * 20) / 20
    proba[:50] = 0.0  # every cut predicts these free
    got = grid_f1(positive, proba)
    labels = positive.astype(int)
    expected = [f1_score(labels, proba >= cut, zero_division=0) for cut in THRESHOLD_GRID]
    assert got.tolist() == expected
    assert grid_f1(np.zeros(5, bool), np.full(5, 0.1)).tolist() == [0.0] * len(THRESHOLD_GRID)


@pytest.mark.parametrize("occupied_share", [0.0, 0.02, 0.5, 1.0])
def test_binary_scores_count_accuracy_and_f1_as_sklearn_does(occupied_share):
    """The counted accuracy and F1 equal sklearn's accuracy_score and f1_score exactly, per
    window cuts included, so model_metrics keeps its figures to the last bit."""
    rng = np.random.default_rng(5)
    labels = (rng.random(2001) < occupied_share).astype(int)
    proba = np.round(rng.random(2001) * 20) / 20
    cuts = rng.choice([0.3, 0.4, 0.55], size=2001)
    got = binary_scores(labels, proba, cuts)
    predicted = (proba >= cuts).astype(int)
    assert got["accuracy"] == accuracy_score(labels, predicted)
    assert got["f1"] == f1_score(labels, predicted, zero_division=0)
