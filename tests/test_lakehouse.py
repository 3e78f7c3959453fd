"""Partition replacement on real Delta tables, on local disk and on S3 (moto server)."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pyarrow as pa
import pytest

from snuk_assets.lakehouse import Lakehouse, LakehouseError, partition_predicate

DAY1, DAY2, DAY3 = (dt.date(2016, 8, d) for d in (1, 2, 3))


def rows(days: list[dt.date], tag: str, per_day: int = 5) -> pa.Table:
    return pa.table(
        {
            "sensor_id": pa.array([f"{tag}-{i}" for _ in days for i in range(per_day)]),
            "value": pa.array([float(i) for _ in days for i in range(per_day)]),
            "date": pa.array([d for d in days for _ in range(per_day)], pa.date32()),
        }
    )


def by_day(lakehouse: Lakehouse, name: str = "t") -> dict[dt.date, list[tuple]]:
    table = lakehouse.read(name).to_pylist()
    out: dict[dt.date, list[tuple]] = {}
    for row in table:
        out.setdefault(row["date"], []).append((row["sensor_id"], row["value"]))
    return {day: sorted(values) for day, values in out.items()}


def test_partition_predicate_collapses_runs():
    assert partition_predicate([DAY3, DAY1, DAY2]) == (
        "(date >= '2016-08-01' AND date <= '2016-08-03')"
    )
    assert partition_predicate([DAY1, DAY3]) == "date = '2016-08-01' OR date = '2016-08-03'"


def test_rewrite_one_day_leaves_the_others(storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions("t", rows([DAY1, DAY2, DAY3], "a"), dates=[DAY1, DAY2, DAY3])
    before = by_day(lakehouse)

    lakehouse.replace_partitions("t", rows([DAY2], "b", per_day=3), dates=[DAY2])

    after = by_day(lakehouse)
    assert after[DAY1] == before[DAY1] and after[DAY3] == before[DAY3]
    assert [s for s, _ in after[DAY2]] == ["b-0", "b-1", "b-2"]


def test_rewrite_a_range_in_one_commit(storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions("t", rows([DAY1, DAY2, DAY3], "a"), dates=[DAY1, DAY2, DAY3])
    version = lakehouse.table("t").version()

    report = lakehouse.replace_partitions("t", rows([DAY2, DAY3], "c"), dates=[DAY2, DAY3])

    assert report.version == version + 1  # one atomic commit for the whole range
    after = by_day(lakehouse)
    assert {s[0] for s in after[DAY1]} == {f"a-{i}" for i in range(5)}
    assert {s[0] for s in after[DAY2] + after[DAY3]} == {f"c-{i}" for i in range(5)}


def test_same_partition_twice_gives_the_same_rows(storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions("t", rows([DAY2], "a"), dates=[DAY2])
    first = by_day(lakehouse)
    lakehouse.replace_partitions("t", rows([DAY2], "a"), dates=[DAY2])
    assert by_day(lakehouse) == first


def test_empty_data_empties_the_partition(storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions("t", rows([DAY1, DAY2], "a"), dates=[DAY1, DAY2])
    lakehouse.replace_partitions("t", rows([], "a"), dates=[DAY2])
    assert set(by_day(lakehouse)) == {DAY1}


def test_reads_select_partitions(storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions("t", rows([DAY1, DAY2, DAY3], "a"), dates=[DAY1, DAY2, DAY3])
    selected = lakehouse.read("t", dates=[DAY1, DAY3])
    assert set(selected["date"].to_pylist()) == {DAY1, DAY3}
    assert lakehouse.read("t", dates=[]).num_rows == 0
    assert lakehouse.read("t", dates=[DAY2], columns=["value"]).column_names == ["value"]


def test_rows_outside_the_replaced_partitions_are_refused(storage_root):
    lakehouse = Lakehouse(storage_root)
    with pytest.raises(ValueError, match="outside the partitions being replaced"):
        lakehouse.replace_partitions("t", rows([DAY1, DAY2], "a"), dates=[DAY1])
    assert not lakehouse.exists("t")


def test_a_missing_table_says_which_asset_to_materialize(storage_root):
    with pytest.raises(LakehouseError, match="materialize the asset 'nope'"):
        Lakehouse(storage_root).read("nope")
    assert Lakehouse(storage_root).read("nope", missing_ok=True) is None


def test_a_new_column_joins_the_table_and_older_partitions_read_it_as_null(storage_root):
    lakehouse = Lakehouse(storage_root)
    lakehouse.replace_partitions("t", rows([DAY1, DAY2], "old"), dates=[DAY1, DAY2])
    with pytest.raises(LakehouseError, match=r"has no columns \['idle'\].*materialize 't' again"):
        lakehouse.read("t", columns=["sensor_id", "idle"])

    newer = rows([DAY2], "new").append_column("idle", pa.array([1.5] * 5))
    lakehouse.replace_partitions("t", newer, dates=[DAY2])

    read = lakehouse.read("t", columns=["sensor_id", "idle", "date"]).to_pylist()
    assert {r["idle"] for r in read if r["date"] == DAY1} == {None}
    assert {(r["sensor_id"][:3], r["idle"]) for r in read if r["date"] == DAY2} == {("new", 1.5)}


def _replace_day_repeatedly(root: str, day_index: int) -> list[int]:
    lakehouse = Lakehouse(root)
    day = DAY1 + dt.timedelta(days=day_index)
    return [
        lakehouse.replace_partitions("t", rows([day], f"p{day_index}", 50), dates=[day]).attempts
        for _ in range(3)
    ]


def test_parallel_writers_of_different_partitions_all_succeed(storage_root):
    """A backfill runs partitions in parallel processes: every commit lands, no row is lost.

    deltalake panics in forked processes, so the workers are spawned.
    """
    n_days = 8
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        attempts = pool.starmap(_replace_day_repeatedly, [(storage_root, i) for i in range(n_days)])

    lakehouse = Lakehouse(storage_root)
    days = by_day(lakehouse)
    assert len(days) == n_days
    assert all(len(values) == 50 for values in days.values())
    assert lakehouse.read("t").num_rows == n_days * 50
    assert all(len(a) == 3 for a in attempts)


def test_a_commit_conflict_is_retried(tmp_path):
    """The retry loop itself: a conflicting commit is tried again, other errors are not."""
    from deltalake.exceptions import CommitFailedError

    lakehouse = Lakehouse(str(tmp_path))
    calls = []

    def conflicting_then_fine():
        calls.append(1)
        if len(calls) < 3:
            raise CommitFailedError("Transaction failed: concurrent transaction conflict")

    assert lakehouse.commit_with_retries(conflicting_then_fine, "t") == 3

    def broken():
        raise CommitFailedError("still conflicting")

    lakehouse.max_commit_attempts = 2
    with pytest.raises(LakehouseError, match="writing t failed"):
        lakehouse.commit_with_retries(broken, "t")
