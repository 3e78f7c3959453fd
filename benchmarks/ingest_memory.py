"""Peak memory and wall time of one big day's ingest, a git ref's code against the worktree's.

    .venv/bin/python benchmarks/ingest_memory.py --base 6a11371^1 --rows 3200000
    .venv/bin/python benchmarks/ingest_memory.py --base main --rows 800000 3200000

One arrival day of ``--rows`` valid gateway lines from the reference office's 215 sensors
(gzipped files of 100,000 lines, one in 1,000 broken, as a gateway's uploads), materialized as
a user would: ``dagster asset materialize --select raw_observations --partition DAY`` under
``/usr/bin/time -v``, once with ``<base>``'s package (``git archive`` of ``snuk_assets`` and
``resources`` into a scratch folder, first on ``PYTHONPATH``) and once with the worktree's, each
on a fresh lakehouse. Peak memory is
``time``'s maximum resident set (the largest process of the run's tree); read the two side by
side. With several ``--rows``, a day of each size in turn, and each side's peak at the largest
size against its peak at the smallest: a day's peak should follow its largest file, not its
rows. Run on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
DAY = dt.date(2016, 8, 12)
LINES_PER_FILE = 100_000


def write_day(landing: pathlib.Path, rows: int) -> int:
    """The day folder; returns the number of lines written (a line in 1,000 broken)."""
    from snuk_assets.settings import SnukSettings

    sensors = sorted(SnukSettings().registry().sensor_ids())  # the reference office
    folder = landing / f"raw_data/{DAY:%Y/%m/%d}"
    folder.mkdir(parents=True)
    start_ms = int(dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC).timestamp() * 1000)
    step_ms = max(1, 86_400_000 * len(sensors) // rows)
    for first in range(0, rows, LINES_PER_FILE):
        lines = []
        for i in range(first, min(rows, first + LINES_PER_FILE)):
            sensor = sensors[i % len(sensors)]
            ts = start_ms + (i // len(sensors)) * step_ms
            if i % 1000 == 999:
                lines.append(f"sensor_id='{sensor}', timestamp=not-a-time, value=1.0,")
            else:
                lines.append(f"sensor_id='{sensor}', timestamp={ts}, value={i % 2}.0,")
        with gzip.open(folder / f"gateway-{first // LINES_PER_FILE:03d}.txt.gz", "wt") as out:
            out.write("\n".join(lines) + "\n")
    return rows


def materialize(package_root: pathlib.Path, landing: pathlib.Path, work: pathlib.Path) -> dict:
    lake = work / "lakehouse"
    home = work / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "PYTHONPATH": str(package_root),
        "DAGSTER_HOME": str(home),
        "SNUK_LANDING_URI": str(landing),
        "SNUK_LAKEHOUSE_URI": str(lake),
    }
    dagster = pathlib.Path(sys.executable).with_name("dagster")
    command = [
        "/usr/bin/time", "-v", str(dagster), "asset", "materialize", "-m",
        "snuk_assets.definitions", "--select", "raw_observations", "--partition", DAY.isoformat(),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"materialize failed in {package_root}:\n{done.stderr[-3000:]}")
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr)[1]
    return {"peak_mib": peak_kib / 1024, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the git ref to compare with")
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[3_200_000],
        help="lines in the day (several: one day of each size, smallest first)",
    )
    args = parser.parse_args()
    peaks: dict[str, dict[int, float]] = {"base": {}, "worktree": {}}
    for rows in sorted(args.rows):
        with tempfile.TemporaryDirectory(prefix="snuk-ingest-memory-") as scratch:
            scratch = pathlib.Path(scratch)
            landing = scratch / "landing"
            write_day(landing, rows)
            base = scratch / "base"
            base.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.base, "snuk_assets", "resources"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
            print(f"{rows:,} lines in {DAY}; base {args.base}", flush=True)
            for name, package_root in (("base", base), ("worktree", ROOT)):
                result = materialize(package_root, landing, scratch / f"run-{name}")
                peak, wall = result["peak_mib"], result["wall"]
                peaks[name][rows] = peak
                print(f"{name:>8}: peak {peak:,.0f} MiB, wall {wall}", flush=True)
    if len(peaks["base"]) > 1:
        low, high = min(peaks["base"]), max(peaks["base"])
        for name, by_rows in peaks.items():
            ratio = by_rows[high] / by_rows[low]
            print(f"{name:>8}: peak at {high:,} lines / at {low:,} lines = {ratio:.2f}")


if __name__ == "__main__":
    main()
