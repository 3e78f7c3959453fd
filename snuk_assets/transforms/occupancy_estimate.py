"""Per room and bin, the probability that somebody is there, from every sensor the room has.

A motion sensor misses people who sit still; CO2 rises with people and falls with the
ventilation, lamps go on, voices raise the sound level, a door counter counts.
``estimate_features`` (its own module, without scikit-learn) turns room bins into the inputs
(levels and changes), ``OccupancyEstimator`` learns where truth exists (a simulator's truth, a
dataset's ground truth, a counter) and, being a gradient-boosted tree ensemble that routes
missing values, also estimates rooms that lack some of the inputs.
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

from snuk_assets.transforms.estimate_features import INPUT_FEATURES


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
