"""``snuk import``: long and wide exports to landing files and a registry, bad rows quarantined.

The landing files are read back by the ingest's own parser and validation, with the registry
the import wrote, so what lands is what the pipeline keeps.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from snuk_assets.importer import import_building
from snuk_assets.landing import LandingZone, day_folder
from snuk_assets.registry import load_registry
from snuk_assets.stages.ingest import read_and_parse
from snuk_assets.transforms.imports import convert_table
from snuk_assets.transforms.ingest.validate import validate_observations

DAY = dt.date(2021, 9, 7)


def write_mapping(path, **mapping) -> str:
    path.write_text(yaml.safe_dump(mapping))
    return str(path)


def landed(out) -> pd.DataFrame:
    """Every observation of the import's landing zone, as the ingest keeps it."""
    landing = LandingZone.from_uri(str(out / "landing"))
    registry = load_registry(out / "registry.yaml")
    kept = []
    for day in (DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)):
        for landing_file in landing.scan_day(day)[0]:
            rows, _ = read_and_parse(landing, landing_file)
            result = validate_observations(
                rows, arrival_day=day, catalog=registry.catalog(), known_sensor_ids=None
            )
            assert result.rows_quarantined == 0, result.quarantined.to_pylist()
            kept.append(result.kept)
    return pa.concat_tables(kept).to_pandas() if kept else pd.DataFrame()


def test_long_csv_with_two_point_columns_units_and_a_time_zone(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(
        {
            "room": ["2.14", "2.14", "2.14", "2.14", "2.14", "2.14"],
            "name": ["CO2", "RH", "RH", "RH", "CO2", "Fan"],
            "time": [
                "2021-09-07 10:00",
                "2021-09-07 10:00",
                "2021-09-07T10:05:00+02:00",
                "2021-09-07 10:10",
                "2021-09-07 10:15",
                "2021-09-07 10:15",
            ],
            "value": ["612", "0.45", "0.47", "45", "x", "1"],
            "unit": ["ppm", "fraction", "fraction", "%", "ppm", ""],
        }
    ).to_csv(data / "export.csv", index=False)
    mapping = write_mapping(
        tmp_path / "mapping.yaml",
        building_id="b",
        timezone="Europe/Berlin",
        format="long",
        files="*.csv",
        point=["room", "name"],
        value="value",
        unit="unit",
        timestamp={"column": "time", "timezone": "Europe/Berlin"},
        sensor_id="{point}",
        points={
            "2.14 CO2": {"type": "co2", "room": "2.14", "unit": "ppm"},
            # Relative humidity given as 0..1: declared, converted to percent.
            "2.14 RH": {"type": "humidity", "room": "2.14", "unit": "fraction", "scale": 100},
        },
    )
    report = import_building(mapping, str(data), str(tmp_path / "out"))
    counts = report["counts"]
    assert (counts["read"], counts["imported"], counts["quarantined"]) == (6, 3, 3)
    assert report["reasons"] == {"unit mismatch": 1, "bad value": 1, "unmapped point": 1}
    kept = landed(tmp_path / "out").sort_values(["sensor_id", "ts"])
    assert kept["sensor_id"].tolist() == ["2.14 CO2", "2.14 RH", "2.14 RH"]
    assert kept["value"].tolist() == pytest.approx([612.0, 45.0, 47.0])
    # 10:00 in Berlin (CEST) is 08:00 UTC; the offset of the third row is its own.
    assert [t.strftime("%H:%M") for t in kept["ts"]] == ["08:00", "08:00", "08:05"]
    registry = load_registry(tmp_path / "out" / "registry.yaml")
    assert dict(
        zip(registry.sensors["sensor_id"], registry.sensors["sensor_type"], strict=True)
    ) == {
        "2.14 CO2": "co2",
        "2.14 RH": "humidity",
    }
    quarantine = pd.read_csv(tmp_path / "out" / "import_quarantine.csv")
    assert quarantine["row_number"].tolist() == [4, 5, 6]
    assert quarantine["source_file"].eq("export.csv").all()


def test_wide_parquet_per_room_with_a_pir_share_and_offsets(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    times = ["2021-09-07 08:00 +08:00", "2021-09-07 08:01 +08:00", "2021-09-07 08:02 +08:00"]
    for room in ("413", "415"):
        pd.DataFrame(
            {"timestamp": times, "co2": [500.0, 510.0, None], "pir": [0.0, 0.25, 1.0], "x": 1}
        ).to_parquet(data / f"{room}.parquet")
    mapping = write_mapping(
        tmp_path / "mapping.yaml",
        building_id="b",
        timezone="Asia/Singapore",
        format="wide",
        files="*.parquet",
        room="{stem}",
        timestamp={"column": "timestamp"},
        points={"co2": {"type": "co2"}, "pir": {"type": "motion", "above": 0}},
    )
    report = import_building(mapping, str(data), str(tmp_path / "out"))
    assert report["counts"]["read"] == 12  # 2 files x 3 rows x 2 mapped columns
    assert report["reasons"] == {"missing value": 2}
    kept = landed(tmp_path / "out")
    motion = kept[kept["sensor_id"] == "413 pir"].sort_values("ts")
    assert motion["value"].tolist() == [0.0, 1.0, 1.0]
    assert motion["ts"].iloc[0] == pd.Timestamp("2021-09-07 00:00", tz="UTC")
    registry = load_registry(tmp_path / "out" / "registry.yaml")
    assert sorted(registry.rooms["room_id"]) == ["413", "415"]
    assert len(registry.sensors) == 4


def test_seconds_where_ms_are_expected_and_bad_ids_are_quarantined_not_rescaled(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    ms = int(pd.Timestamp("2021-09-07 08:00", tz="UTC").value // 1_000_000)
    pd.DataFrame(
        {
            "point": ["co2", "co2", "co2", "bad\u0007id", "co2"],
            "ts": [str(ms), str(ms // 1000), "2021-09-07 08:00", str(ms), "yesterday +01:00"],
            "value": ["500", "501", "502", "503", "504"],
        }
    ).to_csv(data / "export.csv", index=False)
    mapping = write_mapping(
        tmp_path / "mapping.yaml",
        building_id="b",
        timezone="UTC",
        format="long",
        files="export.csv",
        point="point",
        timestamp={"column": "ts"},  # numbers are ms; no time zone declared
        sensor_id="{room} {point}",
        points={"co2": {"type": "co2", "room": "r1"}, "bad\u0007id": {"type": "co2", "room": "r1"}},
    )
    out = tmp_path / "out"
    report = import_building(mapping, str(data), str(out))
    quarantine = pd.read_csv(out / "import_quarantine.csv")
    reasons = dict(zip(quarantine["row_number"], quarantine["reason"], strict=True))
    assert reasons[2].startswith("timestamp in seconds where milliseconds are expected")
    assert "not rescaled" in reasons[2]
    assert reasons[3] == "bad timestamp: no offset, and the mapping declares no timezone"
    assert reasons[5].startswith("bad timestamp: yesterday")
    assert report["counts"]["read"] == 5 and report["counts"]["imported"] == 2
    # The id with a control character lands; the ingest quarantines it with the reason.
    landing = LandingZone.from_uri(str(out / "landing"))
    files, _ = landing.scan_day(DAY)
    assert [f.path for f in files] == [f"{day_folder(DAY)}/import-export.txt"]
    rows, _ = read_and_parse(landing, files[0])
    catalog = load_registry(out / "registry.yaml").catalog()
    result = validate_observations(rows, arrival_day=DAY, catalog=catalog)
    assert result.rows_kept == 1 and result.rows_quarantined == 1
    assert "control character" in result.quarantined["reason"][0].as_py()
    assert result.rows_read == result.rows_kept + result.rows_quarantined + result.rows_duplicate


def test_wide_table_in_seconds_with_a_column_in_the_sensor_id_and_columns_not_read():
    frame = pd.DataFrame(
        {
            "time": [1_600_000_000, 1_600_000_300.0004],  # seconds; the second rounds to ms
            "NodeID": [7, 7],
            "t1": [21.5, 22.0],
            "notes": ["x", "y"],  # not a point, not in the template: not read
        },
        index=[10, 11],  # an index of its own, not a column of the export
    )
    mapping = {
        "format": "wide",
        "timestamp": {"column": "time", "unit": "s"},
        "sensor_id": "{room} n{NodeID}",
        "points": {"t1": {"type": "temperature", "room": "R1"}},
    }
    converted = convert_table(frame, mapping)
    expected = pd.DataFrame(
        {
            "sensor_id": ["R1 n7", "R1 n7"],
            "point": ["t1", "t1"],
            "room_id": ["R1", "R1"],
            "sensor_type": ["temperature", "temperature"],
            "ts_ms": pd.Series([1_600_000_000_000, 1_600_000_300_000], dtype="int64"),
            "value": [21.5, 22.0],
        }
    )
    pd.testing.assert_frame_equal(converted.observations, expected, check_dtype=False)
    assert converted.observations["ts_ms"].dtype == "int64"
    assert converted.quarantined.empty
    assert converted.values_read == 2
    assert converted.ignored_columns == ("notes",)


def test_quarantine_reasons_and_raw_text_of_a_long_table():
    comment = "x" * 2000
    frame = pd.DataFrame(
        {
            "point": ["P1", "P2", "P1"],
            # 02:30 on 2021-03-28 does not exist in Berlin (clocks go from 02:00 to 03:00)
            "time": ["2021-03-28 02:30", "2021-03-28 04:00", "2021-03-28 04:00"],
            "value": [1, 2, 3],
            "comment": [comment, "", ""],
        }
    )
    mapping = {
        "format": "long",
        "point": "point",
        "timestamp": {"column": "time", "timezone": "Europe/Berlin"},
        "points": {"P1": {"type": "co2", "room": "R1"}, "P2": {"type": "co2"}},
    }
    converted = convert_table(frame, mapping)
    assert converted.quarantined["row_number"].tolist() == [1, 2]
    assert converted.quarantined["reason"].tolist() == [
        "bad timestamp: a local time that is ambiguous or does not exist in Europe/Berlin: "
        "2021-03-28 02:30",
        "no room: the mapping gives the point no room",
    ]
    # the source row as text, cut at 1,024 characters
    first = converted.quarantined["raw_text"].iloc[0]
    assert first == ("P1,2021-03-28 02:30,1," + comment)[:1024]
    assert converted.quarantined["raw_text"].iloc[1] == "P2,2021-03-28 04:00,2,"
    # 04:00 CEST is 02:00 UTC
    assert converted.observations["ts_ms"].tolist() == [1_616_896_800_000]
    assert converted.observations["sensor_id"].tolist() == ["R1 P1"]
    assert converted.ignored_columns == ("comment",)
