"""The sensor types of a building and what a plausible reading of each looks like.

A sensor id is any string of 1 to :data:`MAX_ID_LENGTH` printable characters; its type comes
from the building registry. The gateway's ids (four dash-separated number groups and a type
letter, e.g. ``8514-294-220-250-m``) name their type by their letter, which is the fallback for
such an id that the registry does not list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class SensorType:
    """One kind of sensor: its unit, plausible value range (inclusive) and signal model.

    ``letter`` is the gateway's id letter ("" for types the gateway does not know);
    ``max_gap`` the longest silence before the sensor counts as offline (a pandas duration
    such as ``"30min"``; None: 72 h for step signals, 30 min for linear ones).
    """

    name: str
    letter: str
    unit: str
    min_value: float
    max_value: float
    # "step" holds the last value until the next observation (state sensors, motion);
    # "linear" interpolates between observations (continuous sensors).
    signal_model: str
    max_gap: str | None = None


SENSOR_TYPES: dict[str, SensorType] = {
    t.name: t
    for t in (
        SensorType("motion", "m", "state (0 = no motion, 1 = motion)", 0.0, 1.0, "step"),
        SensorType("temperature", "t", "degrees Celsius", -30.0, 60.0, "linear"),
        SensorType("humidity", "h", "percent relative humidity", 0.0, 100.0, "linear"),
        SensorType("luminosity", "l", "lux", 0.0, 100_000.0, "linear"),
        SensorType("co2", "", "ppm", 0.0, 10_000.0, "linear"),
        SensorType("contact", "", "state (0 = closed, 1 = open)", 0.0, 1.0, "step"),
        SensorType("people_count", "", "people", 0.0, 10_000.0, "step"),
        SensorType("sound_level", "", "dB", 0.0, 200.0, "linear"),
    )
}
TYPE_BY_LETTER: dict[str, str] = {t.letter: t.name for t in SENSOR_TYPES.values() if t.letter}
# State sensors report states, not a scale: anything between them is a broken reading.
ALLOWED_STATES: dict[str, tuple[float, ...]] = {"motion": (0.0, 1.0), "contact": (0.0, 1.0)}
SIGNAL_MODELS = ("step", "linear")

# Four dash-separated number groups, then the type letter.
SENSOR_ID_PATTERN = r"^[0-9]{1,6}-[0-9]{1,6}-[0-9]{1,6}-[0-9]{1,6}-[mthl]$"
_SENSOR_ID_RE = re.compile(SENSOR_ID_PATTERN)
MAX_ID_LENGTH = 200
# Control characters (C0, DEL, C1) and the line and paragraph separators: not printable.
_UNPRINTABLE_PATTERN = r"[\x{0}-\x{1f}\x{7f}-\x{9f}\x{2028}\x{2029}]"
_UNPRINTABLE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_gateway_id(sensor_id: str) -> bool:
    """Whether ``sensor_id`` has the gateway's shape (see module docstring)."""
    return bool(_SENSOR_ID_RE.match(sensor_id))


def sensor_id_problem(sensor_id: str) -> str | None:
    """Why ``sensor_id`` is not a sensor id, or None if it is one."""
    if not sensor_id.strip():
        return "empty after trimming whitespace"
    if len(sensor_id) > MAX_ID_LENGTH:
        return f"{len(sensor_id)} characters, at most {MAX_ID_LENGTH} allowed"
    if _UNPRINTABLE_RE.search(sensor_id):
        return "contains a control character"
    return None


def is_valid_sensor_id(sensor_id: str) -> bool:
    """Whether ``sensor_id`` is a sensor id: 1..200 printable characters, not only blanks."""
    return sensor_id_problem(sensor_id) is None


def valid_sensor_ids(sensor_ids: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Vectorised :func:`is_valid_sensor_id` (false for nulls)."""
    ok = pc.and_(
        pc.and_(
            pc.not_equal(pc.utf8_trim_whitespace(sensor_ids), ""),
            pc.less_equal(pc.utf8_length(sensor_ids), MAX_ID_LENGTH),
        ),
        pc.invert(pc.match_substring_regex(sensor_ids, _UNPRINTABLE_PATTERN)),
    )
    return pc.fill_null(ok, False)


def sensor_type_of(sensor_id: str) -> str:
    """The type name (``motion``, ``temperature``, ...) from a gateway id's last letter."""
    if not is_gateway_id(sensor_id):
        raise ValueError(
            f"sensor id {sensor_id!r} does not have the gateway's shape "
            "NNNN-NNN-NNN-NNN-x with x one of m, t, h, l; unregistered, it has no type"
        )
    return TYPE_BY_LETTER[sensor_id[-1]]


@dataclass(frozen=True)
class SensorCatalog:
    """The types a building knows and each registered sensor's type.

    ``types`` are the built-in :data:`SENSOR_TYPES` plus the registry's declared ones;
    ``type_by_id`` the registry's sensors. An unregistered id of the gateway's shape takes the
    type its letter names; any other unregistered id has no type (null).
    """

    types: Mapping[str, SensorType] = field(default_factory=lambda: dict(SENSOR_TYPES))
    type_by_id: Mapping[str, str] = field(default_factory=dict)

    def type_names(self, sensor_ids: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Each id's type name (string; null where it has none)."""
        ids = sensor_ids.combine_chunks() if isinstance(sensor_ids, pa.ChunkedArray) else sensor_ids
        registered = pa.array(list(self.type_by_id), pa.string())
        by_registry = pc.take(
            pa.array(list(self.type_by_id.values()), pa.string()),
            pc.index_in(ids, value_set=registered),
        )
        letters = list(TYPE_BY_LETTER)
        by_letter = pc.take(
            pa.array([TYPE_BY_LETTER[letter] for letter in letters], pa.string()),
            pc.index_in(pc.utf8_slice_codeunits(ids, -1), value_set=pa.array(letters)),
        )
        gateway = pc.fill_null(pc.match_substring_regex(ids, SENSOR_ID_PATTERN), False)
        fallback = pc.if_else(gateway, by_letter, pa.scalar(None, pa.string()))
        return pc.coalesce(by_registry, fallback)

    def type_name(self, sensor_id: str) -> str | None:
        """One id's type name, or None."""
        return self.type_names(pa.array([sensor_id], pa.string()))[0].as_py()


def parse_sensor_types(entries: list[dict], where: str) -> dict[str, SensorType]:
    """The ``sensor_types:`` entries of a registry (``name``, ``signal_model``, ``unit``,
    ``min_value``, ``max_value``, ``max_gap``), each checked; a ValueError names the entry."""
    declared: dict[str, SensorType] = {}
    for entry in entries or []:
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: sensor_types entry {entry!r} is not a mapping")
        missing = [
            k for k in ("name", "signal_model", "unit", "min_value", "max_value") if k not in entry
        ]
        if missing:
            raise ValueError(f"{where}: sensor type {entry!r} lacks {missing}")
        name = str(entry["name"])
        if name in SENSOR_TYPES or name in declared:
            raise ValueError(f"{where}: sensor type {name!r} is already defined")
        if entry["signal_model"] not in SIGNAL_MODELS:
            raise ValueError(
                f"{where}: sensor type {name!r} has signal_model {entry['signal_model']!r}; "
                f"expected one of {list(SIGNAL_MODELS)}"
            )
        low, high = float(entry["min_value"]), float(entry["max_value"])
        if not low <= high:
            raise ValueError(
                f"{where}: sensor type {name!r} has min_value {low} > max_value {high}"
            )
        max_gap = entry.get("max_gap")
        declared[name] = SensorType(
            name,
            "",
            str(entry["unit"]),
            low,
            high,
            entry["signal_model"],
            None if max_gap is None else str(max_gap),
        )
    return declared
