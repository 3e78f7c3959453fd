"""The landing layout of a portfolio, ``raw_data/<building_id>/YYYY/MM/DD/``, on a real folder
and a moto S3 server: each building's day reads its own files, and the layout from before
buildings (``raw_data/YYYY/MM/DD/``) is the building ``default``'s."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from dagster import materialize
from test_landing_events import events_settings, make_bucket, requested_files
from test_landing_sensor import LINE, Ticks, days_ago
from test_registry import write_building

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.landing import LandingZone, day_folder, landing_day_of
from snuk_assets.landing_events import CreatedFile, landing_events_sensor, plan_event_runs
from snuk_assets.settings import SnukSettings

DAY = dt.date(2016, 8, 14)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("raw_data/2016/08/14/gw01.txt", ("default", DAY)),  # before buildings
        ("raw_data/2016/08/14/sub/gw01.txt", ("default", DAY)),
        ("raw_data/default/2016/08/14/gw01.txt", None),  # default's days: the old layout
        ("raw_data/berlin-hq/2016/08/14/gw01.txt", ("berlin-hq", DAY)),
        ("raw_data/b1/2016/08/14/sub/gw01.txt", ("b1", DAY)),
        ("raw_data/b1/2016/08/14", None),  # a folder, no file
        ("raw_data/Berlin/2016/08/14/gw01.txt", None),  # not a building id
        ("raw_data/b_1/2016/08/14/gw01.txt", None),
        ("raw_data/b1/16/08/14/gw01.txt", None),  # a year of two digits
        ("raw_data/b1/2016/02/30/gw01.txt", None),  # no such day
        ("raw_data/2016/08/gw01.txt", None),
        ("elsewhere/b1/2016/08/14/gw01.txt", None),
    ],
)
def test_a_key_names_its_building_and_arrival_day(path, expected):
    assert landing_day_of(path) == expected


def test_writers_of_default_keep_the_layout_from_before_buildings():
    assert day_folder(DAY) == "raw_data/2016/08/14"
    assert day_folder(DAY, "default") == "raw_data/2016/08/14"
    assert day_folder(DAY, "berlin-hq") == "raw_data/berlin-hq/2016/08/14"


def test_each_buildings_day_reads_its_own_files(storage_root):
    if not storage_root.startswith("s3://"):
        os.makedirs(storage_root)
    landing = LandingZone.from_uri(storage_root)
    paths = {
        "default": ["raw_data/2016/08/14/gw.txt", "raw_data/2016/08/14/floor2/gw.txt"],
        "b1": ["raw_data/b1/2016/08/14/gw.txt", "raw_data/b1/2016/08/14/floor2/gw.txt"],
        "b2": ["raw_data/b2/2016/08/14/gw.txt"],
    }
    others = [
        "raw_data/b1/2016/08/15/next-day.txt",
        "raw_data/b10/2016/08/14/gw.txt",
        "raw_data/default/2016/08/14/gw.txt",  # in no day folder
    ]
    for path in [*sum(paths.values(), []), *others]:
        landing.write_bytes(path, LINE)

    for building_id, expected in paths.items():
        files, skipped = landing.scan_day(DAY, building_id)
        assert [f.path for f in files] == sorted(expected) and skipped == []
    assert landing.list_day(DAY) == landing.list_day(DAY, "default")
    assert landing.list_day(DAY, "b3") == []
    listed = landing.list_days(DAY, DAY + dt.timedelta(days=1), ["b1", "b2"])
    assert sorted(f.path for f in listed) == sorted([*paths["b1"], *paths["b2"], others[0]])


def portfolio(tmp_path, building_ids) -> str:
    folder = tmp_path / "registries"
    folder.mkdir()
    for building_id in building_ids:
        write_building(folder, building_id)
    return str(folder)


def test_the_landing_sensor_requests_each_buildings_day(storage_root, tmp_path):
    if not storage_root.startswith("s3://"):
        os.makedirs(f"{storage_root}/landing")
    settings = SnukSettings(
        landing_uri=f"{storage_root}/landing",
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registries_path=portfolio(tmp_path, ["b1", "default"]),
    )
    tick = Ticks(settings)
    assert tick() == []
    landing, today, yesterday = settings.landing(), days_ago(0), days_ago(1)
    for path in (
        f"{day_folder(today, 'b1')}/gw.txt",
        f"{day_folder(yesterday, 'b1')}/late.txt",
        f"{day_folder(today)}/gw.txt",  # default: the old layout
        f"{day_folder(today)}/gw-2.txt",
        f"raw_data/default/{today:%Y/%m/%d}/gw.txt",  # in no day folder
        f"{day_folder(today, 'b9')}/gw.txt",  # no registry: not followed
    ):
        landing.write_bytes(path, LINE)
    requested = tick()
    by_building = {
        (r.tags["snuk/building"], r.partition_key): int(r.tags["snuk/new_files"])
        for r in tick.run_requests
    }
    assert by_building == {
        ("b1", f"{yesterday}"): 1,
        ("b1", f"{today}"): 1,
        ("default", f"{today}"): 2,
    }
    run_keys = [key for _, key in requested]
    assert len(set(run_keys)) == 3
    assert {key.split(":")[1] for key in run_keys} == {"b1", f"{today}"}  # default's as before
    assert tick() == []


def test_the_event_plan_maps_keys_to_buildings_and_days():
    first, last = dt.date(2026, 11, 28), dt.date(2026, 12, 1)
    files = [
        CreatedFile("raw_data/2026/12/01/a.txt", "1"),
        CreatedFile("raw_data/b1/2026/12/01/a.txt", "1"),
        CreatedFile("raw_data/b1/2026/11/30/a.txt", "1"),
        CreatedFile("raw_data/b2/2026/12/01/a.txt", "1"),  # no registry
        CreatedFile("raw_data/b1/2026/11/27/old.txt", "1"),
    ]
    plan = plan_event_runs(files, {}, first=first, last=last, building_ids=("b1", "default"))
    assert [(r.building_id, r.day, r.files) for r in plan.requests] == [
        ("b1", dt.date(2026, 11, 30), ("raw_data/b1/2026/11/30/a.txt",)),
        ("b1", dt.date(2026, 12, 1), ("raw_data/b1/2026/12/01/a.txt",)),
        ("default", dt.date(2026, 12, 1), ("raw_data/2026/12/01/a.txt",)),
    ]
    assert plan.unknown_building == ["raw_data/b2/2026/12/01/a.txt"]
    assert plan.too_old == ["raw_data/b1/2026/11/27/old.txt"]
    again = plan_event_runs(files, plan.seen, first=first, last=last, building_ids=("b1",))
    assert again.requests == []


def test_the_events_sensor_requests_each_buildings_day(moto_server, tmp_path):
    bucket = make_bucket()
    settings = events_settings(bucket, tmp_path, registries_path=portfolio(tmp_path, ["b1", "b2"]))
    tick = Ticks(settings, sensor=landing_events_sensor)
    assert tick() == []
    today = days_ago(0)
    for index, building_id in enumerate(("b1", "b2", "b1", "b9")):
        bucket.upload(f"{day_folder(today, building_id)}/gw-{index}.txt")
    tick()
    by_building = {r.tags["snuk/building"]: r.partition_key for r in tick.run_requests}
    assert by_building == {"b1": f"{today}", "b2": f"{today}"}
    assert requested_files(tick) == 3  # b9 has no registry
    assert tick() == []


def test_ingest_reads_the_folder_of_the_portfolios_building(tmp_path):
    """A portfolio of one building, ``annex``: its day folder is ingested, default's is not."""
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registries_path=portfolio(tmp_path, ["annex"]),
    )
    landing = settings.landing()
    annex_line = b"sensor_id='8514-294-220-250-m', timestamp=1471132341000, value=1.0,\n"
    landing.write_bytes(f"{day_folder(DAY, 'annex')}/gw.txt", annex_line)
    landing.write_bytes(f"{day_folder(DAY)}/gw.txt", LINE)  # another building's
    result = materialize(
        [raw_observations], resources={"settings": settings}, partition_key=f"{DAY}"
    )
    assert result.success
    rows = settings.lakehouse().read("raw_observations").to_pylist()
    assert [row["source_file"] for row in rows] == [f"{day_folder(DAY, 'annex')}/gw.txt"]
