"""The local engine reads a long range a chunk of whole keys at a time (issue 19).

Chunking must not change what a stage writes or summarizes, and it must bound memory: Arrow's
allocations are counted by a proxy memory pool set as the default for the stage (no timing, no
RSS: the same input allocates the same bytes), so a range four times as long peaks near the
short one instead of four times as high.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pyarrow as pa
import pytest

from snuk_assets.engines import LocalEngine
from snuk_assets.engines.local import _in_order, key_ranges
from snuk_assets.lakehouse import KeyRange, Lakehouse

START = dt.date(2016, 6, 1)
SOURCE = pa.schema([("room_id", pa.string()), ("value", pa.float64()), ("date", pa.date32())])
ROWS = pa.schema([("room_id", pa.string()), ("value", pa.float64()), ("date", pa.date32())])
SUMMARY = pa.schema([("room_id", pa.string()), ("rows", pa.int64()), ("total", pa.float64())])
# A buffer frees itself through the pool it came from: the pools live as long as the module.
_POOLS: list[pa.MemoryPool] = []


def doubled(group: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every row back with its value doubled, and the group's row count and total."""
    rows = group[["room_id", "value", "date"]].assign(value=group["value"] * 2)
    room = group["room_id"].iloc[0]
    summary = pd.DataFrame(
        {"room_id": [room], "rows": [len(group)], "total": [group["value"].sum()]}
    )
    return rows, summary


def write_source(lakehouse: Lakehouse, *, rooms: int, days: int, rows_per_day: int) -> list:
    dates = [START + dt.timedelta(days=d) for d in range(days)]
    n = rooms * rows_per_day
    for day in dates:
        room_ids = [None if r == rooms - 1 else f"room-{r:04d}" for r in range(rooms)]
        table = pa.table(
            {
                "room_id": room_ids * rows_per_day,
                "value": [float(i + day.day) for i in range(n)],
                "date": [day] * n,
            },
            schema=SOURCE,
        )
        lakehouse.replace_partitions("source", table, dates=[day])
    return dates


def run(engine: LocalEngine, lakehouse: Lakehouse, dates: list, *, parallel: bool = False):
    return engine.transform_partitions(
        lakehouse,
        source="source",
        source_dates=dates,
        key="room_id",
        fn=doubled,
        output_schema=ROWS,
        summary_schema=SUMMARY,
        target="target",
        target_dates=dates,
        parallel=parallel,
    )


def sorted_rows(table: pa.Table) -> list[tuple]:
    return sorted((r["date"], r["room_id"] or "", r["value"]) for r in table.to_pylist())


def test_chunks_of_keys_write_and_summarize_what_one_chunk_does(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    dates = write_source(lakehouse, rooms=7, days=3, rows_per_day=4)
    whole = run(LocalEngine(), lakehouse, dates)
    whole_rows = sorted_rows(lakehouse.read("target"))
    # 12 rows a room: every chunk holds one or two rooms, the null room comes last.
    chunked = run(LocalEngine(chunk_rows=25), lakehouse, dates)
    assert sorted_rows(lakehouse.read("target")) == whole_rows
    assert chunked.write.rows == whole.write.rows == 7 * 3 * 4
    pd.testing.assert_frame_equal(chunked.summary, whole.summary)
    assert chunked.summary["room_id"].isna().tolist() == [False] * 6 + [True]


def test_key_ranges_are_runs_of_whole_keys_within_the_budget():
    counts = pa.table(
        {"room_id": ["c", None, "a", "d", "b", "e"], "rows": [5, 2, 3, 20, 4, 1]},
        schema=pa.schema([("room_id", pa.string()), ("rows", pa.int64())]),
    )
    assert key_ranges(counts, "room_id", max_rows=10) == [
        KeyRange("room_id", "a", "b"),
        KeyRange("room_id", "c", "c"),
        KeyRange("room_id", "d", "d"),  # more than the budget alone
        KeyRange("room_id", "e", "e"),
        KeyRange("room_id", None, None),
    ]


def test_key_ranges_hold_at_most_max_keys_keys():
    counts = pa.table(
        {"room_id": ["c", None, "a", "d", "b", "e"], "rows": [5, 2, 3, 20, 4, 1]},
        schema=pa.schema([("room_id", pa.string()), ("rows", pa.int64())]),
    )
    assert key_ranges(counts, "room_id", max_rows=100, max_keys=2) == [
        KeyRange("room_id", "a", "b"),
        KeyRange("room_id", "c", "d"),
        KeyRange("room_id", "e", "e"),
        KeyRange("room_id", None, None),
    ]
    assert key_ranges(counts, "room_id", max_rows=10, max_keys=2)[:3] == [
        KeyRange("room_id", "a", "b"),
        KeyRange("room_id", "c", "c"),  # the budget of rows still holds
        KeyRange("room_id", "d", "d"),
    ]


def test_a_stage_of_slow_groups_in_workers_writes_and_summarizes_what_one_process_does(tmp_path):
    # In workers the driver reads a few keys per worker at a time (8 for 2 workers: here
    # two chunks and the null key's) and hands over a few groups at once, in key order.
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    dates = write_source(lakehouse, rooms=11, days=2, rows_per_day=3)
    alone = run(LocalEngine(), lakehouse, dates, parallel=True)
    alone_rows = lakehouse.read("target").to_pylist()
    workers = run(LocalEngine(max_workers=2), lakehouse, dates, parallel=True)
    assert lakehouse.read("target").to_pylist() == alone_rows
    assert workers.write.rows == alone.write.rows == 11 * 2 * 3
    pd.testing.assert_frame_equal(workers.summary, alone.summary)


def test_workers_are_handed_only_a_few_groups_ahead_of_the_results():
    pulled = []

    def items():
        for n in range(10):
            pulled.append(n)
            yield -n

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        results = _in_order(pool, abs, items(), ahead=3)
        assert next(results) == 0
        assert len(pulled) == 3  # Executor.map would have taken all 10
        assert list(results) == list(range(1, 10))


def test_key_counts_and_a_key_range_read_agree(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    dates = write_source(lakehouse, rooms=4, days=2, rows_per_day=3)
    counts = lakehouse.key_counts("source", "room_id", dates=dates[1:])
    assert dict(zip(*counts.to_pydict().values(), strict=True)) == {
        "room-0000": 3,
        "room-0001": 3,
        "room-0002": 3,
        None: 3,
    }
    middle = lakehouse.read(
        "source", dates=dates, keys=KeyRange("room_id", "room-0001", "room-0002")
    )
    assert sorted(set(middle["room_id"].to_pylist())) == ["room-0001", "room-0002"]
    assert middle.num_rows == 12
    nulls = lakehouse.read("source", dates=dates, keys=KeyRange("room_id", None, None))
    assert nulls.num_rows == 6 and nulls["room_id"].null_count == 6


def peak_arrow_bytes(tmp_path, days: int) -> int:
    lakehouse = Lakehouse(str(tmp_path / f"lakehouse-{days}"))
    dates = write_source(lakehouse, rooms=400, days=days, rows_per_day=20)
    engine = LocalEngine(chunk_rows=8_000)
    default = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(default)
    _POOLS.append(pool)
    pa.set_memory_pool(pool)
    try:
        result = run(engine, lakehouse, dates)
    finally:
        pa.set_memory_pool(default)
    assert result.write.rows == 400 * days * 20
    return pool.max_memory()


@pytest.fixture(scope="module")
def short_and_long(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("chunk-memory")
    return peak_arrow_bytes(tmp_path, 2), peak_arrow_bytes(tmp_path, 8)


def test_a_range_four_times_as_long_peaks_near_the_short_one(short_and_long):
    short, long = short_and_long
    # Holding the range's rows or results, as before, would take about four times the peak.
    assert long < 1.5 * short, (short, long)


def test_each_day_is_written_as_one_file_in_one_commit(tmp_path):
    # The days go to Parquet one after another (delta-rs' writer would hold every day's file
    # in memory until the commit): still one commit, one file a day, and file statistics
    # that key-range reads skip by without losing rows.
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    dates = write_source(lakehouse, rooms=5, days=4, rows_per_day=3)
    run(LocalEngine(chunk_rows=10), lakehouse, dates)
    first = lakehouse.table("target").version()
    result = run(LocalEngine(chunk_rows=10), lakehouse, dates[1:3])
    table = lakehouse.table("target")
    assert table.version() == first + 1
    assert result.write.rows == 5 * 2 * 3
    files = [uri.rsplit("/", 2)[-2] for uri in table.file_uris()]
    assert sorted(files) == [f"date={day}" for day in dates]
    assert sorted_rows(lakehouse.read("target")) == sorted(
        (day, room or "", 2 * value) for day, room, value in sorted_rows(lakehouse.read("source"))
    )
    some = lakehouse.read("target", keys=KeyRange("room_id", "room-0001", "room-0002"))
    assert some.num_rows == 2 * 4 * 3
    assert json.loads(table.history(1)[0]["snuk.dates"]) == [d.isoformat() for d in dates[1:3]]
