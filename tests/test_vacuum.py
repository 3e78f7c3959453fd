"""Vacuum of replaced and orphaned Delta files, within Delta's retention rules (issue 20), and
the compaction of the append-only command audit before it."""

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

from snuk_assets.control.audit import AUDIT_SCHEMA, AUDIT_TABLE, append_audit
from snuk_assets.housekeeping import compact_appended
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


def audit_rows(room_id: str, when: dt.datetime) -> pa.Table:
    """One command's audit row, as ``CommandIssuer`` appends it (one commit a bin)."""
    row = {name: None for name in AUDIT_SCHEMA.names}
    row |= {"issued_at": when, "action": "command", "building_id": "b", "room_id": room_id}
    row |= {"sent": False, "dry_run": True, "date": when.date()}
    return pa.Table.from_pylist([row], schema=AUDIT_SCHEMA)


def test_the_command_audit_is_compacted_and_its_merged_files_vacuumed(tmp_path):
    lakehouse = Lakehouse(str(tmp_path))
    start = dt.datetime(2016, 8, 14, 8, 0, tzinfo=dt.UTC)
    for k in range(6):  # six bins of one day, then two of the next: eight small files
        append_audit(lakehouse, audit_rows(f"r{k}", start + dt.timedelta(minutes=5 * k)))
    for k in range(2):
        append_audit(lakehouse, audit_rows(f"s{k}", start + dt.timedelta(days=1, minutes=5 * k)))
    table_dir = tmp_path / AUDIT_TABLE
    before = lakehouse.read(AUDIT_TABLE).sort_by("issued_at")
    assert len(parquet_files(table_dir)) == 8

    assert compact_appended(lakehouse, dry_run=True) == {AUDIT_TABLE: 8}
    assert len(parquet_files(table_dir)) == 8
    assert compact_appended(lakehouse) == {AUDIT_TABLE: 8}  # one file a day now
    assert len(DeltaTable(str(table_dir)).file_uris()) == 2
    assert lakehouse.read(AUDIT_TABLE).sort_by("issued_at").equals(before)  # the same rows
    assert compact_appended(lakehouse) == {AUDIT_TABLE: 0}  # nothing left to merge

    # The merged files stay for the retention (7 days: none is deleted now), then go.
    assert lakehouse.vacuum()[AUDIT_TABLE] == []
    DeltaTable(str(table_dir)).alter.set_table_properties(
        {"delta.deletedFileRetentionDuration": "interval 0 hours"}
    )
    assert len(lakehouse.vacuum()[AUDIT_TABLE]) == 8
    assert len(parquet_files(table_dir)) == 2
    assert lakehouse.read(AUDIT_TABLE).sort_by("issued_at").equals(before)


def test_snuk_vacuum_compacts_the_command_audit(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lake"))
    start = dt.datetime(2016, 8, 14, 8, 0, tzinfo=dt.UTC)
    for k in range(3):
        append_audit(lakehouse, audit_rows(f"r{k}", start + dt.timedelta(minutes=5 * k)))
    result = subprocess.run(
        [sys.executable, "-m", "snuk_assets.cli", "vacuum"],
        env={**os.environ, "SNUK_LAKEHOUSE_URI": str(tmp_path / "lake")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "control_commands: merged 3 small files" in result.stdout.splitlines()
    assert len(DeltaTable(lakehouse.table_uri(AUDIT_TABLE)).file_uris()) == 1
