"""Vacuum of replaced and orphaned Delta files, within Delta's retention rules (issue 20)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from snuk_assets.lakehouse import Lakehouse, LakehouseError

DAY = dt.date(2016, 8, 14)


def rows(tag: str) -> pa.Table:
    return pa.table({"tag": [tag], "date": pa.array([DAY], pa.date32())})


def parquet_files(table_dir: Path) -> set[str]:
    return {str(p.relative_to(table_dir)) for p in table_dir.rglob("*.parquet")}


def test_vacuum_deletes_replaced_and_orphaned_files_past_the_retention(tmp_path):
    lakehouse = Lakehouse(str(tmp_path))
    lakehouse.replace_partitions("t", rows("a"), dates=[DAY])
    lakehouse.replace_partitions("t", rows("b"), dates=[DAY])
    table_dir = tmp_path / "t"
    orphan = table_dir / f"date={DAY}" / "part-orphan-of-a-crashed-write.parquet"
    orphan.write_bytes(b"PAR1")
    week_ago = time.time() - 8 * 86400
    os.utime(orphan, (week_ago, week_ago))
    assert len(parquet_files(table_dir)) == 3

    # The retention is 7 days by default: the 8-day-old orphan goes, the file replaced a
    # moment ago stays (a reader of the previous version may still need it).
    assert lakehouse.vacuum(dry_run=True) == {"t": [orphan.relative_to(table_dir).as_posix()]}
    assert len(parquet_files(table_dir)) == 3
    assert len(lakehouse.vacuum()["t"]) == 1
    # A retention shorter than the table's is refused (Delta's rule).
    with pytest.raises(LakehouseError, match="vacuuming the Delta table .*t failed"):
        lakehouse.vacuum(retention_hours=1)

    # A table whose retention is 0 hours: the replaced file goes too.
    DeltaTable(str(table_dir)).alter.set_table_properties(
        {"delta.deletedFileRetentionDuration": "interval 0 hours"}
    )
    assert len(lakehouse.vacuum()["t"]) == 1
    assert len(parquet_files(table_dir)) == 1
    assert lakehouse.read("t")["tag"].to_pylist() == ["b"]


def test_a_follower_with_an_unfinished_ingest_is_not_vacuumed(tmp_path):
    lakehouse = Lakehouse(str(tmp_path))
    lakehouse.replace_partitions_together(
        [("quarantined_observations", rows("q1")), ("raw_observations", rows("r1"))], dates=[DAY]
    )
    # The first half of an ingest that never finished.
    lakehouse.replace_partitions(
        "quarantined_observations", rows("q2"), dates=[DAY], ingest_id="killed"
    )
    assert lakehouse.read("quarantined_observations")["tag"].to_pylist() == ["q1"]
    done = lakehouse.vacuum()
    assert done["quarantined_observations"].startswith("skipped: an unfinished ingest of 2016")
    assert done["raw_observations"] == []


def test_snuk_vacuum_runs_from_the_command_line(tmp_path):
    Lakehouse(str(tmp_path / "lake")).replace_partitions("t", rows("a"), dates=[DAY])
    result = subprocess.run(
        [sys.executable, "-m", "snuk_assets.cli", "vacuum", "--dry-run"],
        env={**os.environ, "SNUK_LAKEHOUSE_URI": str(tmp_path / "lake")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "t: would delete 0 files"
