"""Rolling forecasts: every bin's forecast of the next bins, from the rooms' trained models.

``occupancy_forecasts`` stores one forecast a day (after the day's last complete window); a
controller decides every bin. These are the same forecasts made at every bin's end, with the
same windows (``room_windows``) and the same stored models (``occupancy_models``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar
from snuk_assets.transforms.models.blobs import load_model
from snuk_assets.transforms.models.training import positive_proba
from snuk_assets.transforms.windows import model_windows


def rolling_forecasts(
    rooms: pd.DataFrame,
    models: pd.DataFrame,
    *,
    room_ids: list[str],
    anchors: pd.DatetimeIndex,
    freq: str,
    timezone: str,
    horizons: int,
    holidays: HolidayCalendar = BERLIN,
) -> tuple[np.ndarray, dict[str, str]]:
    """Per room and anchor bin, the probability of occupancy ``1 .. horizons`` bins later.

    Parameters
    ----------
    rooms : pandas.DataFrame
        ``room_series`` rows reaching far enough before the first anchor for the models' lags.
    models : pandas.DataFrame
        One trained ``occupancy_models`` row per room (``room_id``, ``model``,
        ``feature_names``, ``horizons``).
    room_ids, anchors : list of str, DatetimeIndex
        The output's rows and columns.
    holidays : HolidayCalendar
        The building's public holidays, for the ``working_day`` feature (default: Berlin's).

    Returns
    -------
    (numpy.ndarray, dict)
        Probabilities shaped (rooms, anchors, horizons), NaN where a room has no model or the
        anchor no complete window; and per room without any forecast, why.
    """
    proba = np.full((len(room_ids), len(anchors), horizons), np.nan)
    why: dict[str, str] = {}
    by_room = dict(tuple(rooms.groupby("room_id", sort=False)))
    model_of = {str(m.room_id): m for m in models.itertuples()}
    for row, room_id in enumerate(room_ids):
        model_row = model_of.get(room_id)
        room = by_room.get(room_id)
        if model_row is None:
            why[room_id] = "no trained model"
            continue
        if room is None or room.empty:
            why[room_id] = "no room_series rows"
            continue
        windows = model_windows(
            room,
            model_row.feature_names,
            freq=freq,
            timezone=timezone,
            anchors=anchors,
            holidays=holidays,
        )
        features = windows.features
        if features.empty or any(f not in features.columns for f in model_row.feature_names):
            why[room_id] = "no complete feature window"
            continue
        predicted = positive_proba(
            load_model(model_row.model), features[list(model_row.feature_names)]
        )
        steps = min(horizons, predicted.shape[1])
        positions = anchors.get_indexer(features.index)
        proba[row, positions, :steps] = predicted[:, :steps]
    return proba, why
