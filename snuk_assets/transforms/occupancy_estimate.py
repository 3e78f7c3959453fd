"""Per room and bin, the probability that somebody is there, from every sensor the room has.

A motion sensor misses people who sit still; CO2 rises with people and falls with the
ventilation, lamps go on, voices raise the sound level, a door counter counts. ``estimate_features``
turns room bins into the inputs (levels and changes), ``OccupancyEstimator`` learns where truth
exists (a simulator's truth, a dataset's ground truth, a counter) and, being a gradient-boosted
tree ensemble that routes missing values, also estimates rooms that lack some of the inputs.
Its probabilities are calibrated (``CalibratedClassifierCV``, isotonic, folds of whole days),
and ``decided_shares`` says how often each input decided the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import PredefinedSplit
from sklearn.utils.validation import check_is_fitted

from snuk_assets.transforms.resample.bins import DEFAULT_FREQ

# The inputs and the feature columns each contributes.
INPUT_FEATURES: dict[str, list[str]] = {
    "motion": ["motion_on_share", "idle_minutes"],
    "co2": ["co2", "co2_above_min", "co2_change", "co2_change_3"],
    "luminosity": ["luminosity", "luminosity_change"],
    "sound": ["sound_level", "sound_level_change"],
    "counter": ["people_count"],
    "devices": ["wifi_devices", "wifi_devices_change"],
}
FEATURES = [column for columns in INPUT_FEATURES.values() for column in columns]
# (signal, bins back, feature): each change over the last bins.
CHANGES = [
    ("co2", 1, "co2_change"),
    ("co2", 3, "co2_change_3"),
    ("luminosity", 1, "luminosity_change"),
    ("sound_level", 1, "sound_level_change"),
    ("wifi_devices", 1, "wifi_devices_change"),
]
BASELINE_WINDOW = pd.Timedelta(hours=24)  # CO2's trailing minimum: the room's outdoor-air level


def estimate_features(rooms: pd.DataFrame, *, freq: str = DEFAULT_FREQ) -> pd.DataFrame:
    """The estimator's inputs for each room and bin.

    Parameters
    ----------
    rooms : pandas.DataFrame
        Room bins, e.g. ``room_series`` rows: ``room_id``, ``bin_start`` (UTC) and any of
        ``motion_occupancy`` or else ``occupancy`` (the motion ON share 0..1),
        ``idle_minutes``, ``co2`` (ppm), ``luminosity`` (lux), ``sound_level`` (dB),
        ``people_count`` (people, the bin's mean) and ``wifi_devices`` (connected devices).
        Missing columns and values are NaN inputs.
    freq : str
        The bin width; a change is taken only from the bin right before (else NaN).

    Returns
    -------
    pandas.DataFrame
        ``room_id``, ``bin_start`` and the ``FEATURES`` columns (float64), in the input's
        order: the levels, each ``<signal>_change`` over the last bin (and ``co2_change_3``
        over the last three), and ``co2_above_min``, the level above the room's lowest
        reading of the trailing 24 hours.
    """
    frame = rooms.reset_index(drop=True)
    motion = "motion_occupancy" if "motion_occupancy" in frame else "occupancy"
    out = pd.DataFrame({"room_id": frame["room_id"], "bin_start": frame["bin_start"]})
    level = {
        "motion_on_share": motion,
        "idle_minutes": "idle_minutes",
        "co2": "co2",
        "luminosity": "luminosity",
        "sound_level": "sound_level",
        "people_count": "people_count",
        "wifi_devices": "wifi_devices",
    }
    for name, column in level.items():
        out[name] = frame[column].astype("float64") if column in frame else np.nan
    order = out.sort_values(["room_id", "bin_start"]).index
    ordered = out.loc[order]
    by_room = ordered.groupby("room_id", sort=False)
    step = pd.Timedelta(freq)
    for signal, lag, name in CHANGES:
        contiguous = ordered["bin_start"] - by_room["bin_start"].shift(lag) == lag * step
        change = ordered[signal] - by_room[signal].shift(lag)
        out.loc[order, name] = change.where(contiguous).to_numpy()
    out.loc[order, "co2_above_min"] = (ordered["co2"] - _trailing_min(ordered, "co2")).to_numpy()
    return out[["room_id", "bin_start", *FEATURES]]


def _trailing_min(ordered: pd.DataFrame, column: str) -> pd.Series:
    """Each room's minimum of ``column`` over the trailing ``BASELINE_WINDOW`` (by the clock)."""
    parts = []
    for _, room in ordered.groupby("room_id", sort=False):
        series = pd.Series(room[column].to_numpy(), index=pd.DatetimeIndex(room["bin_start"]))
        parts.append(series.rolling(BASELINE_WINDOW, min_periods=1).min().to_numpy())
    return pd.Series(np.concatenate(parts) if parts else [], index=ordered.index, dtype=float)


class OccupancyEstimator(ClassifierMixin, BaseEstimator):
    """Calibrated probability that a room is occupied in a bin, from ``estimate_features``.

    Parameters
    ----------
    inputs : tuple of str
        Keys of ``INPUT_FEATURES`` to use; the others are ignored (e.g. ``("motion",)`` for
        motion alone).
    max_iter, learning_rate, max_leaf_nodes : int, float, int
        The boosted trees (``HistGradientBoostingClassifier``).
    calibration_folds, calibration_block : int, int
        Folds of ``CalibratedClassifierCV`` (isotonic): blocks of ``calibration_block``
        consecutive training rows (288: a day of 5-min bins of one room, for rows sorted by
        room and time) dealt to the folds in turn, so that every fold has every room and
        neighbouring bins stay together.
    random_state : int

    Attributes
    ----------
    features_ : list of str
        The feature columns used: those of ``inputs`` with at least two distinct values in
        the training rows of every calibration fold.
    model_ : CalibratedClassifierCV
    classes_ : numpy.ndarray
        ``[0, 1]``.
    """

    def __init__(
        self,
        *,
        inputs: tuple[str, ...] = tuple(INPUT_FEATURES),
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        calibration_folds: int = 3,
        calibration_block: int = 288,
        random_state: int = 0,
    ):
        self.inputs = inputs
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration_folds = calibration_folds
        self.calibration_block = calibration_block
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y) -> OccupancyEstimator:
        """Learn from feature rows ``X`` and the truth ``y`` (1 somebody there, 0 empty)."""
        unknown = set(self.inputs) - set(INPUT_FEATURES)
        if unknown:
            raise ValueError(f"unknown inputs {sorted(unknown)}; expected {list(INPUT_FEATURES)}")
        wanted = [c for name in self.inputs for c in INPUT_FEATURES[name]]
        folds = PredefinedSplit(
            np.arange(len(X)) // self.calibration_block % self.calibration_folds
        )
        # A column without two distinct values in a fold's training rows (a sensor no
        # training room has) carries nothing to learn, and the trees' binning refuses it.
        self.features_ = [
            c
            for c in wanted
            if c in X
            and all(X[c].iloc[train].nunique(dropna=True) > 1 for train, _ in folds.split())
        ]
        if not self.features_:
            raise ValueError(f"no values to learn from in the columns of inputs {self.inputs}")
        trees = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            random_state=self.random_state,
        )
        self.model_ = CalibratedClassifierCV(trees, method="isotonic", cv=folds)
        self.model_.fit(self._matrix(X), np.asarray(y, dtype=int))
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """An array (n, 2): the probability of empty and of occupied."""
        check_is_fitted(self)
        return self.model_.predict_proba(self._matrix(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the occupied probability is at least 0.5, else 0."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def decided_shares(self, X: pd.DataFrame) -> dict[str, float]:
        """Per input, the share of rows whose decision flips when that input is left out.

        An input "decided" a bin when, without it (its columns NaN, as in a room that lacks
        the sensor), the estimate falls on the other side of 0.5. Inputs the row has no value
        for decide nothing there. Shares of several inputs can add up to more or less than 1.
        """
        check_is_fitted(self)
        decision = self.predict(X)
        shares = {}
        for name in self.inputs:
            without = X.copy()
            without[INPUT_FEATURES[name]] = np.nan
            shares[name] = float((self.predict(without) != decision).mean()) if len(X) else 0.0
        return shares

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return X.reindex(columns=self.features_).to_numpy(dtype=float)
