"""A portfolio's Delta tables, partitioned by building and day, on local disk and on S3 (moto):
a building's backfill replaces exactly its (building, day) pairs and touches no other building's
files, and a lakehouse written before buildings migrates in one commit per table."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pytest
from dagster import materialize
from test_lakehouse import DAY1, DAY2, DAY3, rows

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.sensors import sensors
from snuk_assets.lakehouse import (
    Lakehouse,
    LakehouseError,
    RowBatches,
    building_partition_predicate,
)
from snuk_assets.settings import SnukSettings

DAYS = [DAY1, DAY2, DAY3]


def files_by_pair(lakehouse: Lakehouse, name: str = "t") -> dict[tuple[str, str], set[str]]:
    """Each (building, day) partition's data files, from the table's current version."""
    files: dict[tuple[str, str], set[str]] = {}
    for uri in lakehouse.table(name).file_uris():
        values = dict(part.split("=", 1) for part in uri.split("/") if "=" in part)
        files.setdefault((values["building_id"], values["date"]), set()).add(uri)
    return files


def test_the_predicate_names_exactly_the_pairs():
    pairs = [("b2", DAY3), ("b1", DAY1), ("b1", DAY2)]
    assert building_partition_predicate(pairs) == (
        "(building_id = 'b1' AND ((date >= '2016-08-01' AND date <= '2016-08-02'))) OR "
        "(building_id = 'b2' AND (date = '2016-08-03'))"
    )
    with pytest.raises(ValueError, match="at least one"):
        building_partition_predicate([])


def test_a_buildings_backfill_leaves_every_other_building_untouched(storage_root):
    lakehouse = Lakehouse(f"{storage_root}/lakehouse")
    for building_id in ("b1", "b2", "b3"):
        lakehouse.replace_partitions(
            "t", rows(DAYS, building_id), dates=DAYS, building_id=building_id
        )
    before = files_by_pair(lakehouse)
    others = lakehouse.read("t", building_id="b2").to_pylist()
    assert len(before) == 9

    # A backfill of b1's last two days, streamed as the ingest streams.
    new = rows([DAY2, DAY3], "b1-again", per_day=3)
    report = lakehouse.replace_partitions(
        "t",
        RowBatches(new.schema, lambda: iter(new.to_batches(max_chunksize=2))),
        dates=[DAY2, DAY3],
        building_id="b1",
    )
    assert report.rows == 6
    after = files_by_pair(lakehouse)
    replaced = {("b1", f"{DAY2}"), ("b1", f"{DAY3}")}
    assert {pair: after[pair] for pair in after if pair not in replaced} == {
        pair: before[pair] for pair in before if pair not in replaced
    }
    assert all(after[pair].isdisjoint(before[pair]) for pair in replaced)
    assert lakehouse.read("t", building_id="b2").to_pylist() == others
    b1 = lakehouse.read("t", building_id="b1", dates=[DAY2, DAY3], columns=["sensor_id"])
    assert {row["sensor_id"] for row in b1.to_pylist()} == {
        "b1-again-0",
        "b1-again-1",
        "b1-again-2",
    }
    assert set(lakehouse.read("t").column("building_id").to_pylist()) == {"b1", "b2", "b3"}


def test_the_layouts_are_never_mixed(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    lakehouse.replace_partitions("old", rows(DAYS, "x"), dates=DAYS)
    with pytest.raises(LakehouseError, match="partitioned by date only .*snuk migrate"):
        lakehouse.replace_partitions("old", rows([DAY1], "x"), dates=[DAY1], building_id="b1")
    lakehouse.replace_partitions("new", rows(DAYS, "x"), dates=DAYS, building_id="b1")
    with pytest.raises(LakehouseError, match="name the building of the rows"):
        lakehouse.replace_partitions("new", rows([DAY1], "x"), dates=[DAY1])
    theirs = rows([DAY1], "x").add_column(0, "building_id", pa.array(["b2"] * 5))
    with pytest.raises(ValueError, match="belong to other buildings than 'b1'"):
        lakehouse.replace_partitions("new", theirs, dates=[DAY1], building_id="b1")


LINES = (
    "sensor_id='8514-294-220-250-m', timestamp=1471132341000, value=1.0,\n"
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9,\n"
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=abc,\n"  # quarantined
)


def sorted_rows(table: pa.Table) -> list[str]:
    return sorted(map(str, table.to_pylist()))


def test_a_lakehouse_written_before_buildings_migrates_as_default(storage_root):
    """Written by today's assets (ingest and sensors), migrated table by table."""
    if not storage_root.startswith("s3://"):
        os.makedirs(f"{storage_root}/landing")
    settings = SnukSettings(
        landing_uri=f"{storage_root}/landing", lakehouse_uri=f"{storage_root}/lakehouse"
    )
    for day in ("2016/08/13", "2016/08/14"):
        settings.landing().write_bytes(f"raw_data/{day}/gw01.txt", LINES.encode())
    for partition in ("2016-08-13", "2016-08-14"):
        result = materialize(
            [sensors, raw_observations], resources={"settings": settings}, partition_key=partition
        )
        assert result.success
    lakehouse = settings.lakehouse()
    names = lakehouse.table_names()
    assert names == ["quarantined_observations", "raw_observations", "sensors"]
    before = {name: lakehouse.read(name) for name in names}
    versions = {name: lakehouse.table(name).version() for name in names}

    reports = {name: lakehouse.migrate_to_buildings(name, building_id="default") for name in names}
    assert reports["sensors"] is None  # unpartitioned: it has its registry's building_id
    assert lakehouse.table("sensors").version() == versions["sensors"]
    for name in ("quarantined_observations", "raw_observations"):
        assert reports[name].rows == before[name].num_rows > 0
        assert lakehouse.table(name).version() == versions[name] + 1  # one commit
        assert lakehouse.table(name).metadata().partition_columns == ["building_id", "date"]
        migrated = lakehouse.read(name, building_id="default")
        assert migrated.column("building_id").to_pylist() == ["default"] * migrated.num_rows
        assert sorted_rows(migrated.drop_columns("building_id")) == sorted_rows(before[name])
        assert lakehouse.migrate_to_buildings(name, building_id="default") is None  # once

    # A backfill of the default building now replaces its day, and no longer a bare day.
    day = dt.date(2016, 8, 14)
    kept = lakehouse.read("raw_observations", dates=[day]).drop_columns("building_id")
    lakehouse.replace_partitions(
        "raw_observations", kept.slice(0, 1), dates=[day], building_id="default"
    )
    assert lakehouse.read("raw_observations", dates=[day]).num_rows == 1
    with pytest.raises(LakehouseError, match="name the building"):
        lakehouse.replace_partitions("raw_observations", kept, dates=[day])


def test_a_scoped_lakehouse_writes_and_reads_its_building_only(storage_root):
    """What the stages see through ``SnukSettings.lakehouse()``: their schemas, one building."""
    b1 = Lakehouse(f"{storage_root}/lakehouse", building_id="b1")
    b2 = b1.scoped("b2")
    b1.replace_partitions("t", rows(DAYS, "one"), dates=DAYS)
    b2.replace_partitions("t", rows(DAYS, "two", per_day=2), dates=DAYS)
    assert b1.partition_columns("t") == ["building_id", "date"]
    assert sorted_rows(b1.read("t")) == sorted_rows(rows(DAYS, "one"))  # no building_id
    assert (
        b1.read("t", dates=[DAY2], columns=["building_id"]).to_pylist()
        == [{"building_id": "b1"}] * 5
    )
    counts = b2.key_counts("t", "sensor_id", dates=[DAY1]).to_pylist()
    assert sorted(counts, key=str) == [
        {"sensor_id": "two-0", "rows": 1},
        {"sensor_id": "two-1", "rows": 1},
    ]
    assert b1.read("t", dates=[]).column_names == ["sensor_id", "value", "date"]
    # An unscoped lakehouse sees every building, with the column.
    assert b1.scoped(None).read("t").num_rows == 15 + 6

    # A table without days (the registry's sensors) is read as it is.
    b1.replace_table("sensors", pa.table({"sensor_id": ["s"], "building_id": ["b1"]}))
    assert b1.read("sensors").column_names == ["sensor_id", "building_id"]


def test_a_scoped_lakehouse_refuses_a_table_written_before_buildings(tmp_path):
    old = Lakehouse(str(tmp_path / "lakehouse"))
    old.replace_partitions("raw_observations", rows(DAYS, "x"), dates=DAYS)
    scoped = old.scoped("snuk-reference-office")
    for attempt in (
        lambda: scoped.read("raw_observations"),
        lambda: scoped.key_counts("raw_observations", "sensor_id", dates=DAYS),
        lambda: scoped.replace_partitions("raw_observations", rows([DAY1], "x"), dates=[DAY1]),
    ):
        with pytest.raises(LakehouseError, match="date only .*run `snuk migrate` once"):
            attempt()
    # The migration writes the scope's building, and the scoped reads then work.
    assert scoped.migrate_to_buildings("raw_observations").rows == 15
    assert sorted_rows(scoped.read("raw_observations")) == sorted_rows(rows(DAYS, "x"))
    with pytest.raises(ValueError, match="needs the building"):
        Lakehouse(str(tmp_path / "lakehouse")).migrate_to_buildings("raw_observations")
