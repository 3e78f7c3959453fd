"""The building registry: the shipped reference office and the errors a broken YAML gives."""

from __future__ import annotations

import datetime as dt

import pytest

from snuk_assets.registry import default_registry_path, load_registry
from snuk_assets.sensor_types import TYPE_BY_LETTER

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
    # 215 gateway sensors, 24 CO2 sensors (offices, meeting rooms), 4 door counters (open spaces)
    assert len(registry.sensors) == 243
    assert len(registry.sensor_ids()) == 243
    assert set(SAMPLE_IDS) <= registry.sensor_ids()
    assert registry.rooms["room_id"].str.fullmatch(r"[0-9]{4}").all()


def test_every_room_has_all_four_sensor_types(registry):
    types_per_room = registry.sensors.groupby("room_id")["sensor_type"].agg(set)
    assert set(types_per_room.index) == set(registry.rooms["room_id"])
    assert all(set(TYPE_BY_LETTER.values()) <= types for types in types_per_room)
    kinds = registry.room_kinds()
    for room_id, types in types_per_room.items():
        assert ("co2" in types) == (kinds[room_id] in ("office", "meeting"))
        assert ("people_count" in types) == (kinds[room_id] == "open_space")


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
        ('  - {sensor_id: "  ", room_id: "0001", type: motion}\n', "empty after trimming"),
        ('  - {sensor_id: "a\\tb", room_id: "0001", type: motion}\n', "control character"),
        (f'  - {{sensor_id: "{"x" * 201}", room_id: "0001", type: motion}}\n', "at most 200"),
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


def test_free_form_ids_and_declared_types(tmp_path):
    """UUIDs and names are ids; a type declared under sensor_types joins the built-in ones."""
    path = tmp_path / "free.yaml"
    path.write_text(
        HEADER.replace("sensors:\n", "")
        + "sensor_types:\n"
        + "  - {name: voc, signal_model: linear, unit: ppb, min_value: 0, max_value: 60000,"
        + " max_gap: 2h}\n"
        + "sensors:\n"
        + '  - {sensor_id: "0b6f9c1e-3d2a-4f7b-9e1c-5a8d2f4b6c70", room_id: "0001", type: co2}\n'
        + '  - {sensor_id: "Room 2.14 CO2", room_id: "0001", type: voc}\n'
        + '  - {sensor_id: "1-2-3-4-m", room_id: "0001", type: motion}\n'
    )
    registry = load_registry(path)
    catalog = registry.catalog()
    assert catalog.type_name("Room 2.14 CO2") == "voc"
    assert catalog.type_name("0b6f9c1e-3d2a-4f7b-9e1c-5a8d2f4b6c70") == "co2"
    assert catalog.type_name("9-9-9-9-t") == "temperature"  # unregistered: the gateway letter
    assert catalog.type_name("unregistered name") is None
    assert registry.sensor_types["voc"].max_gap == "2h"
    assert {"co2", "contact", "people_count", "sound_level"} <= set(registry.sensor_types)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("{name: co2, signal_model: linear, unit: ppm, min_value: 0, max_value: 1}", "already"),
        ("{name: voc, signal_model: cubic, unit: ppb, min_value: 0, max_value: 1}", "cubic"),
        ("{name: voc, signal_model: linear, unit: ppb, min_value: 2, max_value: 1}", "> max"),
        ("{name: voc, unit: ppb, min_value: 0, max_value: 1}", "lacks ['signal_model']"),
    ],
)
def test_broken_sensor_type_is_rejected(tmp_path, declared, expected):
    path = tmp_path / "types.yaml"
    path.write_text(HEADER.replace("sensors:\n", f"sensor_types:\n  - {declared}\nsensors: []\n"))
    with pytest.raises(ValueError, match="types.yaml") as error:
        load_registry(path)
    assert expected in str(error.value)


def test_a_registry_without_country_is_in_berlin(registry, tmp_path):
    assert (registry.country, registry.subdivision) == ("DE", "BE")
    path = tmp_path / "plain.yaml"
    path.write_text(HEADER + "  []\n")
    assert (load_registry(path).country, load_registry(path).subdivision) == ("DE", "BE")


def test_country_and_subdivision_choose_the_buildings_holidays(tmp_path):
    path = tmp_path / "london.yaml"
    path.write_text(
        HEADER.replace("Europe/Berlin", "Europe/London\ncountry: GB\nsubdivision: ENG") + "  []\n"
    )
    registry = load_registry(path)
    assert (registry.country, registry.subdivision) == ("GB", "ENG")
    dates = registry.holiday_calendar().dates([2025])
    assert dt.date(2025, 8, 25) in dates  # the summer bank holiday in England
    assert dt.date(2025, 10, 3) not in dates
    path.write_text(HEADER.replace("Europe/Berlin", "America/New_York\ncountry: US") + "  []\n")
    assert load_registry(path).subdivision is None


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("country: XX", "field 'country': unknown country 'XX'"),
        ("country: de", "field 'country': unknown country 'de'"),
        ("country: DE\nsubdivision: ZZ", "field 'subdivision': country 'DE' has no subdivision"),
        ("subdivision: XY", "field 'subdivision': country 'DE' has no subdivision 'XY'"),
    ],
)
def test_unknown_country_or_subdivision_names_file_and_field(tmp_path, lines, expected):
    path = tmp_path / "abroad.yaml"
    path.write_text(
        HEADER.replace("timezone: Europe/Berlin", f"timezone: Europe/Berlin\n{lines}") + "  []\n"
    )
    with pytest.raises(ValueError, match="abroad.yaml") as error:
        load_registry(path)
    assert expected in str(error.value)


# -- a portfolio: a folder of registries, one file per building named after it ---------------


def write_building(folder, building_id: str, suffix: str = ".yaml", rooms=("7101", "7102")):
    """The reference office cut to ``rooms``, as building ``building_id`` in ``folder``."""
    import yaml

    document = yaml.safe_load(default_registry_path().read_text())
    document["building_id"] = building_id
    document["rooms"] = [r for r in document["rooms"] if r["room_id"] in rooms]
    document["sensors"] = [s for s in document["sensors"] if s["room_id"] in rooms]
    path = folder / f"{building_id}{suffix}"
    if suffix == ".ttl":
        from snuk_assets.brick import registry_to_turtle
        from snuk_assets.registry import registry_from_document

        path.write_text(registry_to_turtle(registry_from_document(document, str(path))))
    else:
        path.write_text(yaml.safe_dump(document))
    return path


def test_a_registries_folder_names_each_building_by_its_file(tmp_path):
    from snuk_assets.registry import registry_files
    from snuk_assets.settings import SnukSettings

    write_building(tmp_path, "berlin-hq")
    write_building(tmp_path, "london-2", ".yml", rooms=("7101",))
    write_building(tmp_path, "paris", ".ttl")
    (tmp_path / "README.md").write_text("not a registry")
    (tmp_path / ".berlin-hq.yaml.swp").write_text("an editor's file")
    assert list(registry_files(tmp_path)) == ["berlin-hq", "london-2", "paris"]

    settings = SnukSettings.from_env({"SNUK_REGISTRIES": str(tmp_path)})
    assert settings.building_ids() == ("berlin-hq", "london-2", "paris")
    assert len(settings.registry("london-2").rooms) == 1
    assert settings.registry("paris").building_id == "paris"  # Brick
    with pytest.raises(ValueError, match="no registry for building 'rome'"):
        settings.registry("rome")
    # A portfolio's settings name no one building until scoped, and say so.
    with pytest.raises(ValueError, match="holds 3 buildings .*for_building"):
        settings.registry()
    assert settings.for_building("paris").registry().building_id == "paris"
    assert [b for b, _ in settings.each_building()] == ["berlin-hq", "london-2", "paris"]


@pytest.mark.parametrize(
    "name", ["2016.yaml", "Berlin.yaml", "berlin_hq.yaml", "-x.yaml", "b" * 64 + ".yaml"]
)
def test_a_file_name_that_is_no_building_id_is_refused(tmp_path, name):
    from snuk_assets.registry import registry_files

    (tmp_path / name).write_text("building_id: x\n")
    with pytest.raises(ValueError, match=f"{name}: a registry's file name is its building id"):
        registry_files(tmp_path)


def test_a_building_twice_or_under_another_id_is_refused(tmp_path):
    from snuk_assets.registry import load_building_registry, registry_files

    write_building(tmp_path, "office")
    mismatched = tmp_path / "annex.yaml"
    mismatched.write_text((tmp_path / "office.yaml").read_text())
    with pytest.raises(ValueError, match="building_id 'office' is not the file's name 'annex'"):
        load_building_registry(mismatched, "annex")
    (tmp_path / "office.yml").write_text("")
    with pytest.raises(ValueError, match="both hold building 'office'"):
        registry_files(tmp_path)
    with pytest.raises(ValueError, match="is not a folder"):
        registry_files(tmp_path / "missing")


def test_snuk_registry_is_the_one_building_default(tmp_path):
    from snuk_assets.definitions import build_definitions
    from snuk_assets.settings import SnukSettings

    settings = SnukSettings()
    assert settings.building_ids() == ("default",)
    assert settings.single_building_id() == "default"
    # The registry keeps its own id (MQTT topics, the sensors table); its portfolio key is default.
    assert settings.registry().building_id == "snuk-reference-office"
    # ... which is the key of its tables (the lead's decision, issue 22's design).
    assert settings.deployment_building_id() == "snuk-reference-office"
    assert settings.lakehouse().building_id == "snuk-reference-office"
    with pytest.raises(ValueError, match="both SNUK_REGISTRY .* and SNUK_REGISTRIES"):
        SnukSettings(registry_path=str(default_registry_path()), registries_path=str(tmp_path))

    one, several = tmp_path / "one", tmp_path / "several"
    for folder, buildings in ((one, ["annex"]), (several, ["annex", "hq"])):
        folder.mkdir()
        for building_id in buildings:
            write_building(folder, building_id)
    urls = {"landing_uri": str(tmp_path / "l"), "lakehouse_uri": str(tmp_path / "h")}
    single = SnukSettings(registries_path=str(one), **urls)
    assert single.single_building_id() == single.deployment_building_id() == "annex"
    assert build_definitions(single).resolve_job_def("ingest_raw_observations")
    with pytest.raises(ValueError, match="holds 2 buildings"):
        build_definitions(SnukSettings(registries_path=str(several), **urls))


def test_a_registry_rewritten_in_place_is_read_anew_and_each_load_has_its_own_frames(tmp_path):
    # The parsed file is cached by its bytes: a rewrite of the same size within one
    # modification-time tick is still seen, and one caller's frames are not another's.
    path = tmp_path / "b.yaml"
    path.write_text(HEADER.replace("Europe/Berlin", "Europe/Paris") + "  []\n")
    first = load_registry(path)
    path.write_text(HEADER.replace("Europe/Berlin", "Europe/Oslo\n") + "  []\n")
    assert load_registry(path).timezone == "Europe/Oslo"
    path.write_text(HEADER.replace("Europe/Berlin", "Europe/Paris") + "  []\n")
    again = load_registry(path)
    assert again.timezone == first.timezone == "Europe/Paris"
    again.rooms.loc[:, "name"] = "changed"
    assert (load_registry(path).rooms["name"] != "changed").all()
