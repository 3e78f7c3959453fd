"""Room climate and light of one simulated UTC day, minute by minute.

Temperature follows the outdoor weather and the sun, and rises with the people in the room;
humidity rises with people; luminosity is daylight through the windows plus the lamps, which
are on while the room is used and, in some rooms, are left on after the last person leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

MINUTES = 1440
LATITUDE_DEG, LONGITUDE_DEG = 52.52, 13.40  # Berlin
WINDOW_LUX = {"corridor": 150.0, "storage": 0.0, "kitchen": 700.0}  # others: DEFAULT_WINDOW_LUX
DEFAULT_WINDOW_LUX = 1200.0
LAMP_LUX = 450.0
LIGHTS_HOLD_MIN = 10  # presence-detector switch-off delay


@dataclass
class ClimateState:
    """What carries over from one day to the next, per room."""

    heat_zi: np.ndarray  # lfilter state of the people-heat lag, shape (n_rooms, 1)
    moisture_zi: np.ndarray  # same for people-moisture
    sloppiness: np.ndarray  # probability per day of leaving the lights on

    @classmethod
    def initial(cls, n_rooms: int, rng: np.random.Generator) -> ClimateState:
        sloppiness = np.full(n_rooms, 0.03)
        sloppiness[rng.choice(n_rooms, size=min(3, n_rooms), replace=False)] = 0.35
        return cls(np.zeros((n_rooms, 1)), np.zeros((n_rooms, 1)), sloppiness)


def room_climate(
    people_per_min: np.ndarray,
    *,
    area_m2: np.ndarray,
    kinds: np.ndarray,
    day_start_s: int,
    state: ClimateState,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Per-minute temperature (deg C), relative humidity (%) and luminosity (lux) of each room.

    Parameters
    ----------
    people_per_min : numpy.ndarray
        Mean headcount per room (rows) and minute of the UTC day (1440 columns).
    area_m2, kinds : numpy.ndarray
        Room floor area (m2) and kind, one per row.
    day_start_s : int
        Epoch seconds of the day's 00:00 UTC.
    state : ClimateState
        Updated in place so the next day continues smoothly.
    rng : numpy.random.Generator
        Today's weather and lighting habits.

    Returns
    -------
    dict
        ``temperature``, ``humidity``, ``luminosity``: arrays shaped like ``people_per_min``.
    """
    minute_s = day_start_s + 60 * np.arange(MINUTES) + 30
    sun = np.clip(_sin_solar_elevation(minute_s), 0.0, None)
    season = _season(day_start_s)
    outdoor = outdoor_temperature(day_start_s, rng)
    density = people_per_min / area_m2[:, None]
    # First-order lags: a room warms and moistens over tens of minutes, not at once.
    heat, state.heat_zi = lfilter([1 / 40], [1, -(1 - 1 / 40)], density, axis=1, zi=state.heat_zi)
    moist, state.moisture_zi = lfilter(
        [1 / 25], [1, -(1 - 1 / 25)], density, axis=1, zi=state.moisture_zi
    )
    temperature = 21.0 + 0.12 * (outdoor - 12) + 1.2 * sun + np.minimum(30 * heat, 4.0)
    humidity = (
        45 + 8 * season + rng.normal(0, 4) + np.minimum(60 * moist, 15) - 1.5 * (temperature - 21)
    )
    window_lux = np.array([WINDOW_LUX.get(k, DEFAULT_WINDOW_LUX) for k in kinds])
    cloudiness = rng.uniform(0.25, 1.0)
    daylight = window_lux[:, None] * cloudiness * sun[None, :]
    lights = _lights_on(people_per_min > 0, state.sloppiness, rng)
    return {
        "temperature": temperature,
        "humidity": np.clip(humidity, 15, 90),
        "luminosity": daylight + LAMP_LUX * lights,
    }


def _season(day_start_s: int) -> float:
    """+1 in late July, -1 in late January."""
    doy = (day_start_s // 86400 + 4) % 365.25  # day of year, good enough for seasons
    return float(np.sin(2 * np.pi * (doy - 110) / 365.25))


def outdoor_temperature(day_start_s: int, rng: np.random.Generator) -> np.ndarray:
    """Outdoor air temperature (deg C) of each minute of the UTC day starting ``day_start_s``.

    The season, the day's weather (one draw of ``rng``, the first of the day's climate
    stream) and the sun. ``room_climate`` calls it first; the control plant
    (``snuk_assets.control.plant``) replays the same stream to see the same weather.
    """
    minute_s = day_start_s + 60 * np.arange(MINUTES) + 30
    sun = np.clip(_sin_solar_elevation(minute_s), 0.0, None)
    return 9 + 9 * _season(day_start_s) + rng.normal(0, 2.5) + 5 * sun


def _lights_on(used: np.ndarray, sloppiness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lamps follow presence with a hold time; sloppy rooms keep them on until midnight UTC."""
    used_so_far = np.cumsum(used, axis=1)
    held = np.concatenate(
        [
            used_so_far[:, :LIGHTS_HOLD_MIN],
            used_so_far[:, LIGHTS_HOLD_MIN:] - used_so_far[:, :-LIGHTS_HOLD_MIN],
        ],
        axis=1,
    )
    lights = held > 0
    # The night switch-off runs at 00:00 UTC; until then a forgotten lamp stays on.
    forgotten = rng.random(len(sloppiness)) < sloppiness
    last_use = np.where(used.any(axis=1), MINUTES - 1 - np.argmax(used[:, ::-1], axis=1), MINUTES)
    after_last_use = np.arange(MINUTES)[None, :] >= last_use[:, None]
    return lights | (forgotten[:, None] & after_last_use)


def _sin_solar_elevation(epoch_s: np.ndarray) -> np.ndarray:
    """Sine of the sun's elevation over Berlin (simple declination/hour-angle model)."""
    days = epoch_s / 86400.0
    doy = (days + 4) % 365.25
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.25)
    solar_hours = (epoch_s % 86400) / 3600.0 + LONGITUDE_DEG / 15.0
    hour_angle = np.radians(15.0 * (solar_hours - 12.0))
    lat = np.radians(LATITUDE_DEG)
    return np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(
        hour_angle
    )
