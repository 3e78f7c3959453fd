"""A lakehouse per (building, day): rows, Delta data files and bytes of each table (issue 22).

    .venv/bin/python benchmarks/lakehouse_footprint.py --lakehouse DIR --days 7

Reads every Delta table under ``DIR`` with deltalake (the current version's add actions: rows,
bytes and partition values of each live data file) and its ``_delta_log`` folder (commits,
checkpoints, bytes). ``--start`` and ``--days`` are the simulated days. A day's rows: in the
tables partitioned by arrival day (``ARRIVAL_TABLES``), all rows over the simulated days (late
files land in arrival days after them, but observe the simulated days); in the others, the mean
over the partitions of the simulated days (the lateness window's partitions hold only the days'
edges); an unpartitioned table (``sensors``) is the building's, not a day's. Used for the
"10,000 buildings, on paper" section of benchmarks/README.md, on the lakehouse a short
``portfolio_benchmark.py`` run leaves behind.

With ``--log-sample N``, what the Delta log costs per data file at a portfolio's scale: each
table's first row is written again as N one-row partitions (N / 10 buildings x 10 days, one
commit) into a scratch table, which is then checkpointed; the commit's and the checkpoint's
bytes per add action are the figures (the statistics of a file are per column, so their size
depends on the schema, little on the rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import sys
import tempfile

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from report import write_report  # noqa: E402

# Partitioned by the day a file arrived, not the day observed.
ARRIVAL_TABLES = ("raw_observations", "quarantined_observations")


def table_footprint(path: pathlib.Path, start: dt.date, days: int) -> dict[str, object]:
    """One Delta table's rows, files and bytes, in all and per (building, day) partition of the
    ``days`` simulated from ``start``."""
    table = DeltaTable(str(path))
    actions = pa.table(table.get_add_actions(flatten=True))
    rows = int(pc.sum(actions["num_records"]).as_py() or 0)
    size = int(pc.sum(actions["size_bytes"]).as_py() or 0)
    partition_columns = [c for c in actions.column_names if c.startswith("partition.")]
    if partition_columns:
        by_partition = actions.group_by(partition_columns).aggregate(
            [("path", "count"), ("size_bytes", "sum"), ("num_records", "sum")]
        )
        if path.name not in ARRIVAL_TABLES and "partition.date" in partition_columns:
            dates = pc.cast(by_partition["partition.date"], pa.date32())
            end = start + dt.timedelta(days=days - 1)
            by_partition = by_partition.filter(
                pc.and_(pc.greater_equal(dates, start), pc.less_equal(dates, end))
            )
        files = by_partition["path_count"].to_pylist()
        sizes = by_partition["size_bytes_sum"].to_pylist()
        day_rows = by_partition["num_records_sum"].to_pylist()
        if path.name in ARRIVAL_TABLES:
            per_day = (rows / days, size / days)
        else:
            per_day = (sum(day_rows) / max(len(files), 1), sum(sizes) / max(len(files), 1))
    else:
        files, sizes, day_rows, per_day = [actions.num_rows], [size], [rows], (rows, size)
    log = path / "_delta_log"
    commits = sorted(log.glob("*.json"))
    return {
        "version": table.version(),
        "partition_columns": [c.removeprefix("partition.") for c in partition_columns],
        "rows": rows,
        "bytes": size,
        "partitions_counted": len(files),
        "rows_per_day": round(per_day[0]),
        "rows_per_partition_min": min(day_rows, default=0),
        "rows_per_partition_max": max(day_rows, default=0),
        "bytes_per_day": round(per_day[1]),
        "files_per_partition_mean": round(sum(files) / max(len(files), 1), 2),
        "files_per_partition_max": max(files, default=0),
        "bytes_per_file_mean": round(sum(sizes) / max(sum(files), 1)),
        "bytes_per_partition_max": max(sizes, default=0),
        "bytes_per_row": round(size / rows, 1) if rows else None,
        "log_commits": len(commits),
        "log_bytes": sum(p.stat().st_size for p in log.iterdir() if p.is_file()),
        "log_commit_bytes_mean": round(sum(p.stat().st_size for p in commits) / len(commits))
        if commits
        else 0,
        "log_checkpoints": len(list(log.glob("*.checkpoint*.parquet"))),
    }


def log_cost(path: pathlib.Path, partitions: int) -> dict[str, float] | None:
    """Bytes per add action in a commit and in a checkpoint of ``partitions`` one-row files of
    the table's schema; None for a table without rows or without building partitions."""
    table = DeltaTable(str(path))
    if table.metadata().partition_columns != ["building_id", "date"]:
        return None
    first = table.to_pyarrow_dataset().head(1)
    if first.num_rows == 0:
        return None
    rows = pa.concat_tables([first] * partitions)
    index = pa.array(range(partitions))
    buildings = pc.binary_join_element_wise("b-", pc.cast(pc.divide(index, 10), pa.string()), "")
    days = [dt.date(2016, 6, 1) + dt.timedelta(days=i % 10) for i in range(partitions)]
    rows = rows.set_column(rows.schema.get_field_index("building_id"), "building_id", buildings)
    date_type = rows.schema.field("date").type
    rows = rows.set_column(
        rows.schema.get_field_index("date"), "date", pa.array(days).cast(date_type)
    )
    with tempfile.TemporaryDirectory(prefix="snuk-log-sample-") as scratch:
        write_deltalake(scratch, rows, partition_by=["building_id", "date"])
        DeltaTable(scratch).create_checkpoint()
        log = pathlib.Path(scratch) / "_delta_log"
        commit = (log / f"{0:020d}.json").stat().st_size
        checkpoint = sum(p.stat().st_size for p in log.glob("*.checkpoint*.parquet"))
    return {
        "partitions": partitions,
        "commit_bytes_per_add": round(commit / partitions),
        "checkpoint_bytes_per_add": round(checkpoint / partitions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", type=pathlib.Path, required=True)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--days", type=int, required=True, help="days simulated")
    parser.add_argument(
        "--log-sample", type=int, default=0, metavar="N", help="measure the log on N files"
    )
    args = parser.parse_args()

    tables = sorted(p for p in args.lakehouse.iterdir() if (p / "_delta_log").is_dir())
    report = {name.name: table_footprint(name, args.start, args.days) for name in tables}
    header = "rows/day  bytes/day  part.  files/part (max)  bytes/file  bytes/row  commits  log"
    print(f"{'table':26s} {header}")
    for name, t in report.items():
        per_row = f"{t['bytes_per_row']:9.1f}" if t["bytes_per_row"] else f"{'-':>9s}"
        print(
            f"{name:26s} {t['rows_per_day']:8,d} {t['bytes_per_day']:10,d}"
            f" {t['partitions_counted']:5d}"
            f"  {t['files_per_partition_mean']:8.2f} ({t['files_per_partition_max']})"
            f"  {t['bytes_per_file_mean']:10,d} {per_row}  {t['log_commits']:7d}"
            f"  {t['log_bytes']:,d} B ({t['log_checkpoints']} checkpoints)"
        )
    if args.log_sample:
        print(f"the Delta log per data file, on {args.log_sample:,d} one-row partitions:")
        for name, footprint in report.items():
            cost = log_cost(args.lakehouse / name, args.log_sample)
            footprint["log_sample"] = cost
            if cost:
                print(
                    f"  {name:26s} commit {cost['commit_bytes_per_add']:6,d} B per add, "
                    f"checkpoint {cost['checkpoint_bytes_per_add']:5,d} B per add"
                )
    write_report(
        "lakehouse_footprint",
        {
            "lakehouse": str(args.lakehouse),
            "start": args.start.isoformat(),
            "days": args.days,
            "tables": report,
        },
    )


if __name__ == "__main__":
    main()
