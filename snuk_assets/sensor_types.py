"""The sensor types of a building and what a plausible reading of each looks like.

A sensor id has the gateway's shape: four dash-separated number groups and a type letter,
e.g. ``8514-294-220-250-m``. The letter names the type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SensorType:
    """One kind of sensor: its id letter, unit and plausible value range (inclusive)."""

    name: str
    letter: str
    unit: str
    min_value: float
    max_value: float
    # "step" holds the last value until the next observation (state sensors, motion);
    # "linear" interpolates between observations (continuous sensors).
    signal_model: str


SENSOR_TYPES: dict[str, SensorType] = {
    t.name: t
    for t in (
        SensorType("motion", "m", "state (0 = no motion, 1 = motion)", 0.0, 1.0, "step"),
        SensorType("temperature", "t", "degrees Celsius", -30.0, 60.0, "linear"),
        SensorType("humidity", "h", "percent relative humidity", 0.0, 100.0, "linear"),
        SensorType("luminosity", "l", "lux", 0.0, 100_000.0, "linear"),
    )
}
TYPE_BY_LETTER: dict[str, str] = {t.letter: t.name for t in SENSOR_TYPES.values()}

# Four dash-separated number groups, then the type letter.
SENSOR_ID_PATTERN = r"^[0-9]{1,6}-[0-9]{1,6}-[0-9]{1,6}-[0-9]{1,6}-[mthl]$"
_SENSOR_ID_RE = re.compile(SENSOR_ID_PATTERN)


def is_valid_sensor_id(sensor_id: str) -> bool:
    """Whether ``sensor_id`` has the gateway's shape (see module docstring)."""
    return bool(_SENSOR_ID_RE.match(sensor_id))


def sensor_type_of(sensor_id: str) -> str:
    """The type name (``motion``, ``temperature``, ...) from a sensor id's last letter."""
    if not is_valid_sensor_id(sensor_id):
        raise ValueError(
            f"sensor id {sensor_id!r} does not have the gateway's shape "
            "NNNN-NNN-NNN-NNN-x with x one of m, t, h, l"
        )
    return TYPE_BY_LETTER[sensor_id[-1]]
