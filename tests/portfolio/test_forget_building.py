"""A portfolio forgets a building taken out of it, and a room of one building, without touching
the others: ``snuk forget --building B`` and ``snuk forget --room R --building B``.

On a lakehouse of three buildings whose room and sensor ids are the same (twins, as the
simulated portfolio's are), written as the stages write (``Lakehouse.replace_partitions`` per
building and day), with each building's landing day folder.
"""

from __future__ import annotations

import datetime as dt
import pathlib

import pyarrow as pa
import pytest

from snuk_assets.cli import main
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.privacy import forget_building
from snuk_assets.settings import SnukSettings

DAYS = [dt.date(2016, 8, 1), dt.date(2016, 8, 2)]
BUILDINGS = ("b1", "b2", "b3")
SENSORS = {"1-2-3-4-m": "0001", "5-6-7-8-m": "0002"}  # sensor: room, in every building
REGISTRY = """\
building_id: {building}
name: {building}
timezone: Europe/Berlin
floors:
  - {{floor: 0, name: Ground}}
rooms:
  - {{room_id: "0001", floor: 0, name: R1, kind: office, area_m2: 20}}
  - {{room_id: "0002", floor: 0, name: R2, kind: office, area_m2: 20}}
sensors:
  - {{sensor_id: "1-2-3-4-m", room_id: "0001", type: motion}}
  - {{sensor_id: "5-6-7-8-m", room_id: "0002", type: motion}}
"""


@pytest.fixture
def portfolio(tmp_path, monkeypatch) -> SnukSettings:
    registries = tmp_path / "registries"
    registries.mkdir()
    for building in BUILDINGS:
        (registries / f"{building}.yaml").write_text(REGISTRY.format(building=building))
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registries_path=str(registries),
    )
    lakehouse = Lakehouse(settings.lakehouse_uri)
    sensors = []
    for building in BUILDINGS:
        observations = pa.table(
            {
                "sensor_id": [sensor for _ in DAYS for sensor in SENSORS],
                "value": [1.0] * (len(DAYS) * len(SENSORS)),
                "date": pa.array([day for day in DAYS for _ in SENSORS], pa.date32()),
            }
        )
        lakehouse.replace_partitions(
            "raw_observations", observations, dates=DAYS, building_id=building
        )
        rooms = pa.table(
            {
                "room_id": [room for _ in DAYS for room in sorted(set(SENSORS.values()))],
                "occupancy": [0.5] * (len(DAYS) * 2),
                "date": pa.array([day for day in DAYS for _ in range(2)], pa.date32()),
            }
        )
        lakehouse.replace_partitions("room_series", rooms, dates=DAYS, building_id=building)
        sensors += [(building, sensor, room) for sensor, room in SENSORS.items()]
        for day in DAYS:
            folder = tmp_path / "landing" / f"raw_data/{building}/{day:%Y/%m/%d}"
            folder.mkdir(parents=True)
            (folder / "gateway.txt").write_text(
                "".join(f"sensor_id='{s}', timestamp=1470000000000, value=1.0,\n" for s in SENSORS)
            )
    lakehouse.replace_table(
        "sensors",
        pa.Table.from_pylist(
            [{"building_id": b, "sensor_id": s, "room_id": r} for b, s, r in sensors]
        ),
    )
    monkeypatch.delenv("SNUK_REGISTRY", raising=False)  # the CLI reads these settings
    monkeypatch.setenv("SNUK_REGISTRIES", settings.registries_path)
    monkeypatch.setenv("SNUK_LANDING_URI", settings.landing_uri)
    monkeypatch.setenv("SNUK_LAKEHOUSE_URI", settings.lakehouse_uri)
    return settings


def files_of(lakehouse: Lakehouse, building: str) -> dict[str, set[str]]:
    """Each partitioned table's current data files of ``building``."""
    return {
        name: {
            uri for uri in lakehouse.table(name).file_uris() if f"building_id={building}/" in uri
        }
        for name in ("raw_observations", "room_series")
    }


def rows_by_building(lakehouse: Lakehouse, name: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in lakehouse.table(name).to_pyarrow_table().to_pylist():
        out.setdefault(row["building_id"], []).append(row)
    return out


def landing_files(settings: SnukSettings) -> dict[str, str]:
    root = pathlib.Path(settings.landing_uri)
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*.txt")}


def test_a_removed_building_is_forgotten_and_no_other_buildings_file_is_touched(portfolio, capsys):
    lakehouse = Lakehouse(portfolio.lakehouse_uri)
    # Still registered: refused, naming the file to take out first.
    with pytest.raises(ValueError, match="b1.yaml"):
        forget_building(portfolio, "b1")

    before = {building: files_of(lakehouse, building) for building in ("b2", "b3")}
    rows_before = {name: rows_by_building(lakehouse, name) for name in ("raw_observations",)}
    landing_before = landing_files(portfolio)
    (pathlib.Path(portfolio.registries_path) / "b1.yaml").unlink()

    assert main(["forget", "--building", "b1"]) == 0

    out = capsys.readouterr().out
    assert "building b1, all days:" in out
    assert "raw_observations: 4 rows deleted" in out and "room_series: 4 rows deleted" in out
    assert "sensors: 2 rows deleted" in out
    assert "landing zone: 0 files rewritten, 2 deleted" in out
    for name in ("raw_observations", "room_series", "sensors"):
        assert set(rows_by_building(lakehouse, name)) == {"b2", "b3"}
    # The other buildings' data files are the ones they had, still on disk after the purge.
    after = {building: files_of(lakehouse, building) for building in ("b2", "b3")}
    assert after == before
    for files in after.values():
        assert all(
            pathlib.Path(uri.removeprefix("file://")).exists() for f in files.values() for uri in f
        )
    assert {b: rows for b, rows in rows_by_building(lakehouse, "raw_observations").items()} == {
        b: rows_before["raw_observations"][b] for b in ("b2", "b3")
    }
    assert landing_files(portfolio) == {
        path: text for path, text in landing_before.items() if "/b1/" not in path
    }


def test_a_room_is_forgotten_in_its_building_only(portfolio, capsys):
    lakehouse = Lakehouse(portfolio.lakehouse_uri)
    b3_files, landing_before = files_of(lakehouse, "b3"), landing_files(portfolio)

    # Room ids repeat across buildings: in a portfolio the room's building must be named.
    assert main(["forget", "--room", "0001"]) == 2
    assert "--building" in capsys.readouterr().err
    assert main(["forget", "--room", "0001", "--building", "b2"]) == 0

    out = capsys.readouterr().out
    assert "room 0001 of building b2, all days:" in out
    assert "raw_observations: 2 rows deleted" in out and "room_series: 2 rows deleted" in out
    raw = rows_by_building(lakehouse, "raw_observations")
    assert {row["sensor_id"] for row in raw["b2"]} == {"5-6-7-8-m"}
    assert (
        {row["sensor_id"] for row in raw["b1"]}
        == {row["sensor_id"] for row in raw["b3"]}
        == set(SENSORS)
    )
    rooms = rows_by_building(lakehouse, "room_series")
    assert {row["room_id"] for row in rooms["b2"]} == {"0002"}
    assert {row["room_id"] for row in rooms["b3"]} == {"0001", "0002"}
    assert files_of(lakehouse, "b3") == b3_files
    landing = landing_files(portfolio)
    for path, text in landing.items():
        if "/b2/" in path:
            assert "1-2-3-4-m" not in text and "5-6-7-8-m" in text
        else:
            assert text == landing_before[path]


def test_the_vacuum_and_the_raw_expiry_run_on_every_buildings_tables(portfolio, capsys):
    # Whole tables, not one building's scope (which a portfolio of several would refuse).
    assert main(["vacuum"]) == 0
    assert "raw_observations: deleted 0 files" in capsys.readouterr().out
