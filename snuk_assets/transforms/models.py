"""Per-room occupancy models: train, score against the baselines, store safely with skops.

A room's windows are split by time (the last ``test_fraction`` of the span is held out, never
shuffled); a multi-label random forest predicts every horizon at once. Models are stored with
``skops.io`` (never pickle) and loaded only if every type in the blob is on ``ALLOWED_TYPES``.
"""

from __future__ import annotations

import io
import json
import platform
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
import skops
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score

from snuk_assets.transforms.baselines import TimeOfWeekProfile, persistence_proba
from snuk_assets.transforms.metrics import horizon_scores
from snuk_assets.transforms.windows import lag_of

LABEL_PREFIX = "occupied_t+"
THRESHOLD_GRID = np.round(np.arange(0.20, 0.701, 0.05), 2)
NOT_FEATURES = {"room_id", "bin_start", "date"}
# Exactly the types a fitted RandomForestClassifier is made of; anything else is refused.
ALLOWED_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.int64",
        "numpy.float64",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",
    }
)


class ModelLoadError(ValueError):
    """A stored model blob is corrupt or holds types that are not allowed."""


@dataclass(frozen=True)
class TrainingParams:
    """Forest size, split and the least data a room needs to be trained."""

    n_estimators: int = 60
    # Shallow trees on half the features each: on the demo building these beat deeper, sqrt-
    # feature forests (which overfit the few weeks of data) in mean F1 at every horizon > 1.
    max_depth: int = 8
    min_samples_leaf: int = 20
    max_features: float | str | None = 0.5
    # What the forest sees: per room_series column, its most recent lags (None: every lag of
    # the window), then calendar columns. Idle minutes tell when motion stopped inside a bin,
    # which the occupied shares cannot: on three simulated buildings they lift F1 at 5 minutes
    # ahead by 0.004 .. 0.008. Three lags, because the older ones are nearly the newest minus
    # 5 k minutes and all 12 cost up to 0.01 F1 an hour ahead. Climate lags are left out: on
    # the demo building and on UCI they shift between training and test weeks and cost F1.
    feature_lags: tuple[tuple[str, int | None], ...] = (("occupancy", None), ("idle_minutes", 3))
    calendar_features: tuple[str, ...] = ("time_of_day_sin", "time_of_day_cos", "working_day")
    test_fraction: float = 0.2
    min_days: int = 3
    min_windows: int = 200
    # Occupied when the probability reaches a cut. With ``tune_thresholds`` each horizon gets
    # the cut of ``THRESHOLD_GRID`` with the best F1 on the training windows: out-of-bag
    # probabilities for the forest, in-sample shares for the time-of-week profile (the same
    # favour to both). ``threshold`` is the cut without tuning, and where a horizon's training
    # labels hold one class. F1's best cut is about half the attainable F1 (Lipton et al.,
    # ECML PKDD 2014), so 0.4 rather than 0.5 for the F1 of 0.8 .. 0.9 seen here.
    threshold: float = 0.4
    tune_thresholds: bool = True
    seed: int = 0
    timezone: str = "Europe/Berlin"
    freq: str = "5min"


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }


def dump_model(model: RandomForestClassifier) -> bytes:
    """The model as skops bytes."""
    return sio.dumps(model)


def blob_types(blob: bytes) -> set[str]:
    """Every ``module.Class`` named in a skops blob's schema."""
    try:
        schema = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelLoadError(f"not a skops model blob (corrupt or truncated): {error}") from error
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load_model(blob: bytes) -> RandomForestClassifier:
    """A model from skops bytes, refusing any type outside ``ALLOWED_TYPES``.

    Raises
    ------
    ModelLoadError
        If the bytes are not a readable skops file, or name a type that is not allowed (a
        tampered or foreign blob): the message lists the offending types.
    """
    refused = sorted(blob_types(blob) - ALLOWED_TYPES)
    if refused:
        raise ModelLoadError(
            f"refusing to load a model blob with types outside the allow-list: {refused}; "
            "retrain the model or extend ALLOWED_TYPES after reviewing them"
        )
    try:
        return sio.loads(blob, trusted=sorted(ALLOWED_TYPES))
    except Exception as error:  # skops raises many kinds on damaged content
        raise ModelLoadError(f"the model blob could not be loaded: {error}") from error


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


def time_split(windows: pd.DataFrame, test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Windows before and from the point ``1 - test_fraction`` of the way through the span."""
    start, end = windows["bin_start"].min(), windows["bin_start"].max()
    cut = start + (end - start) * (1 - test_fraction)
    return windows[windows["bin_start"] < cut], windows[windows["bin_start"] >= cut]


def feature_columns(windows: pd.DataFrame, params: TrainingParams | None = None) -> list[str]:
    """The lag and calendar columns the room has data for (all-null columns left out).

    With ``params``, only its ``feature_lags`` and ``calendar_features``; in ``windows``' order.
    """
    candidates = [c for c in windows.columns if c not in NOT_FEATURES | set(labels_of(windows))]
    if params is not None:
        wanted = set(params.calendar_features)
        for signal, lags in params.feature_lags:
            wanted |= {
                c
                for c in candidates
                if c.startswith(f"{signal}_t") and (lags is None or lag_of(c) < lags)
            }
        candidates = [c for c in candidates if c in wanted]
    return [c for c in candidates if windows[c].notna().any()]


def labels_of(windows: pd.DataFrame) -> list[str]:
    """The label columns ``occupied_t+1`` .. in horizon order."""
    return sorted(
        (c for c in windows.columns if c.startswith(LABEL_PREFIX)),
        key=lambda c: int(c.removeprefix(LABEL_PREFIX)),
    )


def train_room(windows: pd.DataFrame, params: TrainingParams) -> pd.DataFrame:
    """Train and score one room's model; one row for the ``occupancy_models`` table.

    ``windows`` are rows of ``feature_windows`` for one room. The row holds ``room_id``,
    ``status`` (``trained`` or ``skipped``), ``reason``, ``model`` (skops bytes), training and
    test spans and sizes, ``feature_names``, ``horizons``, ``library_versions`` (JSON) and
    ``metrics`` (JSON records: model, horizon, test_size, accuracy, f1, roc_auc, brier).
    """
    windows = windows.sort_values("bin_start")
    room_id = str(windows["room_id"].iloc[0])
    labels = labels_of(windows)
    row = {
        "room_id": room_id,
        "horizons": [int(c.removeprefix(LABEL_PREFIX)) for c in labels],
        "library_versions": json.dumps(library_versions()),
    }
    days = windows["bin_start"].dt.date.nunique()
    if days < params.min_days or len(windows) < params.min_windows:
        reason = (
            f"too sparse: {len(windows)} complete windows on {days} days "
            f"(need {params.min_windows} on {params.min_days})"
        )
        return pd.DataFrame([{**row, "status": "skipped", "reason": reason}])
    features = feature_columns(windows, params)
    train, test = time_split(windows, params.test_fraction)
    truth = train[labels].to_numpy()
    # Out-of-bag probabilities exist only when every horizon saw both classes in training.
    tune = params.tune_thresholds and all(len(np.unique(column)) == 2 for column in truth.T)
    model = _forest(params, oob=tune).fit(train[features], truth)
    cuts = np.full(len(labels), params.threshold)
    if tune:
        cuts = best_thresholds(truth, model.oob_decision_function_[:, 1, :], params.threshold)
        del model.oob_decision_function_, model.oob_score_  # n_train x 2 x fsteps floats
    scores = score_models(
        model, train, test, features=features, labels=labels, params=params, forest_cuts=cuts
    )
    row |= {
        "status": "trained",
        "reason": None,
        "model": dump_model(model),
        "feature_names": features,
        "n_train": len(train),
        "n_test": len(test),
        "train_start": train["bin_start"].min(),
        "train_end": train["bin_start"].max(),
        "test_start": test["bin_start"].min(),
        "test_end": test["bin_start"].max(),
        "metrics": json.dumps(scores),
    }
    return pd.DataFrame([row])


def _forest(params: TrainingParams, *, oob: bool = False) -> RandomForestClassifier:
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
            scores = [f1_score(y, p >= cut, zero_division=0) for cut in THRESHOLD_GRID]
            cuts[step] = THRESHOLD_GRID[int(np.argmax(scores))]
    return cuts


def score_models(
    model, train, test, *, features, labels, params: TrainingParams, forest_cuts: np.ndarray
) -> list[dict]:
    """Per-horizon scores of the forest and both baselines on the held-out windows.

    The forest is cut at ``forest_cuts`` (one per horizon); the time-of-week profile, which
    learns from the same training windows, at its own best cuts on them when
    ``params.tune_thresholds`` (else at ``params.threshold``); persistence is 0/1 already.
    """
    truth = test[labels].to_numpy()
    anchors = pd.DatetimeIndex(test["bin_start"])
    train_anchors, train_truth = pd.DatetimeIndex(train["bin_start"]), train[labels].to_numpy()
    profile = TimeOfWeekProfile(timezone=params.timezone, freq=params.freq).fit(
        train_anchors, train_truth
    )
    profile_cuts = (
        best_thresholds(
            train_truth, profile.predict_proba(train_anchors, len(labels)), params.threshold
        )
        if params.tune_thresholds
        else np.full(len(labels), params.threshold)
    )
    return [
        *horizon_scores("random_forest", truth, positive_proba(model, test[features]), forest_cuts),
        *horizon_scores("persistence", truth, persistence_proba(test["occupancy_t"], len(labels))),
        *horizon_scores(
            "time_of_week", truth, profile.predict_proba(anchors, len(labels)), profile_cuts
        ),
    ]
