"""The building registry: floors, rooms and sensors of one building, read from its YAML file.

The YAML under ``resources/buildings/`` is the single source of truth for which sensors exist
and where they are; the pipeline and the simulator both load it through :func:`load_registry`.
A portfolio is a folder of registries, one file per building named after its ``building_id``
(:func:`registry_files`, :func:`load_building_registry`).

A registry file is parsed once per content (:func:`_registry_document`, keyed by its path and
its bytes, not its modification time, whose ticks are coarser than a quick rewrite): the stages
ask for a building's registry many times a run (its lakehouse scope, its sensors, its time
zone), and PyYAML's pure-Python loader took 57 ms for the reference office (4 ms parsed once,
with the C loader where PyYAML has it). The validation runs on every load, on the cached
document, which it only reads, so each caller gets frames of its own.
"""

from __future__ import annotations

import functools
import os
import pathlib
from dataclasses import dataclass, field

import pandas as pd
import yaml

from snuk_assets.building_ids import building_id_problem
from snuk_assets.sensor_types import (
    SENSOR_TYPES,
    TYPE_BY_LETTER,
    SensorCatalog,
    SensorType,
    is_gateway_id,
    parse_sensor_types,
    sensor_id_problem,
)
from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar, holiday_calendar_problem


@dataclass(frozen=True)
class BuildingRegistry:
    """One building as tables.

    Attributes
    ----------
    building_id, name : str
        Stable id and display name of the building.
    timezone : str
        IANA time zone of the building, e.g. ``Europe/Berlin``.
    country, subdivision : str, str or None
        Where the building is, for its public holidays (``holiday_calendar``): an ISO 3166-1
        alpha-2 code (``DE``, ``US``, ``GB``) and the ISO 3166-2 suffix of its state or
        province (``BE`` for Berlin), or None for the nationwide holidays only. A registry
        without ``country`` is in Berlin (``DE`` / ``BE``).
    floors : pandas.DataFrame
        Columns ``floor`` (int), ``name``.
    rooms : pandas.DataFrame
        Columns ``room_id`` (str), ``floor`` (int), ``name``, ``kind``, ``area_m2`` (float, m2),
        ``workplaces`` (Int64, null where the YAML gives none).
    sensors : pandas.DataFrame
        Columns ``sensor_id`` (str), ``sensor_type`` (a key of ``sensor_types``), ``room_id``
        (str), ``floor`` (int, the room's floor).
    sensor_types : dict of str to SensorType
        The built-in types plus those the registry declares under ``sensor_types:``.
    """

    building_id: str
    name: str
    timezone: str
    floors: pd.DataFrame
    rooms: pd.DataFrame
    sensors: pd.DataFrame
    sensor_types: dict[str, SensorType] = field(default_factory=lambda: dict(SENSOR_TYPES))
    country: str = BERLIN.country
    subdivision: str | None = BERLIN.subdivision

    def holiday_calendar(self) -> HolidayCalendar:
        """The building's public holidays (its ``country`` and ``subdivision``)."""
        return HolidayCalendar(self.country, self.subdivision)

    def catalog(self) -> SensorCatalog:
        """The building's types and each sensor's type (``SensorCatalog``)."""
        return SensorCatalog(
            types=self.sensor_types,
            type_by_id=dict(
                zip(self.sensors["sensor_id"], self.sensors["sensor_type"], strict=True)
            ),
        )

    def sensor_ids(self) -> frozenset[str]:
        """All sensor ids of the building."""
        return frozenset(self.sensors["sensor_id"])

    def room_kinds(self) -> dict[str, str]:
        """Each room id's kind (``office``, ``meeting``, ...)."""
        return dict(zip(self.rooms["room_id"], self.rooms["kind"], strict=True))


def default_registry_path() -> pathlib.Path:
    """The reference office registry shipped beside the code."""
    return pathlib.Path(__file__).resolve().parents[1] / "resources/buildings/reference_office.yaml"


def load_registry(path: str | os.PathLike) -> BuildingRegistry:
    """Read and validate a building registry YAML.

    Parameters
    ----------
    path : str or path-like
        The registry file (schema: see ``resources/buildings/reference_office.yaml``), or a
        Brick model in Turtle (``.ttl``: ``snuk_assets.brick``).

    Returns
    -------
    BuildingRegistry

    Raises
    ------
    ValueError
        If a key is missing, an id is duplicated, a room or floor is unknown, a sensor id is
        not 1..200 printable characters, a type is unknown or badly declared, or a gateway-shaped
        id's type letter contradicts its ``type``, or ``country`` / ``subdivision`` name no
        holiday calendar. The message names the file and the entry.
    """
    path = pathlib.Path(path)
    document = _registry_document(path.resolve(), path.read_bytes())
    return registry_from_document(document, str(path))


@functools.lru_cache(maxsize=1024)
def _registry_document(path: pathlib.Path, content: bytes) -> object:
    """The parsed registry file ``path`` whose bytes are ``content``. Callers only read it."""
    if path.suffix.lower() == ".ttl":  # a Brick model
        from snuk_assets.brick import brick_document

        return brick_document(path)
    return yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


REGISTRY_SUFFIXES = (".yaml", ".yml", ".ttl")


def registry_files(folder: str | os.PathLike) -> dict[str, pathlib.Path]:
    """The registries of a portfolio folder by building id, sorted: ``<building_id>.yaml``,
    ``.yml`` or ``.ttl`` (Brick) each.

    Dot-files (an editor's or an upload's temporary file) and files of other kinds (a README)
    are not registries and are left out.

    Raises
    ------
    ValueError
        If ``folder`` is not a folder, a registry's file name is not a building id
        (``building_ids.BUILDING_ID_PATTERN``), or two files name the same building.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ValueError(
            f"registries folder {folder} is not a folder: create it, or set SNUK_REGISTRIES to "
            "the folder holding one registry file per building"
        )
    files: dict[str, pathlib.Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in REGISTRY_SUFFIXES:
            continue
        if not path.is_file():
            continue
        building_id = path.name[: -len(path.suffix)]
        if problem := building_id_problem(building_id):
            raise ValueError(f"{path}: a registry's file name is its building id; {problem}")
        if building_id in files:
            raise ValueError(
                f"{files[building_id]} and {path} both hold building {building_id!r}: keep one"
            )
        files[building_id] = path
    return dict(sorted(files.items()))  # by id: "b" before "b-annex", whose file sorts first


def load_building_registry(path: str | os.PathLike, building_id: str) -> BuildingRegistry:
    """A portfolio folder's registry: ``load_registry``, and its ``building_id`` must be the
    file's name, so the id of its landing folder, partitions and MQTT topics is one.

    Raises
    ------
    ValueError
        As ``load_registry``, or if the registry names another building than its file.
    """
    registry = load_registry(path)
    if registry.building_id != building_id:
        raise ValueError(
            f"{path}: building_id {registry.building_id!r} is not the file's name "
            f"{building_id!r}: in a registries folder a file is named after its building; "
            "rename the file or change its building_id"
        )
    return registry


def registry_from_document(document: object, where: str) -> BuildingRegistry:
    """A registry from its parsed YAML (or an equivalent dict); ``where`` names it in errors."""
    if not isinstance(document, dict):
        raise ValueError(f"{where}: expected a mapping with building_id, floors, rooms, sensors")
    floors = _floors_frame(_field(document, "floors", where), where)
    rooms = _rooms_frame(_field(document, "rooms", where), set(floors["floor"]), where)
    sensor_types = {**SENSOR_TYPES, **parse_sensor_types(document.get("sensor_types"), where)}
    sensors = _sensors_frame(_field(document, "sensors", where), rooms, sensor_types, where)
    country, subdivision = _holiday_region(document, where)
    return BuildingRegistry(
        building_id=str(_field(document, "building_id", where)),
        name=str(_field(document, "name", where)),
        timezone=str(_field(document, "timezone", where)),
        floors=floors,
        rooms=rooms,
        sensors=sensors,
        sensor_types=sensor_types,
        country=country,
        subdivision=subdivision,
    )


def _holiday_region(document: dict, where: str) -> tuple[str, str | None]:
    """``country`` and ``subdivision``: Berlin's without a country; a country alone has its
    nationwide holidays only."""
    if "country" not in document:
        country, subdivision = BERLIN.country, document.get("subdivision", BERLIN.subdivision)
    else:
        country, subdivision = document["country"], document.get("subdivision")
    country = str(country)
    subdivision = None if subdivision is None else str(subdivision)
    for field_name, problem in (
        ("country", holiday_calendar_problem(country, None)),
        ("subdivision", holiday_calendar_problem(country, subdivision)),
    ):
        if problem:
            raise ValueError(f"{where}: field {field_name!r}: {problem}")
    return country, subdivision


def _field(entry: dict, key: str, where: str):
    """``entry[key]``, or a ValueError naming the file and the entry that lacks it."""
    if not isinstance(entry, dict) or key not in entry:
        raise ValueError(f"{where}: missing key {key!r} in entry {entry!r}")
    return entry[key]


def _floors_frame(entries: list[dict], where: str) -> pd.DataFrame:
    floors = pd.DataFrame(
        {
            "floor": [int(_field(e, "floor", where)) for e in entries],
            "name": [str(_field(e, "name", where)) for e in entries],
        }
    )
    _require_unique(floors["floor"], "floor", where)
    return floors


def _rooms_frame(entries: list[dict], known_floors: set[int], where: str) -> pd.DataFrame:
    columns = {"room_id": str, "floor": int, "name": str, "kind": str, "area_m2": float}
    # Room ids become strings even where the YAML forgot to quote them.
    rooms = pd.DataFrame(
        {key: [cast(_field(e, key, where)) for e in entries] for key, cast in columns.items()}
    )
    # Optional: how many people work there (snuk_assets/privacy.py; a default by kind if absent).
    rooms["workplaces"] = pd.array(
        [None if e.get("workplaces") is None else int(e["workplaces"]) for e in entries],
        dtype="Int64",
    )
    _require_unique(rooms["room_id"], "room_id", where)
    for room in rooms.itertuples():
        if room.floor not in known_floors:
            raise ValueError(
                f"{where}: room {room.room_id!r} is on floor {room.floor}, which is not listed "
                f"under floors ({sorted(known_floors)})"
            )
    return rooms


def _sensors_frame(
    entries: list[dict], rooms: pd.DataFrame, sensor_types: dict[str, SensorType], where: str
) -> pd.DataFrame:
    floor_of_room = dict(zip(rooms["room_id"], rooms["floor"], strict=True))
    records = []
    for entry in entries:
        sensor_id = str(_field(entry, "sensor_id", where))
        room_id = str(_field(entry, "room_id", where))
        type_name = _field(entry, "type", where)
        problem = sensor_id_problem(sensor_id)
        if problem:
            raise ValueError(f"{where}: sensor id {sensor_id!r} is not a sensor id: {problem}")
        if type_name not in sensor_types:
            raise ValueError(
                f"{where}: sensor {sensor_id!r} has unknown type {type_name!r}; "
                f"expected one of {sorted(sensor_types)} or a type declared under sensor_types"
            )
        if is_gateway_id(sensor_id) and TYPE_BY_LETTER[sensor_id[-1]] != type_name:
            raise ValueError(
                f"{where}: sensor {sensor_id!r} is listed as {type_name!r} but its letter "
                f"{sensor_id[-1]!r} means {TYPE_BY_LETTER[sensor_id[-1]]!r}"
            )
        if room_id not in floor_of_room:
            raise ValueError(f"{where}: sensor {sensor_id!r} is in unknown room {room_id!r}")
        records.append((sensor_id, type_name, room_id, floor_of_room[room_id]))
    sensors = pd.DataFrame.from_records(
        records, columns=["sensor_id", "sensor_type", "room_id", "floor"]
    ).astype({"floor": "int64"})
    _require_unique(sensors["sensor_id"], "sensor_id", where)
    return sensors


def _require_unique(values: pd.Series, what: str, where: str) -> None:
    duplicated = values[values.duplicated()]
    if not duplicated.empty:
        raise ValueError(f"{where}: {what} {duplicated.iloc[0]!r} is listed more than once")
