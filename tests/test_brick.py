"""The registry as a Brick model: a YAML registry round-trips, and a hand-written model reads."""

from __future__ import annotations

import pandas as pd
import pytest

from snuk_assets.brick import registry_to_turtle
from snuk_assets.cli import main
from snuk_assets.registry import default_registry_path, load_registry


def same_rows(a: pd.DataFrame, b: pd.DataFrame, key: str) -> None:
    pd.testing.assert_frame_equal(
        a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    )


def test_the_reference_office_round_trips_through_brick(tmp_path):
    model = tmp_path / "office.ttl"
    assert (
        main(
            [
                "registry",
                "export",
                "--brick",
                str(model),
                "--registry",
                str(default_registry_path()),
            ]
        )
        == 0
    )
    original = load_registry(default_registry_path())
    again = load_registry(model)  # a .ttl registry is read as Brick
    assert (again.building_id, again.name, again.timezone) == (
        original.building_id,
        original.name,
        original.timezone,
    )
    same_rows(again.floors, original.floors, "floor")
    same_rows(again.rooms, original.rooms, "room_id")
    same_rows(again.sensors, original.sensors, "sensor_id")
    text = model.read_text()
    assert "brick:Motion_Sensor" in text and "brick:isPointOf" in text


def test_free_form_ids_and_the_new_types_round_trip(tmp_path):
    registry_yaml = tmp_path / "b.yaml"
    registry_yaml.write_text(
        "building_id: b\nname: B\ntimezone: Asia/Singapore\n"
        "floors: [{floor: 2, name: Second}]\n"
        "rooms: [{room_id: '2.14', floor: 2, name: Room 2.14, kind: lecture, area_m2: 80}]\n"
        "sensors:\n"
        "  - {sensor_id: 'Room 2.14 CO2', room_id: '2.14', type: co2}\n"
        "  - {sensor_id: 7f3c2a9e-0b1d-4e5f-8a6b-2c4d6e8f0a1b, room_id: '2.14',"
        " type: people_count}\n"
        "  - {sensor_id: 'Room 2.14 door', room_id: '2.14', type: contact}\n"
        "  - {sensor_id: 'Room 2.14 #dB', room_id: '2.14', type: sound_level}\n"
    )
    model = tmp_path / "b.ttl"
    model.write_text(registry_to_turtle(load_registry(registry_yaml)))
    original, again = load_registry(registry_yaml), load_registry(model)
    same_rows(again.rooms, original.rooms, "room_id")
    same_rows(again.sensors, original.sensors, "sensor_id")


HAND_WRITTEN = """
@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix : <urn:example#> .
:hq a brick:Building ; rdfs:label "HQ" .
:floor_1 a brick:Floor ; brick:isPartOf :hq ; rdfs:label "First" .
:r101 a brick:Room ; brick:isPartOf :floor_1 ; rdfs:label "Room 101" .
:open a brick:Space ; rdfs:label "Atrium" .
:floor_1 brick:hasPart :open .
:pir1 a brick:Occupancy_Sensor ; brick:isPointOf :r101 .
:t1 a brick:Zone_Air_Temperature_Sensor ; brick:isPointOf :r101 .
:r101 brick:hasPoint :co2 .
:co2 a brick:CO2_Sensor .
:lux a brick:Illuminance_Sensor ; brick:isPointOf :open .
"""


def test_a_hand_written_model_reads_rooms_floors_and_points(tmp_path):
    model = tmp_path / "hq.ttl"
    model.write_text(HAND_WRITTEN)
    registry = load_registry(model)
    assert registry.floors.to_dict("records") == [{"floor": 1, "name": "First"}]
    assert sorted(registry.rooms["room_id"]) == ["open", "r101"]
    assert set(registry.rooms["floor"]) == {1}
    types = dict(zip(registry.sensors["sensor_id"], registry.sensors["sensor_type"], strict=True))
    assert types == {"pir1": "motion", "t1": "temperature", "co2": "co2", "lux": "luminosity"}


def test_a_point_of_an_unknown_class_is_an_error_naming_it(tmp_path):
    model = tmp_path / "bad.ttl"
    model.write_text(HAND_WRITTEN + ":v a brick:Valve_Command ; brick:isPointOf :r101 .\n")
    with pytest.raises(ValueError, match="Valve_Command"):
        load_registry(model)
