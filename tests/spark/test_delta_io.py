"""Delta tables read and written by Spark through delta-rs, on a local folder and on moto S3."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pyarrow as pa
import pytest

from snuk_assets.engines.delta_io import read_partitions, replace_partitions
from snuk_assets.engines.spark_arrow import arrow_to_spark, spark_to_arrow
from snuk_assets.lakehouse import Lakehouse, LakehouseError

D1, D2, D3 = dt.date(2016, 6, 1), dt.date(2016, 6, 2), dt.date(2016, 6, 3)
SCHEMA = pa.schema(
    [
        ("sensor_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("n_obs", pa.int64()),
        ("date", pa.date32()),
    ]
)


def rows(day: dt.date, sensors: list[str], value: float) -> pa.Table:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return pa.table(
        {
            "sensor_id": sensors,
            "ts": [start + dt.timedelta(hours=i) for i in range(len(sensors))],
            "value": [value + i for i in range(len(sensors))],
            "n_obs": list(range(len(sensors))),
            "date": [day] * len(sensors),
        },
        schema=SCHEMA,
    )


def as_sorted(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: (r["date"], r["sensor_id"]))


def spark_frame(spark, table: pa.Table):
    # Arrow in and out (spark_to_arrow below), the same on PySpark 3.5 and 4.
    return arrow_to_spark(spark, table)


def test_replace_then_read_back(spark, storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions(
        "t", pa.concat_tables([rows(D1, ["a"], 1.0), rows(D2, ["b"], 2.0)]), dates=[D1, D2]
    )
    new = pa.concat_tables([rows(D2, ["c", "d"], 5.0), rows(D3, ["e"], 7.0)])

    report = replace_partitions(
        spark_frame(spark, new), lakehouse, "t", dates=[D2, D3], schema=SCHEMA
    )

    assert report.rows == 3 and report.dates == (D2, D3) and report.attempts == 1
    # D1 untouched, D2 replaced (b is gone), D3 added; Lakehouse.read sees the date column.
    expected = pa.concat_tables([rows(D1, ["a"], 1.0), new])
    assert as_sorted(lakehouse.read("t")) == as_sorted(expected)
    # Delta layout: one file per day under date=YYYY-MM-DD, without the partition column.
    uris = lakehouse.table("t").file_uris(file_pruning_predicate=[("date", "in", ["2016-06-02"])])
    assert len(uris) == 1 and "/date=2016-06-02/part-" in uris[0]
    # Spark reads the same rows back, only the named partitions.
    back = spark_to_arrow(read_partitions(spark, lakehouse, "t", dates=[D2, D3]))
    assert as_sorted(back.cast(SCHEMA)) == as_sorted(new)
    some = read_partitions(spark, lakehouse, "t", dates=[D1], columns=["value", "date"])
    assert spark_to_arrow(some).to_pylist() == [{"value": 1.0, "date": D1}]


def test_first_write_creates_the_table_and_empty_data_empties_partitions(spark, tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lh"))
    first = pa.concat_tables([rows(D1, ["a", "b"], 1.0), rows(D2, ["c"], 3.0)])
    replace_partitions(spark_frame(spark, first), lakehouse, "t", dates=[D1, D2], schema=SCHEMA)
    assert lakehouse.table("t").metadata().partition_columns == ["date"]
    assert as_sorted(lakehouse.read("t")) == as_sorted(first)

    empty = spark.createDataFrame([], spark_frame(spark, first).schema)
    report = replace_partitions(empty, lakehouse, "t", dates=[D1], schema=SCHEMA)
    assert report.rows == 0
    assert as_sorted(lakehouse.read("t")) == as_sorted(rows(D2, ["c"], 3.0))
    assert read_partitions(spark, lakehouse, "t", dates=[D1]).count() == 0


def test_a_new_column_joins_the_table_and_older_files_read_it_as_null(spark, tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lh"))
    lakehouse.replace_partitions("t", rows(D1, ["a"], 1.0), dates=[D1])
    wider = SCHEMA.insert(4, pa.field("idle", pa.float64()))
    newer = rows(D2, ["b"], 2.0).add_column(4, "idle", pa.array([3.5]))

    replace_partitions(spark_frame(spark, newer), lakehouse, "t", dates=[D2], schema=wider)

    back = spark_to_arrow(read_partitions(spark, lakehouse, "t", columns=["sensor_id", "idle"]))
    assert sorted(back.to_pylist(), key=lambda r: r["sensor_id"]) == [
        {"sensor_id": "a", "idle": None},
        {"sensor_id": "b", "idle": 3.5},
    ]


def test_rows_outside_the_partitions_fail_before_any_commit(spark, tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lh"))
    lakehouse.replace_partitions("t", rows(D1, ["a"], 1.0), dates=[D1])
    version = lakehouse.table("t").version()
    with pytest.raises(Exception, match="outside the partitions being replaced"):
        replace_partitions(
            spark_frame(spark, rows(D3, ["x"], 9.0)), lakehouse, "t", dates=[D1], schema=SCHEMA
        )
    assert lakehouse.table("t").version() == version
    assert as_sorted(lakehouse.read("t")) == as_sorted(rows(D1, ["a"], 1.0))


class RacedLakehouse(Lakehouse):
    """Hands out one stale snapshot, the commit's: another writer commits the same day right
    after it loads (the snapshot before it is the layout check, before any file is written)."""

    def __init__(self, root_uri: str, *, rival: pa.Table):
        super().__init__(root_uri)
        self.rival = rival
        self.snapshots = 0

    def table(self, name: str):
        snapshot = super().table(name)
        self.snapshots += 1
        if self.rival is not None and self.snapshots == 2:
            rival, self.rival = self.rival, None
            Lakehouse(self.uri).replace_partitions(name, rival, dates=[D2])
        return snapshot


def test_a_commit_conflict_is_retried_and_the_last_writer_wins(spark, tmp_path):
    root = str(tmp_path / "lh")
    Lakehouse(root).replace_partitions("t", rows(D2, ["a"], 1.0), dates=[D2])
    lakehouse = RacedLakehouse(root, rival=rows(D2, ["rival"], 2.0))
    ours = rows(D2, ["ours"], 3.0)

    report = replace_partitions(spark_frame(spark, ours), lakehouse, "t", dates=[D2], schema=SCHEMA)

    assert report.attempts == 2
    assert as_sorted(Lakehouse(root).read("t")) == as_sorted(ours)


def test_importing_the_spark_modules_imports_neither_pyspark_nor_deltalake():
    # pyspark: importing SNUK must not need Spark. deltalake: these modules are unpickled in
    # Spark's forked Python workers, where delta-rs panics.
    code = (
        "import sys, snuk_assets.engines.spark_session, snuk_assets.engines.delta_io, "
        "snuk_assets.emr.jobs; "
        "print(sorted(m for m in ('pyspark', 'deltalake') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_scoped_lakehouse_writes_and_reads_its_building_partitions(spark, storage_root):
    """Through a lakehouse scoped to b1: files below building_id=b1/date=..., b2 untouched,
    and reads of b1's files only, without the building_id column (as ``Lakehouse.read``)."""
    b1 = Lakehouse(storage_root, building_id="b1")
    b2 = b1.scoped("b2")
    b2.replace_partitions(
        "t", pa.concat_tables([rows(D1, ["x"], 0.0), rows(D2, ["y"], 0.0)]), dates=[D1, D2]
    )
    b2_files = set(b2.table("t").file_uris())
    replace_partitions(spark_frame(spark, rows(D1, ["a"], 1.0)), b1, "t", dates=[D1], schema=SCHEMA)
    new = pa.concat_tables([rows(D2, ["c", "d"], 5.0)])

    report = replace_partitions(spark_frame(spark, new), b1, "t", dates=[D2], schema=SCHEMA)

    assert report.rows == 2
    assert b2_files <= set(b1.table("t").file_uris())
    assert as_sorted(b1.read("t")) == as_sorted(pa.concat_tables([rows(D1, ["a"], 1.0), new]))
    uris = b1.table("t").file_uris(
        file_pruning_predicate=[("building_id", "=", "b1"), ("date", "=", "2016-06-02")]
    )
    assert len(uris) == 1 and "/building_id=b1/date=2016-06-02/part-" in uris[0]
    back = spark_to_arrow(read_partitions(spark, b1, "t", dates=[D2]))
    assert as_sorted(back.cast(SCHEMA)) == as_sorted(new)
    assert spark_to_arrow(read_partitions(spark, b2, "t", columns=["sensor_id"])).num_rows == 2
    # Unscoped, Spark reads every building's rows with building_id, as Lakehouse.read does.
    every = spark_to_arrow(read_partitions(spark, b1.scoped(None), "t"))
    assert sorted(every.column("building_id").to_pylist()) == ["b1"] * 3 + ["b2"] * 2


def test_a_scoped_write_to_a_table_of_days_only_is_refused(spark, tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lh"))
    lakehouse.replace_partitions("t", rows(D1, ["a"], 1.0), dates=[D1])
    scoped = lakehouse.scoped("b1")
    with pytest.raises(LakehouseError, match="date only .*snuk migrate"):
        replace_partitions(
            spark_frame(spark, rows(D1, ["b"], 2.0)), scoped, "t", dates=[D1], schema=SCHEMA
        )
    with pytest.raises(LakehouseError, match="date only .*snuk migrate"):
        read_partitions(spark, scoped, "t")
