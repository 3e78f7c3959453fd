"""The occupancy estimate as a pure transform: its inputs, and what fusing them buys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from snuk_assets.transforms.estimate_features import FEATURES, estimate_features
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator

T0 = pd.Timestamp("2016-06-06 00:00", tz="UTC")


def test_changes_come_only_from_the_bin_right_before():
    rooms = pd.DataFrame(
        {
            "room_id": ["a", "a", "a", "b"],
            "bin_start": [T0, T0 + pd.Timedelta("5min"), T0 + pd.Timedelta("15min"), T0],
            "co2": [420.0, 450.0, 500.0, 600.0],
            "occupancy": [0.0, 0.2, 1.0, 0.5],
        }
    )
    features = estimate_features(rooms)
    assert list(features.columns) == ["room_id", "bin_start", *FEATURES]
    assert features["co2_change"].tolist()[:2] == [pytest.approx(np.nan, nan_ok=True), 30.0]
    assert np.isnan(features["co2_change"].iloc[2])  # a missing bin before it
    assert np.isnan(features["co2_change"].iloc[3])  # another room's first bin
    assert features["co2_above_min"].tolist() == [0.0, 30.0, 80.0, 0.0]
    assert features["motion_on_share"].tolist() == [0.0, 0.2, 1.0, 0.5]
    assert features["people_count"].isna().all()  # no counter: a missing input


def test_the_motion_only_share_wins_over_a_counters_occupancy():
    rooms = pd.DataFrame(
        {"room_id": ["a"], "bin_start": [T0], "occupancy": [1.0], "motion_occupancy": [0.0]}
    )
    assert estimate_features(rooms)["motion_on_share"].tolist() == [0.0]


def _still_office(days: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """One room, 5-min bins: occupied 9-17 h; motion sees a seated person in a third of the
    bins, CO2 rises towards 700 ppm while occupied and decays to 420 when empty."""
    rng = np.random.default_rng(seed)
    bins = pd.date_range(T0, periods=days * 288, freq="5min")
    hour = bins.hour + bins.minute / 60
    occupied = ((hour >= 9) & (hour < 17)).astype(int)
    seen = occupied * (rng.random(len(bins)) < 0.33)
    co2 = np.empty(len(bins))
    level = 420.0
    for k, person in enumerate(occupied):
        target = 700.0 if person else 420.0
        level = target + (level - target) * np.exp(-5 / 30)
        co2[k] = level + rng.normal(0, 5)
    rooms = pd.DataFrame(
        {"room_id": "a", "bin_start": bins, "occupancy": seen.astype(float), "co2": co2}
    )
    return estimate_features(rooms), occupied


def test_fusing_co2_with_motion_beats_motion_alone_on_a_still_office():
    train, y_train = _still_office(days=6, seed=1)
    test, y_test = _still_office(days=3, seed=2)
    fused = OccupancyEstimator(inputs=("motion", "co2")).fit(train, y_train)
    motion = OccupancyEstimator(inputs=("motion",)).fit(train, y_train)
    fused_accuracy = (fused.predict(test) == y_test).mean()
    motion_accuracy = (motion.predict(test) == y_test).mean()
    assert fused_accuracy > 0.95
    assert fused_accuracy > motion_accuracy + 0.05
    proba = fused.predict_proba(test)
    assert proba.shape == (len(test), 2) and np.allclose(proba.sum(axis=1), 1)
    decided = fused.decided_shares(test)
    assert set(decided) == {"motion", "co2"}
    assert decided["co2"] > decided["motion"]


def test_a_room_without_a_sensor_is_still_estimated():
    train, y_train = _still_office(days=4, seed=3)
    estimator = OccupancyEstimator(inputs=("motion", "co2")).fit(train, y_train)
    no_co2 = train.assign(co2=np.nan, co2_above_min=np.nan, co2_change=np.nan, co2_change_3=np.nan)
    proba = estimator.predict_proba(no_co2)[:, 1]
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()


def test_an_unfitted_or_misnamed_estimator_says_so():
    features, occupied = _still_office(days=1, seed=4)
    with pytest.raises(NotFittedError):
        OccupancyEstimator().predict_proba(features)
    with pytest.raises(ValueError, match="unknown inputs"):
        OccupancyEstimator(inputs=("pir",)).fit(features, occupied)
