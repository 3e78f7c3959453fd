"""The building registry: the shipped reference office and the errors a broken YAML gives."""

from __future__ import annotations

import pytest

from snuk_assets.registry import default_registry_path, load_registry
from snuk_assets.sensor_types import SENSOR_TYPES

SAMPLE_IDS = [
    "8514-294-220-250-m",
    "7513-133-195-250-m",
    "8514-294-220-250-t",
    "7513-133-195-250-t",
    "7505-277-172-250-m",
    "7573-230-160-250-l",
]


@pytest.fixture(scope="module")
def registry():
    return load_registry(default_registry_path())


def test_reference_office_has_the_documented_shape(registry):
    assert registry.building_id == "snuk-reference-office"
    assert registry.timezone == "Europe/Berlin"
    assert list(registry.floors["floor"]) == [0, 1]
    assert len(registry.rooms) == 36
    assert len(registry.sensors) == 215
    assert len(registry.sensor_ids()) == 215
    assert set(SAMPLE_IDS) <= registry.sensor_ids()
    assert registry.rooms["room_id"].str.fullmatch(r"[0-9]{4}").all()


def test_every_room_has_all_four_sensor_types(registry):
    types_per_room = registry.sensors.groupby("room_id")["sensor_type"].agg(set)
    assert set(types_per_room.index) == set(registry.rooms["room_id"])
    assert all(types == set(SENSOR_TYPES) for types in types_per_room)


def test_sensor_floor_is_its_room_floor(registry):
    merged = registry.sensors.merge(registry.rooms, on="room_id", suffixes=("", "_room"))
    assert (merged["floor"] == merged["floor_room"]).all()
    assert registry.sensors["floor"].dtype == "int64"
    assert registry.rooms["area_m2"].dtype == "float64"


HEADER = """\
building_id: b
name: B
timezone: Europe/Berlin
floors:
  - {floor: 0, name: Ground}
rooms:
  - {room_id: "0001", floor: 0, name: R1, kind: office, area_m2: 20}
sensors:
"""


@pytest.mark.parametrize(
    ("sensors", "expected"),
    [
        (
            '  - {sensor_id: "1-2-3-4-m", room_id: "0001", type: motion}\n'
            '  - {sensor_id: "1-2-3-4-m", room_id: "0001", type: motion}\n',
            "'1-2-3-4-m' is listed more than once",
        ),
        ('  - {sensor_id: "1-2-3-4-m", room_id: "0002", type: motion}\n', "unknown room '0002'"),
        ('  - {sensor_id: "1-2-3-m", room_id: "0001", type: motion}\n', "gateway's shape"),
        ('  - {sensor_id: "1-2-3-4-t", room_id: "0001", type: motion}\n', "means 'temperature'"),
        ('  - {sensor_id: "1-2-3-4-m", room_id: "0001", type: sound}\n', "unknown type 'sound'"),
        ('  - {sensor_id: "1-2-3-4-m", room_id: "0001"}\n', "missing key 'type'"),
    ],
)
def test_broken_registry_names_file_and_entry(tmp_path, sensors, expected):
    path = tmp_path / "broken.yaml"
    path.write_text(HEADER + sensors)
    with pytest.raises(ValueError, match="broken.yaml") as error:
        load_registry(path)
    assert expected in str(error.value)


def test_room_on_unknown_floor_is_rejected(tmp_path):
    path = tmp_path / "floors.yaml"
    path.write_text(HEADER.replace("floor: 0, name: R1", "floor: 3, name: R1") + "  []\n")
    with pytest.raises(ValueError, match="room '0001' is on floor 3"):
        load_registry(path)
