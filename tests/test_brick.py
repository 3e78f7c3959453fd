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


def test_the_holiday_region_round_trips_as_the_buildings_address(tmp_path):
    registry_yaml = tmp_path / "london.yaml"
    registry_yaml.write_text(
        "building_id: ldn\nname: London\ntimezone: Europe/London\ncountry: GB\nsubdivision: ENG\n"
        "floors: [{floor: 0, name: Ground}]\n"
        "rooms: [{room_id: g1, floor: 0, name: G1, kind: office, area_m2: 20}]\n"
        "sensors: [{sensor_id: g1-pir, room_id: g1, type: motion}]\n"
    )
    model = tmp_path / "london.ttl"
    text = registry_to_turtle(load_registry(registry_yaml))
    assert "brick:hasAddress" in text and "vcard:country-name" in text
    model.write_text(text)
    again = load_registry(model)
    assert (again.country, again.subdivision) == ("GB", "ENG")
    assert again.holiday_calendar().dates([2026]) == load_registry(
        registry_yaml
    ).holiday_calendar().dates([2026])


ADDRESS = """
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
:hq brick:hasAddress [ a vcard:Address ; vcard:country-name "{country}" {region} ] .
"""


def hand_written_at(tmp_path, country: str, region: str | None = None):
    model = tmp_path / "hq.ttl"
    extra = "" if region is None else f'; vcard:region "{region}"'
    model.write_text(HAND_WRITTEN + ADDRESS.format(country=country, region=extra))
    return model


def test_a_hand_written_address_names_the_holidays(tmp_path):
    registry = load_registry(hand_written_at(tmp_path, "US", "NY"))
    assert (registry.country, registry.subdivision) == ("US", "NY")
    assert (load_registry(hand_written_at(tmp_path, "SG")).country, None) == ("SG", None)
    no_address = tmp_path / "plain.ttl"
    no_address.write_text(HAND_WRITTEN)
    assert (load_registry(no_address).country, load_registry(no_address).subdivision) == (
        "DE",
        "BE",
    )  # as a YAML registry without country


@pytest.mark.parametrize(
    ("country", "region", "message"),
    [
        ("XX", None, "vcard:country-name: unknown country 'XX'"),
        ("de", None, "vcard:country-name: unknown country 'de'"),
        ("DE", "XX", "vcard:region: country 'DE' has no subdivision 'XX'"),
    ],
)
def test_an_unknown_region_in_brick_is_an_error_naming_the_property(
    tmp_path, country, region, message
):
    with pytest.raises(ValueError, match=f"hq.ttl: building urn:example#hq's address, {message}"):
        load_registry(hand_written_at(tmp_path, country, region))
