"""Control KPIs, per room and UTC day, with BOPTEST's definitions where it has one.

- ``energy_kwh``: electric energy of lighting and HVAC (BOPTEST's ``ener_tot`` is the HVAC
  energy over the test; lamps are ours to switch, so they are counted too, and shown apart as
  ``lighting_kwh`` and ``hvac_kwh``).
- ``discomfort_kh``: BOPTEST's thermal discomfort (``tdis_tot``), the integral of the distance
  of the room temperature from the comfort band, in K h, here counted while the room is
  occupied (weighted by the occupied share of each minute).
- ``miss_minutes``: MissTime of PreHeat (Scott et al., UbiComp 2011): the minutes a room is
  occupied while it is not yet at comfort (outside the band by more than ``TOLERANCE_K``).
- ``dark_occupied_minutes``: the minutes a room is occupied with its lights off.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from snuk_assets.control.plant import J_PER_KWH, MINUTES_PER_DAY

KPI_COLUMNS = [
    "energy_kwh",
    "lighting_kwh",
    "hvac_kwh",
    "discomfort_kh",
    "miss_minutes",
    "dark_occupied_minutes",
    "occupied_minutes",
]
# The thermostat holds the band's edge exactly; rounding must not count as a miss.
TOLERANCE_K = 0.01


def room_day_kpis(
    *,
    room_ids: list[str],
    start: dt.date,
    temperature_c: np.ndarray,
    occupied: np.ndarray,
    lights_on: np.ndarray,
    lighting_j: np.ndarray,
    hvac_electric_j: np.ndarray,
    comfort_band_c: tuple[float, float],
) -> pd.DataFrame:
    """Per room and UTC day, the KPIs of a run of whole days from ``start``.

    Every array is (rooms, minutes): end-of-minute ``temperature_c``, the ``occupied`` share of
    the minute (0..1), ``lights_on`` (bool), the minute's ``lighting_j`` and
    ``hvac_electric_j`` (J). Returns ``date``, ``room_id`` and ``KPI_COLUMNS``.
    """
    low, high = comfort_band_c
    deviation = np.maximum(low - temperature_c, 0) + np.maximum(temperature_c - high, 0)
    per_minute = {
        "lighting_kwh": lighting_j / J_PER_KWH,
        "hvac_kwh": hvac_electric_j / J_PER_KWH,
        "discomfort_kh": occupied * deviation / 60,
        "miss_minutes": occupied * (deviation > TOLERANCE_K),
        "dark_occupied_minutes": occupied * ~lights_on,
        "occupied_minutes": occupied,
    }
    n_rooms, minutes = temperature_c.shape
    days = minutes // MINUTES_PER_DAY
    daily = {
        name: values.reshape(n_rooms, days, MINUTES_PER_DAY).sum(axis=2).ravel()
        for name, values in per_minute.items()
    }
    frame = pd.DataFrame(
        {
            "date": np.tile([start + dt.timedelta(days=d) for d in range(days)], n_rooms),
            "room_id": np.repeat(room_ids, days),
            **daily,
        }
    )
    frame["energy_kwh"] = frame["lighting_kwh"] + frame["hvac_kwh"]
    return frame[["date", "room_id", *KPI_COLUMNS]]


def summarize(kpis: pd.DataFrame, *, by: list[str]) -> pd.DataFrame:
    """Sum the KPIs over days and rooms within each group of ``by`` (e.g. policy, kind)."""
    return kpis.groupby(by, sort=False)[KPI_COLUMNS].sum().reset_index()
