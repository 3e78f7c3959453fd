"""The resampling stage alone over a long range: wall time and peak memory of the process tree.

    .venv/bin/python benchmarks/resample_memory.py --workdir W --days 90 30
    .venv/bin/python benchmarks/resample_memory.py --workdir W --days 90 --venv /work/main/.venv

The first run into ``--workdir`` simulates the reference office for ``--build-days`` (default
90) and ingests every arrival day, as ``pipeline_benchmark.py`` does (neither is timed); later
runs reuse it. Then ``resampled_series`` (or the ``--select`` stage) is materialized, one
``dagster asset materialize`` per ``--days`` value, for the days ``start .. start + days - 1``.
``--venv`` runs another checkout's code (the venv's parent folder) against the same lakehouse:
main beside a branch. Issue 19: peak memory must depend on the chunk, not the range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline_benchmark import (  # noqa: E402
    materialize,
    run_stage,
    simulated_workdir,
    workdir_environment,
)
from report import write_report  # noqa: E402


def build(work: pathlib.Path, *, start: dt.date, days: int, seed: int, env: dict) -> None:
    """Simulate the office into ``work`` and ingest every arrival day (once per workdir)."""
    if (work / "lakehouse" / "raw_observations").is_dir():
        return
    last_arrival = simulated_workdir(work, start=start, days=days, seed=seed)
    ingest = [*materialize(ROOT / ".venv"), "--select", "raw_observations,quarantined_observations"]
    ingest += ["--partition-range", f"{start}...{last_arrival}"]
    print(run_stage(ingest, env, work / "ingest.log"), "(ingest, not counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=pathlib.Path, required=True)
    parser.add_argument("--days", type=int, nargs="*", default=[90, 30])
    parser.add_argument("--build-days", type=int, default=90)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--venv", type=pathlib.Path, default=ROOT / ".venv")
    parser.add_argument(
        "--select",
        default="resampled_series",
        help="the stage run (room_series, feature_windows: after the stages they read)",
    )
    args = parser.parse_args()

    work = args.workdir.resolve()
    env = workdir_environment(work, args.start)
    build(work, start=args.start, days=args.build_days, seed=args.seed, env=env)
    venv = args.venv.resolve()
    # Dagster imports the code location from the working directory: the venv's checkout.
    os.chdir(venv.parent)
    rows = {}
    for days in args.days:
        end = args.start + dt.timedelta(days=days - 1)
        command = [*materialize(venv), "--select", args.select]
        command += ["--partition-range", f"{args.start}...{end}"]
        rows[days] = run_stage(command, env, work / f"{args.select}-{days}d.log")
        print(f"  {days:3d} days  {rows[days]['wall_s']:7.1f} s  {rows[days]['peak_mib']:6,d} MiB")
    write_report(
        "resample_memory",
        {
            "checkout": str(venv.parent),
            "stage": args.select,
            "start": args.start.isoformat(),
            "runs": rows,
        },
    )


if __name__ == "__main__":
    main()
