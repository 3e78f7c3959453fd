"""The model scores against hand-computed small cases (no sklearn call in the oracle).

Each expected figure is worked out in the comment beside it from the confusion counts, the
pairs of (positive, negative) probabilities for ROC AUC, and the squared errors for Brier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from snuk_assets.transforms.models.metrics import binary_scores, horizon_scores
from snuk_assets.transforms.models.training import (
    THRESHOLD_GRID,
    ScoredBlock,
    TrainingParams,
    best_thresholds,
    pooled_scores,
    score_block,
)


def test_binary_scores_of_five_windows():
    y = [1, 0, 1, 1, 0]
    p = [0.9, 0.6, 0.4, 0.8, 0.1]
    got = binary_scores(y, p)
    # Cut 0.5: predicted 1 0 ... = [1, 1, 0, 1, 0]: TP 2, FP 1, FN 1, TN 1.
    assert got["accuracy"] == pytest.approx(3 / 5)
    assert got["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))  # 2TP / (2TP + FP + FN) = 2/3
    # Positives 0.9, 0.4, 0.8 against negatives 0.6, 0.1: 5 of 6 pairs ordered right.
    assert got["roc_auc"] == pytest.approx(5 / 6)
    # (0.1² + 0.6² + 0.6² + 0.2² + 0.1²) / 5
    assert got["brier"] == pytest.approx(0.78 / 5)


def test_binary_scores_at_another_cut_per_window_with_ties_and_clipping():
    y = [1, 0, 1, 0]
    p = [0.3, 0.3, 1.2, -0.1]  # clipped to 1 and 0
    # Per-window cuts: 0.3 >= 0.3 yes (a probability at its cut is occupied), 0.3 >= 0.5 no,
    # 1 >= 0.5 yes, 0 >= 0.5 no: TP 2, TN 2.
    got = binary_scores(y, p, threshold=np.array([0.3, 0.5, 0.5, 0.5]))
    assert got["accuracy"] == 1.0 and got["f1"] == 1.0
    # Pairs (0.3, 0.3) tie: 1/2; (0.3, 0): 1; (1, 0.3): 1; (1, 0): 1 -> 3.5 / 4.
    assert got["roc_auc"] == pytest.approx(3.5 / 4)
    assert got["brier"] == pytest.approx((0.7**2 + 0.3**2 + 0 + 0) / 4)


def test_binary_scores_with_one_class():
    got = binary_scores([0, 0], [0.2, 0.7])
    assert got["roc_auc"] is None  # undefined with one class
    assert got["f1"] == 0.0  # no positive at all: 0 by convention
    assert got["accuracy"] == 0.5
    assert got["brier"] == pytest.approx((0.04 + 0.49) / 2)


def test_horizon_scores_score_each_column_at_its_cut():
    labels = np.array([[1, 0], [0, 1], [1, 1]])
    proba = np.array([[0.6, 0.6], [0.4, 0.4], [0.45, 0.9]])
    records = horizon_scores("m", labels, proba, thresholds=np.array([0.5, 0.3]))
    assert [r["horizon"] for r in records] == [1, 2]
    assert [r["test_size"] for r in records] == [3, 3]
    assert [r["threshold"] for r in records] == [0.5, 0.3]
    # Step 1, cut 0.5: predicted [1, 0, 0] against [1, 0, 1]: TP 1, FN 1 -> F1 2/3, acc 2/3.
    assert records[0]["f1"] == pytest.approx(2 / 3) and records[0]["accuracy"] == pytest.approx(
        2 / 3
    )
    # Step 2, cut 0.3: predicted [1, 1, 1] against [0, 1, 1]: TP 2, FP 1 -> F1 4/5, acc 2/3.
    assert records[1]["f1"] == pytest.approx(4 / 5) and records[1]["accuracy"] == pytest.approx(
        2 / 3
    )
    # Per window cuts: the record's threshold is the last window's.
    per_window = horizon_scores(
        "m", labels, proba, thresholds=np.array([[0.5, 0.5], [0.5, 0.5], [0.4, 0.95]])
    )
    assert [r["threshold"] for r in per_window] == [0.4, 0.95]
    assert per_window[0]["f1"] == 1.0  # 0.45 >= 0.4: predicted [1, 0, 1]


def test_best_thresholds_pick_the_best_f1_cut_of_the_grid_lowest_on_ties():
    assert THRESHOLD_GRID.tolist()[:4] == [0.2, 0.25, 0.3, 0.35]
    truth = np.array([[1, 1, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]])
    proba = np.array(
        [
            [0.9, 0.9, 0.5, np.nan],
            [0.35, 0.1, 0.5, 0.1],
            [0.3, 0.22, 0.5, 0.1],
            [0.1, np.nan, 0.5, 0.1],  # a NaN probability: that row is ignored
            [np.nan, 0.6, 0.5, 0.1],
        ]
    )
    cuts = best_thresholds(truth, proba, default=0.4)
    # Column 1: 0.35 is the only cut with F1 1 (0.3 lets the 0.3 negative in: F1 0.8).
    # Column 2 (rows 0, 1, 2, 4): positives 0.9, 0.22, 0.6, negative 0.1: every cut up to 0.2
    # ... 0.2 is the lowest grid cut and the only one with F1 1 (0.25 drops 0.22).
    # Column 3: a single class: the default. Column 4: the only positive has no probability,
    # so what is left is a single class: the default too.
    assert cuts.tolist() == [0.35, 0.2, 0.4, 0.4]
    # A tie between every cut from 0.2 to 0.7 goes to the lowest.
    assert best_thresholds(np.array([[1], [0]]), np.array([[0.9], [0.1]]), 0.4).tolist() == [0.2]


def block(truth, proba, cuts) -> ScoredBlock:
    return ScoredBlock(
        model=None,
        truth=np.array(truth),
        proba={name: np.array(p) for name, p in proba.items()},
        cuts={name: np.array(c) for name, c in cuts.items()},
    )


def test_pooled_scores_cut_each_window_at_its_own_blocks_cut():
    older = block([[1], [0]], {"a": [[0.6], [0.6]], "b": [[1.0], [0.0]]}, {"a": [0.5], "b": [0.5]})
    newer = block([[1], [0]], {"a": [[0.6], [0.3]], "b": [[0.0], [0.0]]}, {"a": [0.7], "b": [0.5]})
    records = {r["model"]: r for r in pooled_scores([older, newer])}
    a = records["a"]
    # Model a: the older block's windows at 0.5 -> [1, 1], the newer's at 0.7 -> [0, 0];
    # against [1, 0, 1, 0]: TP 1, FP 1, FN 1, TN 1.
    assert a["test_size"] == 4 and a["threshold"] == 0.7  # the newest block's cut
    assert a["f1"] == pytest.approx(0.5) and a["accuracy"] == pytest.approx(0.5)
    # Positives 0.6, 0.6 against negatives 0.6, 0.3: ties 1/2 + 1/2, wins 1 + 1 -> 3 / 4.
    assert a["roc_auc"] == pytest.approx(0.75)
    assert a["brier"] == pytest.approx((0.16 + 0.36 + 0.16 + 0.09) / 4)
    # Model b: predicted [1, 0, 0, 0]: TP 1, FN 1 -> F1 2/3, accuracy 3/4.
    assert records["b"]["f1"] == pytest.approx(2 / 3)
    assert records["b"]["accuracy"] == pytest.approx(0.75)


def windows(start: str, days: int) -> pd.DataFrame:
    """Hourly windows of an office occupied 08:00-17:00; ``hour`` predicts every label."""
    anchors = pd.date_range(start, periods=24 * days, freq="1h", tz="UTC")

    def occupied(when: pd.DatetimeIndex) -> np.ndarray:
        return ((when.hour >= 8) & (when.hour < 17)).astype(int)

    return pd.DataFrame(
        {
            "bin_start": anchors,
            "hour": anchors.hour.astype(float),
            "occupancy_t": occupied(anchors).astype(float),
            "occupied_t+1": occupied(anchors + pd.Timedelta(hours=1)),
            "occupied_t+2": occupied(anchors + pd.Timedelta(hours=2)),
        }
    )


@pytest.mark.parametrize("tune", [True, False])
def test_score_block_outputs_and_cuts(tune):
    params = TrainingParams(
        n_estimators=20, min_samples_leaf=1, timezone="UTC", freq="1h", tune_thresholds=tune
    )
    train, test = windows("2016-06-06", 7), windows("2016-06-13", 2)
    labels = ["occupied_t+1", "occupied_t+2"]
    scored = score_block(train, test, features=["hour"], labels=labels, params=params)
    truth = test[labels].to_numpy()
    assert scored.truth.tolist() == truth.tolist()
    # Persistence: the occupancy now, at every horizon.
    now = test["occupancy_t"].to_numpy()
    assert scored.proba["persistence"].tolist() == np.column_stack([now, now]).tolist()
    # The profile: each target hour of the week was seen once a week, always with the same
    # label, so its share is that label: exactly the truth.
    assert scored.proba["time_of_week"].tolist() == truth.astype(float).tolist()
    # Tuned, every grid cut gives F1 1 on the training windows (the in-sample profile is
    # exact; the out-of-bag forest is too, hour being a perfect feature): the lowest cut.
    # Untuned, the fixed cut 0.4.
    cut = THRESHOLD_GRID[0] if tune else params.threshold
    for name in ("random_forest", "time_of_week"):
        assert scored.cuts[name].tolist() == [cut, cut]
    assert scored.cuts["persistence"].tolist() == [0.5, 0.5]
    # The forest, cut there, calls every test window right.
    called = scored.proba["random_forest"] >= scored.cuts["random_forest"]
    assert called.astype(int).tolist() == truth.tolist()
