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
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline_benchmark import run_stage  # noqa: E402
from report import write_report  # noqa: E402


def build(work: pathlib.Path, *, start: dt.date, days: int, seed: int, env: dict) -> None:
    """Simulate the office into ``work`` and ingest every arrival day (once per workdir)."""
    from snuk_assets.environment import DEFAULT_MAX_LATENESS_DAYS
    from snuk_assets.registry import default_registry_path, load_registry
    from snuk_assets.simulate import simulate_building

    if (work / "lakehouse" / "raw_observations").is_dir():
        return
    if work.exists():
        shutil.rmtree(work)
    (work / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", work / "dagster_home" / "dagster.yaml")
    print(f"simulating the reference office, {days} days from {start}, into {work}")
    simulate_building(
        registry=load_registry(default_registry_path()),
        landing_uri=str(work / "landing"),
        truth_dir=str(work / "truth"),
        start=start,
        days=days,
        seed=seed,
    )
    last_arrival = start + dt.timedelta(days=days - 1 + DEFAULT_MAX_LATENESS_DAYS + 1)
    ingest = [*materialize(ROOT / ".venv"), "--select", "raw_observations,quarantined_observations"]
    ingest += ["--partition-range", f"{start}...{last_arrival}"]
    print(run_stage(ingest, env, work / "ingest.log"), "(ingest, not counted)")


def materialize(venv: pathlib.Path) -> list[str]:
    return [str(venv / "bin" / "dagster"), "asset", "materialize", "-m", "snuk_assets.definitions"]


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
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "SNUK_LANDING_URI": str(work / "landing"),
        "SNUK_LAKEHOUSE_URI": str(work / "lakehouse"),
        "SNUK_TRUTH_DIR": str(work / "truth"),
        "SNUK_ENGINE": "local",
        "SNUK_START_DATE": args.start.isoformat(),
    }
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
