"""The two baselines a model must beat, as scikit-learn estimators: persistence and the
time-of-week profile.

Both follow scikit-learn's conventions (``sklearn/dummy.py``): keyword-only parameters stored
by the constructor, ``fit(X, y)`` returns ``self``, learned state ends in ``_``, and using an
unfitted estimator raises ``NotFittedError``. ``X`` is a frame of windows (``bin_start``, the
anchor bin in UTC, and ``occupancy_t``, the room's occupied share at the anchor); ``y`` the 0/1
labels, one column per horizon. ``predict_proba`` gives the occupied probability per window and
horizon, an array (n, horizons), as ``training.positive_proba`` does for the forest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from snuk_assets.transforms.resample.bins import DEFAULT_FREQ


def time_of_week_slot(when: pd.DatetimeIndex, *, timezone: str, freq: str) -> np.ndarray:
    """The bin of the local week (0 = Monday 00:00) each timestamp falls in."""
    local = when.tz_convert(timezone)
    minutes = local.day_of_week * 1440 + local.hour * 60 + local.minute
    return np.asarray(minutes // (pd.Timedelta(freq).total_seconds() // 60), dtype=int)


def _horizons(y) -> int:
    y = np.asarray(y)
    return 1 if y.ndim == 1 else y.shape[1]


class PersistenceBaseline(BaseEstimator):
    """The last observed state continues: 1 for every horizon if occupied at t, else 0.

    Parameters
    ----------
    current : str
        The column of ``X`` with the occupied share at the anchor bin.

    Attributes
    ----------
    n_outputs_ : int
        Horizons seen in training (the columns of ``y``).
    """

    def __init__(self, *, current: str = "occupancy_t"):
        self.current = current

    def fit(self, X: pd.DataFrame, y) -> PersistenceBaseline:
        """Nothing to learn but the number of horizons."""
        self.n_outputs_ = _horizons(y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """1.0 where the room is occupied at the anchor, else 0.0: an array (n, horizons)."""
        check_is_fitted(self)
        occupied = (np.asarray(X[self.current], dtype=float) > 0).astype(float)
        return np.repeat(occupied[:, None], self.n_outputs_, axis=1)


class TimeOfWeekProfile(BaseEstimator):
    """Share of past weeks in which the room was occupied at that time of week.

    Parameters
    ----------
    timezone : str
        The building's time zone: weeks are local weeks.
    freq : str
        Bin width, e.g. ``"5min"``.

    Attributes
    ----------
    share_ : pandas.Series
        Occupied share per time-of-week slot seen in training.
    overall_ : float
        Occupied share over all training targets, for slots never seen.
    n_outputs_ : int
        Horizons seen in training (the columns of ``y``).
    """

    def __init__(self, *, timezone: str = "Europe/Berlin", freq: str = DEFAULT_FREQ):
        self.timezone = timezone
        self.freq = freq

    def _target_slots(self, X: pd.DataFrame, horizons: int) -> np.ndarray:
        anchors = pd.DatetimeIndex(X["bin_start"])
        steps = pd.to_timedelta(np.arange(1, horizons + 1) * pd.Timedelta(self.freq))
        # Every (window, horizon) target time in one index, window by window: one time zone
        # conversion in place of one per horizon.
        when = anchors.repeat(horizons) + np.tile(steps, len(anchors))
        slots = time_of_week_slot(when, timezone=self.timezone, freq=self.freq)
        return slots.reshape(len(anchors), horizons)

    def fit(self, X: pd.DataFrame, y) -> TimeOfWeekProfile:
        """Learn from the windows ``X`` (their ``bin_start``) and 0/1 labels ``y`` (n, horizons)."""
        labels = np.asarray(y).reshape(len(X), -1)
        slots = self._target_slots(X, labels.shape[1])
        self.share_ = pd.Series(labels.ravel().astype(float)).groupby(slots.ravel()).mean()
        self.overall_ = float(labels.mean()) if labels.size else 0.0
        self.n_outputs_ = labels.shape[1]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Occupied share at each target time of the windows ``X``: an array (n, horizons)."""
        check_is_fitted(self)
        slots = self._target_slots(X, self.n_outputs_)
        shares = self.share_.reindex(slots.ravel()).fillna(self.overall_).to_numpy()
        return shares.reshape(slots.shape)
