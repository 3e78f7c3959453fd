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


class BeforeBuildings(SnukSettings):
    """The settings of the pipeline before the switch: an unscoped lakehouse, so every stage
    (both ``Lakehouse`` writes and the engines' ``delta_io`` ones) writes date-only tables."""

    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.lakehouse_uri)


def step_errors(result) -> str:
    """Every failed step's error with its causes, as one text."""
    texts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


def test_snuk_migrate_moves_a_lakehouse_of_days_to_the_deployments_building(
    storage_root, monkeypatch, capsys
):
    """A lakehouse written by the pipeline of days only: refused, migrated by `snuk migrate`
    (once: a second run changes nothing), and the next stage then materializes on it."""
    from snuk_assets.assets.resampled_series import resampled_series
    from snuk_assets.assets.room_series import room_series
    from snuk_assets.cli import main
    from snuk_assets.engines import LocalEngine

    if not storage_root.startswith("s3://"):
        os.makedirs(f"{storage_root}/landing")
    uris = {"landing_uri": f"{storage_root}/landing", "lakehouse_uri": f"{storage_root}/lakehouse"}
    before, settings = BeforeBuildings(**uris), SnukSettings(**uris)
    for day in ("2016/08/13", "2016/08/14"):
        settings.landing().write_bytes(f"raw_data/{day}/gw01.txt", LINES.encode())
    resources = {"settings": before, "engine": LocalEngine()}
    for partition in ("2016-08-13", "2016-08-14"):
        stages = [sensors, raw_observations, resampled_series]
        assert materialize(stages, resources=resources, partition_key=partition).success
    old = Lakehouse(uris["lakehouse_uri"])
    names = ["quarantined_observations", "raw_observations", "resampled_series", "sensors"]
    assert old.table_names() == names
    assert {name: old.partition_columns(name) for name in names} == {
        **dict.fromkeys(names[:3], ["date"]),
        "sensors": [],
    }
    rows_before = {name: old.read(name) for name in names}
    versions = {name: old.table(name).version() for name in names}

    # The upgraded pipeline refuses the old layout, naming the command.
    resources = {"settings": settings, "engine": LocalEngine()}
    refused = materialize(
        [room_series], resources=resources, partition_key="2016-08-14", raise_on_error=False
    )
    assert not refused.success
    assert "partitioned by date only" in step_errors(refused)
    assert "run `snuk migrate` once" in step_errors(refused)

    monkeypatch.setenv("SNUK_LANDING_URI", uris["landing_uri"])
    monkeypatch.setenv("SNUK_LAKEHOUSE_URI", uris["lakehouse_uri"])
    capsys.readouterr()
    assert main(["migrate"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"lakehouse {old.uri}, building 'snuk-reference-office':"
    raw = rows_before["raw_observations"].num_rows
    assert f"  raw_observations: migrated, {raw:,d} rows of 2 days (Delta version " in printed[2]
    assert printed[-1] == "  sensors: left as it is (not partitioned by day)"
    for name in names[:3]:
        assert old.table(name).version() == versions[name] + 1  # one commit
        assert old.partition_columns(name) == ["building_id", "date"]
        migrated = old.read(name)
        assert set(migrated.column("building_id").to_pylist()) == {"snuk-reference-office"}
        assert sorted_rows(settings.lakehouse().read(name)) == sorted_rows(rows_before[name])
    assert old.table("sensors").version() == versions["sensors"]

    assert main(["migrate"]) == 0  # idempotent
    again = capsys.readouterr().out.splitlines()
    assert again[1:] == [
        "  quarantined_observations: already partitioned by building and day",
        "  raw_observations: already partitioned by building and day",
        "  resampled_series: already partitioned by building and day",
        "  sensors: left as it is (not partitioned by day)",
    ]
    assert all(old.table(name).version() == versions[name] + 1 for name in names[:3])

    # The next stage runs on the migrated tables, and writes the building's partitions.
    assert materialize([room_series], resources=resources, partition_key="2016-08-14").success
    assert old.partition_columns("room_series") == ["building_id", "date"]
    rooms = old.read("room_series", dates=[dt.date(2016, 8, 14)])
    assert rooms.num_rows > 0
    assert set(rooms.column("building_id").to_pylist()) == {"snuk-reference-office"}


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


def test_the_audit_table_takes_rows_before_and_after_its_migration(tmp_path):
    """control_commands carries its building_id: appends follow the table's layout, so a
    live deployment keeps auditing across `snuk migrate`, which keeps the rows' own ids."""
    from deltalake import write_deltalake

    from snuk_assets.control.audit import AUDIT_SCHEMA, AUDIT_TABLE, append_audit
    from snuk_assets.control.safety import read_audit

    def row(room_id: str, day: int) -> pa.Table:
        when = dt.datetime(2016, 8, day, 9, tzinfo=dt.UTC)
        values = {"issued_at": when, "action": "command", "building_id": "hq", "room_id": room_id}
        return pa.Table.from_pylist([{**values, "date": when.date()}], schema=AUDIT_SCHEMA)

    lakehouse = Lakehouse(str(tmp_path / "lakehouse"), building_id="hq")
    uri = lakehouse.table_uri(AUDIT_TABLE)
    write_deltalake(uri, row("r1", 13), partition_by=["date"])  # as SNUK wrote it before
    append_audit(lakehouse, row("r2", 14))
    assert lakehouse.partition_columns(AUDIT_TABLE) == ["date"]
    assert lakehouse.migrate_to_buildings(AUDIT_TABLE).rows == 2
    append_audit(lakehouse, row("r3", 14))
    assert lakehouse.partition_columns(AUDIT_TABLE) == ["building_id", "date"]
    audit = read_audit(lakehouse, since=dt.date(2016, 8, 14))
    assert sorted(audit.column("room_id").to_pylist()) == ["r2", "r3"]
    assert set(audit.column("building_id").to_pylist()) == {"hq"}
    fresh = Lakehouse(str(tmp_path / "fresh"))
    append_audit(fresh, row("r1", 13))
    assert fresh.partition_columns(AUDIT_TABLE) == ["building_id", "date"]


def tags(table: pa.Table) -> set[str]:
    return {sensor.rsplit("-", 1)[0] for sensor in table.column("sensor_id").to_pylist()}


def test_an_unfinished_ingest_of_one_building_is_hidden_from_its_reads_only(tmp_path):
    """The follower's dates are a building's: b1's ingest killed between its two commits,
    then b2's ingest of the same day landing whole, leave b1 reading its last committed rows."""
    b1 = Lakehouse(str(tmp_path / "lakehouse"), building_id="b1")
    b2 = b1.scoped("b2")

    def ingest(lakehouse: Lakehouse, tag: str) -> None:
        lakehouse.replace_partitions_together(
            [
                ("quarantined_observations", rows([DAY1], f"{tag}-q")),
                ("raw_observations", rows([DAY1], f"{tag}-r")),
            ],
            dates=[DAY1],
        )

    ingest(b1, "b1-first")
    committed = b1.table("quarantined_observations").version()  # b1's last committed write
    ingest(b2, "b2-first")
    b1.replace_partitions(  # the first half of an ingest that never finished
        "quarantined_observations", rows([DAY1], "b1-killed"), dates=[DAY1], ingest_id="killed"
    )
    ingest(b2, "b2-second")

    assert tags(b1.read("quarantined_observations")) == {"b1-first-q"}
    assert tags(b2.read("quarantined_observations")) == {"b2-second-q"}
    assert b1.key_counts("quarantined_observations", "sensor_id", dates=[DAY1]).num_rows == 5
    assert b1.uncommitted_dates("quarantined_observations") == {DAY1: committed}
    assert b2.uncommitted_dates("quarantined_observations") == {}
    done = b2.vacuum()
    assert done["quarantined_observations"].startswith("skipped: an unfinished ingest of 2016")
