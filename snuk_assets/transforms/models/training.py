"""Per-room occupancy models: train, score against the baselines, store safely with skops.

A room's windows are scored walking forward in time (each held-out block by models trained on
every window before it, never shuffled); a multi-label random forest predicts every horizon at
once. Models are stored as skops bytes (``model_blobs.py``), never pickle.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
import skops
from sklearn.ensemble import RandomForestClassifier

from snuk_assets.transforms.models.baselines import PersistenceBaseline, TimeOfWeekProfile
from snuk_assets.transforms.models.blobs import dump_model
from snuk_assets.transforms.models.metrics import horizon_scores
from snuk_assets.transforms.models.params import TrainingParams
from snuk_assets.transforms.windows import MOTION_LABEL_PREFIX, lags_by_signal

LABEL_PREFIX = "occupied_t+"
THRESHOLD_GRID = np.round(np.arange(0.20, 0.701, 0.05), 2)
NOT_FEATURES = {"room_id", "bin_start", "date"}


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }


def positive_proba(model: RandomForestClassifier, features: pd.DataFrame) -> np.ndarray:
    """Probability of 1 for each output of a multi-label forest: array (n, outputs)."""
    probas = model.predict_proba(features)
    probas = probas if isinstance(probas, list) else [probas]
    columns = []
    for classes, proba in zip(
        np.atleast_2d(model.classes_) if model.n_outputs_ == 1 else model.classes_,
        probas,
        strict=True,
    ):
        hit = np.flatnonzero(np.asarray(classes) == 1)
        columns.append(proba[:, hit[0]] if hit.size else np.zeros(len(features)))
    return np.column_stack(columns)


def walk_forward_splits(
    windows: pd.DataFrame, *, test_fraction: float, blocks: int
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Time-ordered ``(train, test)`` pairs, oldest test block first.

    The last ``blocks * test_fraction`` of the ``bin_start`` span is cut into ``blocks``
    consecutive test blocks of ``test_fraction`` each; a block's training windows are all the
    windows before it. Never shuffled: every training window is older than its test block.
    """
    if not (blocks >= 1 and test_fraction > 0 and blocks * test_fraction < 1):
        raise ValueError(
            f"need blocks >= 1 and 0 < blocks x test_fraction < 1, got {blocks=}, {test_fraction=}"
        )
    start, end = windows["bin_start"].min(), windows["bin_start"].max()
    cuts = [start + (end - start) * (1 - test_fraction * k) for k in range(blocks, 0, -1)]
    splits = []
    for k, cut in enumerate(cuts):
        later = windows["bin_start"] >= cut
        if k + 1 < len(cuts):
            later &= windows["bin_start"] < cuts[k + 1]
        splits.append((windows[windows["bin_start"] < cut], windows[later]))
    return splits


def feature_columns(windows: pd.DataFrame, params: TrainingParams | None = None) -> list[str]:
    """The lag and calendar columns the room has data for (all-null columns left out).

    With ``params``, only its ``feature_lags`` and ``calendar_features``, in a fixed order: each
    signal's lags in ``feature_lags`` order, oldest first, then the calendar columns. The order
    must not follow the table's: a column that a newer SNUK added sits last in an upgraded
    Delta table, and a forest's random feature draws depend on the order (on the demo building
    the same windows in two column orders gave 21 and 24 rooms won). Without ``params``, every
    candidate in ``windows``' order.
    """
    candidates = [
        c
        for c in windows.columns
        if c not in NOT_FEATURES | set(labels_of(windows))
        and not c.startswith(MOTION_LABEL_PREFIX)  # the labels' comparison, never a feature
    ]
    if params is not None:
        lagged = lags_by_signal(candidates)
        ordered = [
            c
            for signal, lags in params.feature_lags
            for lag, c in lagged.get(signal, [])
            if lags is None or lag < lags
        ]
        candidates = ordered + [c for c in params.calendar_features if c in candidates]
    return [c for c in candidates if windows[c].notna().any()]


def columns_read(names: Sequence[str], params: TrainingParams) -> list[str]:
    """Of the ``feature_windows`` columns ``names``, those ``train_room`` reads with ``params``,
    in ``names``' order: ``room_id``, ``bin_start``, the labels, every lag of the signals in
    ``feature_lags``, the calendar features and the persistence baseline's ``occupancy_t``.

    A stage that reads only these trains the same models on a third of the windows' columns.
    """
    signals = {signal for signal, _ in params.feature_lags}
    lags = {
        name
        for signal, pairs in lags_by_signal(names).items()
        if signal in signals
        for _, name in pairs
    }
    read = {"room_id", "bin_start", PersistenceBaseline().current, *params.calendar_features}
    return [name for name in names if name in read | lags or name.startswith(LABEL_PREFIX)]


def labels_of(windows: pd.DataFrame) -> list[str]:
    """The label columns ``occupied_t+1`` .. in horizon order."""
    return sorted(
        (c for c in windows.columns if c.startswith(LABEL_PREFIX)),
        key=lambda c: int(c.removeprefix(LABEL_PREFIX)),
    )


def train_room(windows: pd.DataFrame, params: TrainingParams) -> pd.DataFrame:
    """Train and score one room's model; one row for the ``occupancy_models`` table.

    ``windows`` are rows of ``feature_windows`` for one room. The row holds ``room_id``,
    ``status`` (``trained`` or ``skipped``), ``reason``, ``model`` (skops bytes, the newest
    walk-forward block's forest), its training span and size (``train_*``, ``n_train``), the
    span and size of all the blocks' held-out windows (``test_*``, ``n_test``),
    ``feature_names``, ``horizons``, ``library_versions`` (JSON) and ``metrics`` (JSON records
    pooled over the blocks: model, horizon, test_size, threshold, accuracy, f1, roc_auc, brier).
    A block needs ``min_windows`` training windows; a room with no such block is skipped.
    """
    windows = windows.sort_values("bin_start")
    room_id = str(windows["room_id"].iloc[0])
    labels = labels_of(windows)
    row = {
        "room_id": room_id,
        "horizons": [int(c.removeprefix(LABEL_PREFIX)) for c in labels],
        "library_versions": json.dumps(library_versions()),
    }
    features = feature_columns(windows, params)
    # Further types' lags (co2, ...) may be missing where the windows' own signals are not.
    windows = windows.dropna(subset=features)
    days = windows["bin_start"].dt.date.nunique()
    if days < params.min_days or len(windows) < params.min_windows:
        reason = (
            f"too sparse: {len(windows)} complete windows on {days} days "
            f"(need {params.min_windows} on {params.min_days})"
        )
        return pd.DataFrame([{**row, "status": "skipped", "reason": reason}])
    splits = scored_splits(windows, params)
    if not splits:
        reason = f"too sparse: fewer than {params.min_windows} windows before the held-out time"
        return pd.DataFrame([{**row, "status": "skipped", "reason": reason}])
    blocks = [
        score_block(train, test, features=features, labels=labels, params=params)
        for train, test in splits
    ]
    model, (train, _) = blocks[-1].model, splits[-1]
    tests = pd.concat([test for _, test in splits])
    row |= {
        "status": "trained",
        "reason": None,
        "model": dump_model(model),
        "feature_names": features,
        "n_train": len(train),
        "n_test": len(tests),
        "train_start": train["bin_start"].min(),
        "train_end": train["bin_start"].max(),
        "test_start": tests["bin_start"].min(),
        "test_end": tests["bin_start"].max(),
        "metrics": json.dumps(pooled_scores(blocks)),
    }
    return pd.DataFrame([row])


def scored_splits(
    windows: pd.DataFrame, params: TrainingParams
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The walk-forward blocks a room is scored on (``walk_forward_splits`` of ``params``):
    those with at least ``min_windows`` windows before them and any in them."""
    return [
        (train, test)
        for train, test in walk_forward_splits(
            windows, test_fraction=params.test_fraction, blocks=params.test_blocks
        )
        if len(train) >= params.min_windows and len(test)
    ]


def make_forest(params: TrainingParams, *, oob: bool = False) -> RandomForestClassifier:
    """The (unfitted) forest of ``params``; ``oob`` keeps its out-of-bag probabilities."""
    return RandomForestClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        max_features=params.max_features,
        random_state=params.seed,
        oob_score=oob,  # the fitted trees are the same either way
        n_jobs=1,
    )


def best_thresholds(truth: np.ndarray, proba: np.ndarray, default: float) -> np.ndarray:
    """Per column of ``truth`` (n, steps, 0/1), the cut of ``THRESHOLD_GRID`` with the best F1.

    ``proba`` (n, steps) may hold NaN (a window no tree left out of its sample): those rows are
    ignored. A column with a single class, or no probability, keeps ``default``. Ties go to the
    lowest cut.
    """
    cuts = np.full(truth.shape[1], default)
    for step in range(truth.shape[1]):
        known = ~np.isnan(proba[:, step])
        y, p = truth[known, step], proba[known, step]
        if len(np.unique(y)) == 2:
            cuts[step] = THRESHOLD_GRID[int(np.argmax(grid_f1(y == 1, p)))]
    return cuts


def grid_f1(positive: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """F1 of ``proba >= cut`` against ``positive`` (bool, n) for each cut of ``THRESHOLD_GRID``.

    The counts of all cuts at once, in place of a ``sklearn.metrics.f1_score`` call per cut
    (which validated its input each time: half of a room's training time). The same float
    arithmetic as sklearn's: 2 tp / (true + predicted) in float64, 0 where both are 0.
    """
    predicted = proba[:, None] >= THRESHOLD_GRID[None, :]
    hits = np.count_nonzero(predicted & positive[:, None], axis=0).astype(np.float64)
    total = np.count_nonzero(positive) + np.count_nonzero(predicted, axis=0).astype(np.float64)
    return np.divide(2.0 * hits, total, out=np.zeros_like(total), where=total > 0)


@dataclass(frozen=True)
class ScoredBlock:
    """One walk-forward block: the forest trained before it, and each model's test output.

    ``truth`` is the block's 0/1 labels (n, steps); ``proba`` maps each model to its
    probabilities (n, steps) and ``cuts`` to its occupied/free cut per horizon (steps,).
    """

    model: RandomForestClassifier
    truth: np.ndarray
    proba: dict[str, np.ndarray]
    cuts: dict[str, np.ndarray]


def score_block(
    train: pd.DataFrame, test: pd.DataFrame, *, features, labels, params: TrainingParams
) -> ScoredBlock:
    """Train the forest and the profile on ``train``; their and persistence's output on ``test``.

    The forest is cut where its out-of-bag F1 is best, the time-of-week profile where its
    in-sample F1 is best (the same favour to both; ``params.threshold`` without
    ``tune_thresholds``, and where a horizon's training labels hold one class); persistence is
    0/1 already.
    """
    truth = train[labels].to_numpy()
    # Out-of-bag probabilities exist only when every horizon saw both classes in training.
    tune = params.tune_thresholds and all(len(np.unique(column)) == 2 for column in truth.T)
    model = make_forest(params, oob=tune).fit(train[features], truth)
    fixed = np.full(len(labels), params.threshold)
    forest_cuts = fixed
    if tune:
        oob = model.oob_decision_function_[:, 1, :]
        forest_cuts = best_thresholds(truth, oob, params.threshold)
        del model.oob_decision_function_, model.oob_score_  # n_train x 2 x fsteps floats
    profile = TimeOfWeekProfile(timezone=params.timezone, freq=params.freq).fit(train, truth)
    persistence = PersistenceBaseline().fit(train, truth)
    profile_cuts = (
        best_thresholds(truth, profile.predict_proba(train), params.threshold)
        if params.tune_thresholds
        else fixed
    )
    return ScoredBlock(
        model=model,
        truth=test[labels].to_numpy(),
        proba={
            "random_forest": positive_proba(model, test[features]),
            "persistence": persistence.predict_proba(test),
            "time_of_week": profile.predict_proba(test),
        },
        cuts={
            "random_forest": forest_cuts,
            "persistence": np.full(len(labels), 0.5),  # 0/1 already: any cut gives the same
            "time_of_week": profile_cuts,
        },
    )


def pooled_scores(blocks: list[ScoredBlock]) -> list[dict]:
    """Per model and horizon, the scores over every block's test windows together.

    Each window is cut at the cut of the model that forecast it; the ``threshold`` recorded is
    the newest block's (the stored model's).
    """
    truth = np.vstack([block.truth for block in blocks])
    records = []
    for name in blocks[0].proba:
        proba = np.vstack([block.proba[name] for block in blocks])
        cuts = np.vstack([np.tile(block.cuts[name], (len(block.truth), 1)) for block in blocks])
        records += horizon_scores(name, truth, proba, cuts)
    return records
