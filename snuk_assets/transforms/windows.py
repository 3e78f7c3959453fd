"""Room time series to supervised windows: lagged features, future targets, calendar features.

A window anchored at bin ``t`` holds the values of ``t-bsteps+1 .. t`` as features and those of
``t+1 .. t+fsteps`` as targets. A window that needs a missing bin (offline sensor, gap in the
grid) is left out, never imputed, so nothing is bridged across an offline period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar
from snuk_assets.transforms.rooms import WINDOWED_COLUMNS

CALENDAR_COLUMNS = ["time_of_day_sin", "time_of_day_cos", "day_of_week", "working_day"]


def lag_name(column: str, lag: int) -> str:
    """``occupancy_t-2``, ``occupancy_t``, ``occupancy_t+1``: the column of ``column`` at t+lag."""
    return f"{column}_t" if lag == 0 else f"{column}_t{lag:+d}"


def split_lag(name: str) -> tuple[str, int] | None:
    """``occupancy_t-2`` -> ``("occupancy", 2)``, ``idle_minutes_t`` -> ``("idle_minutes", 0)``.

    ``None`` for a column that is not a lag: a label (``occupied_t+1``), a calendar column.
    """
    head, _, lag = name.rpartition("_t")
    if not head or not (lag == "" or (lag.startswith("-") and lag[1:].isdigit())):
        return None
    return head, -int(lag) if lag else 0


def lags_by_signal(names) -> dict[str, list[tuple[int, str]]]:
    """Per signal among the lag columns ``names``, its ``(lag, name)`` pairs, oldest first.

    ``["occupancy_t", "working_day", "occupancy_t-1"]`` ->
    ``{"occupancy": [(1, "occupancy_t-1"), (0, "occupancy_t")]}``; names that are not lags
    are left out.
    """
    lags: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        split = split_lag(name)
        if split is not None:
            lags.setdefault(split[0], []).append((split[1], name))
    return {signal: sorted(pairs, reverse=True) for signal, pairs in lags.items()}


def lagged_signals(names) -> dict[str, int]:
    """Per signal among the lag columns ``names``, how many bins back its lags reach (``bsteps``).

    ``["occupancy_t-1", "occupancy_t", "working_day"]`` -> ``{"occupancy": 2}``.
    """
    return {signal: pairs[0][0] + 1 for signal, pairs in lags_by_signal(names).items()}


def label_name(step: int) -> str:
    """``occupied_t+1``: whether the room is occupied ``step`` bins after the anchor."""
    return f"occupied_t+{step}"


# The motion label beside the estimate's (room_series ``occupancy`` above 0), for comparison.
MOTION_LABEL_PREFIX = "motion_label_t+"


def motion_label_name(step: int) -> str:
    """``motion_label_t+1``: the motion label (``occupancy > 0``) ``step`` bins ahead."""
    return f"{MOTION_LABEL_PREFIX}{step}"


def shifted_table(values: pd.Series, *, bsteps: int, fsteps: int) -> pd.DataFrame:
    """The series beside its shifts: columns ``t-(bsteps-1)`` .. ``t`` .. ``t+fsteps``.

    Row ``t`` holds ``values`` at ``t-bsteps+1 .. t+fsteps`` (NaN beyond the series' ends),
    by position, so ``values`` must be on a regular grid without holes.
    """
    return pd.DataFrame(
        {
            ("t" if lag == 0 else f"t{lag:+d}"): values.shift(-lag)
            for lag in range(-(bsteps - 1), fsteps + 1)
        },
        index=values.index,
    )


@dataclass(frozen=True)
class MLWindows:
    """Complete windows: ``features`` and ``targets`` share their index (the anchor bin)."""

    features: pd.DataFrame
    targets: pd.DataFrame
    dropped: int  # anchors left out because a feature or target bin was missing


def tseries_to_ml(
    df: pd.DataFrame,
    *,
    bsteps: int,
    fsteps: int,
    target: str = "occupancy",
    freq: str | None = None,
    anchors: pd.Index | None = None,
    optional: Iterable[str] = (),
) -> MLWindows:
    """Turn a regular multivariate time series into supervised learning windows.

    For the series ``x = 0, 1, 2, 3, 4`` with ``bsteps=3, fsteps=2`` the shifted table is::

        t-2  t-1  t  | t+1  t+2
        nan  nan  0  |  1    2
        nan   0   1  |  2    3
         0    1   2  |  3    4

    and only the complete window (anchored at ``t = 2``) is kept.

    Parameters
    ----------
    df : pandas.DataFrame
        Indexed by ``bin_start`` (sorted); every column is a feature signal, in its own unit.
    bsteps : int
        Bins per feature window (``x[t-bsteps+1] .. x[t]``), at least 1.
    fsteps : int
        Future bins per target window (``x[t+1] .. x[t+fsteps]``), 0 for features only.
    target : str, default "occupancy"
        The column whose future values are the targets.
    freq : str, optional
        Bin width, e.g. ``"5min"``: the index is first completed to the full grid, so missing
        bins count as missing. Without it the rows are taken as consecutive.
    anchors : pandas.Index, optional
        Only windows anchored at these bins are returned and counted (default: every bin).
    optional : iterable of str, optional
        Columns of ``df`` whose lags are carried (NaN where missing) but do not make a window
        incomplete.

    Returns
    -------
    MLWindows
        ``features`` with columns ``<column>_t-<k>`` .. ``<column>_t`` per column of ``df``
        (in ``df``'s order, oldest lag first), ``targets`` with columns ``<target>_t+1`` ..
        ``<target>_t+<fsteps>``, both indexed by the anchor bin, rows with any missing value
        left out; ``dropped`` is how many anchors were left out.
    """
    if bsteps < 1 or fsteps < 0:
        raise ValueError(f"need bsteps >= 1 and fsteps >= 0, got {bsteps=}, {fsteps=}")
    if target not in df.columns and fsteps:
        raise ValueError(f"target column {target!r} not in {list(df.columns)}")
    if freq is not None and len(df):
        df = df.reindex(
            pd.date_range(df.index.min(), df.index.max(), freq=freq, name=df.index.name)
        )
    features = pd.concat(
        {
            lag_name(column, lag): df[column].shift(-lag)
            for column in df.columns
            for lag in range(-(bsteps - 1), 1)
        },
        axis=1,
    )
    targets = (
        pd.concat(
            {lag_name(target, step): df[target].shift(-step) for step in range(1, fsteps + 1)},
            axis=1,
        )
        if fsteps
        else pd.DataFrame(index=df.index)
    )
    if anchors is not None:
        features = features[features.index.isin(anchors)]
        targets = targets.loc[features.index]
    optional = set(optional)
    required = [
        lag_name(column, lag)
        for column in df.columns
        if column not in optional
        for lag in range(-(bsteps - 1), 1)
    ]
    complete = features[required].notna().all(axis=1) & targets.notna().all(axis=1)
    return MLWindows(features[complete], targets[complete], int((~complete).sum()))


def calendar_features(
    bin_start: pd.Series | pd.DatetimeIndex,
    *,
    timezone: str,
    holidays: HolidayCalendar = BERLIN,
) -> pd.DataFrame:
    """Time of day, day of week and working day of each bin in the building's local time.

    Returns ``time_of_day_sin`` / ``time_of_day_cos`` (the local clock on the unit circle, so
    23:55 is next to 00:00), ``day_of_week`` (0 = Monday) and ``working_day`` (1.0 Monday to
    Friday except the public holidays of ``holidays``, the building's country and subdivision;
    default: Berlin's), as float64, in the input's order.
    """
    local = pd.DatetimeIndex(bin_start).tz_convert(timezone)
    holiday_dates = holidays.dates(set(local.year))
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    angle = 2 * np.pi * np.asarray(seconds) / 86_400
    dates = local.date
    return pd.DataFrame(
        {
            "time_of_day_sin": np.sin(angle),
            "time_of_day_cos": np.cos(angle),
            "day_of_week": np.asarray(local.day_of_week, dtype="float64"),
            "working_day": [float(d.weekday() < 5 and d not in holiday_dates) for d in dates],
        }
    )


def room_windows(
    room: pd.DataFrame,
    *,
    signals: list[str],
    bsteps: int,
    fsteps: int,
    freq: str,
    timezone: str,
    anchors: pd.Index | None = None,
    optional_signals: Sequence[str] = (),
    holidays: HolidayCalendar = BERLIN,
    label_column: str | None = None,
) -> MLWindows:
    """One room's windows with calendar features and occupied labels.

    ``room`` has ``bin_start`` and the ``signals`` (and ``optional_signals``) columns (e.g. of
    ``room_series``). The features are the lags of ``signals``, then those of
    ``optional_signals`` (NaN where missing: they do not make a window incomplete), then
    ``CALENDAR_COLUMNS`` of the anchor; the targets are ``occupied_t+1`` ..
    ``occupied_t+<fsteps>`` (1 where occupancy > 0, else 0). ``holidays``: the building's
    (``calendar_features``).

    With ``label_column`` (e.g. ``estimate``, a probability 0..1 never lagged as a feature),
    the targets ``occupied_t+k`` are 1 where it is at least 0.5 (a window without it ahead is
    left out), followed by the motion label's as ``motion_label_t+k`` (occupancy > 0).
    """
    columns = [*signals, *(c for c in optional_signals if c not in signals)]
    series = room.set_index("bin_start")[columns].sort_index()
    windows = tseries_to_ml(
        series,
        bsteps=bsteps,
        fsteps=fsteps,
        target="occupancy",
        freq=freq,
        anchors=anchors,
        optional=optional_signals,
    )
    labels = (windows.targets > 0).astype("int64")
    labels.columns = [label_name(step) for step in range(1, fsteps + 1)]
    dropped = windows.dropped
    if label_column is not None and fsteps:
        labels.columns = [motion_label_name(step) for step in range(1, fsteps + 1)]
        ahead = _ahead(room.set_index("bin_start")[label_column].sort_index(), fsteps, freq)
        ahead = ahead.reindex(windows.features.index)
        complete = ahead.notna().all(axis=1)
        dropped += int((~complete).sum())
        estimated = (ahead[complete] >= 0.5).astype("int64")
        estimated.columns = [label_name(step) for step in range(1, fsteps + 1)]
        labels = pd.concat([estimated, labels[complete]], axis=1)
        windows = MLWindows(windows.features[complete], labels, dropped)
    calendar = calendar_features(windows.features.index, timezone=timezone, holidays=holidays)
    calendar.index = windows.features.index
    return MLWindows(pd.concat([windows.features, calendar], axis=1), labels, dropped)


def _ahead(values: pd.Series, fsteps: int, freq: str) -> pd.DataFrame:
    """``values`` at ``t+1`` .. ``t+fsteps`` for each bin ``t`` of the full grid."""
    if len(values):
        grid = pd.date_range(values.index.min(), values.index.max(), freq=freq)
        values = values.reindex(grid)
    return pd.concat({step: values.shift(-step) for step in range(1, fsteps + 1)}, axis=1)


def model_signals(feature_names) -> tuple[list[str], int]:
    """The room_series columns a stored model's ``feature_names`` lag, and how many bins back:
    the ``WINDOWED_COLUMNS`` in their order, then further types (``co2``, ...) in the model's."""
    reach = lagged_signals(feature_names)
    further = [signal for signal in reach if signal not in WINDOWED_COLUMNS]
    return [column for column in WINDOWED_COLUMNS if column in reach] + further, max(reach.values())


def model_windows(
    room: pd.DataFrame,
    feature_names,
    *,
    freq: str,
    timezone: str,
    anchors: pd.Index,
    holidays: HolidayCalendar = BERLIN,
) -> MLWindows:
    """The windows a stored model reads (its signals and lags, no labels) at ``anchors``."""
    signals, bsteps = model_signals(feature_names)
    return room_windows(
        room,
        signals=signals,
        bsteps=bsteps,
        fsteps=0,
        freq=freq,
        timezone=timezone,
        anchors=anchors,
        holidays=holidays,
    )
