"""The occupancy estimator's inputs, per room and bin: levels and changes of every sensor.

Apart from the estimator (``occupancy_estimate``, scikit-learn) so that what only names or
computes the inputs (``counter_taught``, the definitions through the estimate stage) loads
without scikit-learn: it is 2 s of every process start (issue 19).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
