"""The two baselines a model must beat: persistence and the time-of-week profile."""

from __future__ import annotations

import numpy as np
import pandas as pd


def persistence_proba(current_occupancy: np.ndarray, fsteps: int) -> np.ndarray:
    """The last observed state continues: 1 for every horizon if occupied at t, else 0."""
    occupied = (np.asarray(current_occupancy, dtype=float) > 0).astype(float)
    return np.repeat(occupied[:, None], fsteps, axis=1)


def time_of_week_slot(when: pd.DatetimeIndex, *, timezone: str, freq: str) -> np.ndarray:
    """The bin of the local week (0 = Monday 00:00) each timestamp falls in."""
    local = when.tz_convert(timezone)
    minutes = local.day_of_week * 1440 + local.hour * 60 + local.minute
    return np.asarray(minutes // (pd.Timedelta(freq).total_seconds() // 60), dtype=int)


class TimeOfWeekProfile:
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
    """

    def __init__(self, *, timezone: str, freq: str):
        self.timezone = timezone
        self.freq = freq

    def _target_slots(self, anchors: pd.DatetimeIndex, fsteps: int) -> np.ndarray:
        step = pd.Timedelta(self.freq)
        return np.column_stack(
            [
                time_of_week_slot(anchors + h * step, timezone=self.timezone, freq=self.freq)
                for h in range(1, fsteps + 1)
            ]
        )

    def fit(self, anchors: pd.DatetimeIndex, labels: np.ndarray) -> TimeOfWeekProfile:
        """Learn from windows anchored at ``anchors`` with 0/1 ``labels`` (n, fsteps)."""
        slots = self._target_slots(anchors, labels.shape[1])
        self.share_ = pd.Series(labels.ravel().astype(float)).groupby(slots.ravel()).mean()
        self.overall_ = float(labels.mean()) if labels.size else 0.0
        return self

    def predict_proba(self, anchors: pd.DatetimeIndex, fsteps: int) -> np.ndarray:
        """Occupied share at each target time: an array (n, fsteps)."""
        slots = self._target_slots(anchors, fsteps)
        shares = self.share_.reindex(slots.ravel()).fillna(self.overall_).to_numpy()
        return shares.reshape(slots.shape)
