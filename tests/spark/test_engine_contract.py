"""The engine contract, run against LocalEngine (in-process and pooled) and SparkEngine."""

from __future__ import annotations

import datetime as dt
import functools
import sys

import pandas as pd
import pyarrow as pa
import pytest
from pyspark import cloudpickle

from snuk_assets.engines import TARGET_DATE, LocalEngine, SparkEngine
from snuk_assets.lakehouse import Lakehouse

# Spark's Python workers cannot import this test module: ship its group functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

D1, D2, D3 = dt.date(2016, 6, 1), dt.date(2016, 6, 2), dt.date(2016, 6, 3)
SOURCE = pa.schema([("room_id", pa.string()), ("value", pa.float64()), ("date", pa.date32())])
TOTALS = pa.schema([("room_id", pa.string()), ("total", pa.float64()), ("date", pa.date32())])
COUNTS = pa.schema([("room_id", pa.string()), ("rows", pa.int64())])


@pytest.fixture(params=["in_process", "spawned_pool", "spark"])
def engine(request):
    if request.param == "spark":
        return SparkEngine.on(request.getfixturevalue("spark"))
    return LocalEngine(max_workers=1 if request.param == "in_process" else 2)


@pytest.fixture(params=[None, "b1"], ids=["unscoped", "one_building"])
def lakehouse(request, tmp_path) -> Lakehouse:
    """The source table; scoped to building b1 (as ``SnukSettings.lakehouse()`` is), beside a
    building b2 whose rows would change every result if a stage read them."""
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"), building_id=request.param)
    source = pa.table(
        {
            "room_id": ["a", "b", "a", None, "a", "b"],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "date": [D1, D1, D2, D2, D3, D3],
        },
        schema=SOURCE,
    )
    lakehouse.replace_partitions("source", source, dates=[D1, D2, D3])
    if request.param is not None:
        other = lakehouse.scoped("b2")
        other.replace_partitions("source", source, dates=[D1, D2, D3])
        other.replace_partitions(
            "target",
            pa.table({"room_id": ["b2"], "total": [9.0], "date": [D2]}, TOTALS),
            dates=[D2],
        )
    yield lakehouse
    if request.param is not None:  # b2's target as it was
        assert other.read("target").to_pylist() == [{"room_id": "b2", "total": 9.0, "date": D2}]


def total(group: pd.DataFrame, *, day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A room's total on ``day``, and how many rows it had."""
    room = group["room_id"].iloc[0]
    rows = pd.DataFrame({"room_id": [room], "total": [group["value"].sum()], "date": [day]})
    return rows, pd.DataFrame({"room_id": [room], "rows": [len(group)]})


def trailing_total(group: pd.DataFrame) -> pd.DataFrame:
    """A room's total over its target day's window, dated by the target day."""
    return pd.DataFrame(
        {
            "room_id": [group["room_id"].iloc[0]],
            "total": [group["value"].sum()],
            "date": [group[TARGET_DATE].iloc[0]],
        }
    )


def read(lakehouse: Lakehouse) -> list[dict]:
    rows = lakehouse.read("target").to_pylist()
    return sorted(rows, key=lambda r: (r["date"], r["room_id"] or ""))


def test_groups_of_all_source_days_write_one_commit_with_summaries(engine, lakehouse):
    lakehouse.replace_partitions(
        "target", pa.table({"room_id": ["old"], "total": [0.0], "date": [D1]}, TOTALS), dates=[D1]
    )
    result = engine.transform_partitions(
        lakehouse,
        source="source",
        source_dates=[D1, D2],
        key="room_id",
        fn=functools.partial(total, day=D2),
        output_schema=TOTALS,
        summary_schema=COUNTS,
        target="target",
        target_dates=[D2],
    )
    # D1 untouched; a null key is a group of its own, as on Spark.
    assert read(lakehouse) == [
        {"room_id": "old", "total": 0.0, "date": D1},
        {"room_id": None, "total": 4.0, "date": D2},
        {"room_id": "a", "total": 4.0, "date": D2},
        {"room_id": "b", "total": 2.0, "date": D2},
    ]
    assert result.write.rows == 3 and result.write.dates == (D2,)
    summary = result.summary.sort_values("room_id", na_position="first")
    assert [r if isinstance(r, str) else None for r in summary["room_id"]] == [None, "a", "b"]
    assert summary["rows"].tolist() == [1, 2, 1]


def test_source_days_per_target_day_group_by_day_and_key(engine, lakehouse):
    result = engine.transform_partitions(
        lakehouse,
        source="source",
        source_dates={D2: [D1, D2], D3: [D2, D3]},
        columns=["room_id", "value"],
        key="room_id",
        fn=trailing_total,
        output_schema=TOTALS,
        target="target",
        target_dates=[D2, D3],
    )
    assert [(r["date"], r["room_id"], r["total"]) for r in read(lakehouse)] == [
        (D2, None, 4.0),
        (D2, "a", 4.0),
        (D2, "b", 2.0),
        (D3, None, 4.0),
        (D3, "a", 8.0),
        (D3, "b", 6.0),
    ]
    assert result.summary.empty


def test_a_missing_source_empties_the_partitions_when_allowed(engine, lakehouse):
    result = engine.transform_partitions(
        lakehouse,
        source="not_yet",
        source_dates=[D1],
        key="room_id",
        fn=functools.partial(total, day=D1),
        output_schema=TOTALS,
        summary_schema=COUNTS,
        target="target",
        target_dates=[D1],
        missing_ok=True,
    )
    assert result.write.rows == 0 and read(lakehouse) == []
    assert list(result.summary.columns) == COUNTS.names and result.summary.empty


def count_rows(group: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"room_id": [group["room_id"].iloc[0]], "rows": [len(group)]})


def test_apply_per_group_sorts_by_key(engine):
    data = pd.DataFrame({"room_id": ["b", "a", "b", "c"], "value": [1.0, 2.0, 3.0, 4.0]})
    out = engine.apply_per_group(data, key="room_id", fn=count_rows, output_schema=COUNTS)
    assert out.to_dict("list") == {"room_id": ["a", "b", "c"], "rows": [1, 2, 1]}


TYPED = pa.schema(
    [
        ("room_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("date", pa.date32()),
    ]
)
TYPES = pa.schema([("room_id", pa.string()), ("types", pa.string()), ("first_ts", pa.string())])


def describe_types(group: pd.DataFrame) -> pd.DataFrame:
    """What a group function sees: each column's pandas dtype, and its first timestamp."""
    types = ",".join(f"{name}:{dtype}" for name, dtype in group.dtypes.items())
    first = group["ts"].min().isoformat()
    return pd.DataFrame(
        {"room_id": [group["room_id"].iloc[0]], "types": [types], "first_ts": [first]}
    )


def test_groups_see_the_same_types_and_time_zone_on_every_engine(engine):
    start = dt.datetime(2016, 6, 1, 22, 30, tzinfo=dt.UTC)
    data = pa.table(
        {
            "room_id": ["a", "b", "a"],
            "ts": [start, start + dt.timedelta(hours=1), start + dt.timedelta(hours=2)],
            "value": [1.0, 2.0, 3.0],
            "date": [D1, D1, D2],
        },
        schema=TYPED,
    )
    expected = LocalEngine(max_workers=1).apply_per_group(
        data, key="room_id", fn=describe_types, output_schema=TYPES
    )
    out = engine.apply_per_group(data, key="room_id", fn=describe_types, output_schema=TYPES)
    pd.testing.assert_frame_equal(out, expected)
    assert out["first_ts"].tolist() == ["2016-06-01T22:30:00+00:00", "2016-06-01T23:30:00+00:00"]


def test_groups_on_spark_span_arrow_batches(spark):
    """Groups cut out of sorted Arrow batches: a group split over batches is still one group."""
    rooms = [None, "a", "b", "a", None, "c", "b", "a", "a", "a", "a", "b"]
    data = pd.DataFrame({"room_id": rooms, "value": [float(i) for i in range(len(rooms))]})
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "2")
    try:
        out = SparkEngine.on(spark).apply_per_group(
            data, key="room_id", fn=count_rows, output_schema=COUNTS
        )
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    keys = [r if isinstance(r, str) else None for r in out["room_id"]]  # null: None or NaN
    assert (keys, out["rows"].tolist()) == (["a", "b", "c", None], [6, 3, 1, 2])


def test_sorted_batches_are_cut_into_groups_of_every_key():
    # Executor-side code alone (no JVM): batches sorted by (date, room), nulls first, as
    # Spark sorts them; groups continue across batch boundaries and break at any key change.
    from snuk_assets.engines.spark_arrow import _run_sorted_groups

    table = pa.table(
        {"date": [None, D1, D1, D1, D2, D2], "room_id": ["a", "a", "a", "b", "a", "a"]},
        schema=pa.schema([("date", pa.date32()), ("room_id", pa.string())]),
    )
    counted = pa.schema([("date", pa.date32()), ("room_id", pa.string()), ("rows", pa.int64())])

    def count(group: pa.Table) -> pa.Table:
        return pa.table(
            {"date": group["date"][:1], "room_id": group["room_id"][:1], "rows": [len(group)]},
            schema=counted,
        )

    batches = _run_sorted_groups(
        iter(table.to_batches(max_chunksize=2)),
        keys=["date", "room_id"],
        run=count,
        input_schema=table.schema,
        result_schema=counted,
    )
    assert pa.Table.from_batches(list(batches), counted).to_pylist() == [
        {"date": None, "room_id": "a", "rows": 1},
        {"date": D1, "room_id": "a", "rows": 2},
        {"date": D1, "room_id": "b", "rows": 1},
        {"date": D2, "room_id": "a", "rows": 2},
    ]
