"""A portfolio of simulated buildings, raw files to forecasts: time and memory per stage (issue 22).

    .venv/bin/python benchmarks/portfolio_benchmark.py                  # make bench-portfolio
    .venv/bin/python benchmarks/portfolio_benchmark.py --buildings 1 --days 3   # a quick look

For each N of ``--buildings`` (default 1 10 100), ``snuk simulate --buildings N --registries DIR``
writes N buildings' registries and ``--days`` days of uploads (the reference office, its New York
twin, its ground-floor annex, then ``snuk-office-<n>``: ``snuk_assets/simulate/portfolio.py``)
into a work folder (not timed). Then, on each engine of ``--engines`` (``local``, and ``spark`` on
``SNUK_SPARK_MASTER=local[2]``), one ``snuk materialize`` with ``SNUK_REGISTRIES=DIR`` runs every
building through the pipeline, into its own lakehouse and Dagster home: the data stages over every
arrival day (the simulated days plus the lateness window, as ``snuk demo`` runs them), the model
stages for the last simulated day.

Per stage the figures come from the run itself, not from a command per stage: the wall time is
the step's, from ``STEP_START`` to its end in the Dagster event log (the runs are recorded in the
work folder's Dagster home), and the peak is the largest resident memory of the whole process
tree (the command, its worker processes, Spark's JVM and Python workers) sampled from ``/proc``
every 0.1 s while the step ran (``pipeline_benchmark.tree_rss``). The steps run in one process,
one after the other, so a stage's peak holds what earlier stages left resident: the ``rise``
column is the peak less the tree's memory when the step started. ``outside steps`` is the
command's wall time not spent in a step: process start, loading the definitions, Spark's session
start, the runs' setup. Linux only.

Growth with N: each stage's wall time and peak against the smallest N's, and the wall time per
building against its (1.0: linear in buildings; below: a fixed cost shared). The stages compute each
building separately (one run per stage across buildings), so wall time should grow about linearly
and a step's rise should not (a building at a time). Measured (benchmarks/README.md): time per
building 0.49 of one building's at N = 100; the process's resident memory between steps grows
by some 6 MiB a building, not yet explained.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline_benchmark import dagster_home, run_sampled  # noqa: E402
from report import write_report  # noqa: E402

ENGINES = {"local": {"SNUK_ENGINE": "local"}, "spark": {"SNUK_ENGINE": "spark"}}
OUTSIDE = "outside steps"


def simulate(work: pathlib.Path, snuk: str, *, buildings: int, args: argparse.Namespace) -> float:
    """``work`` made anew with N buildings' registries, landing zone and truth; seconds taken."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    command = [
        snuk, "simulate", "--buildings", str(buildings), "--registries", str(work / "registries"),
        "--landing", str(work / "landing"), "--truth", str(work / "truth"),
        "--start", args.start.isoformat(), "--days", str(args.days), "--seed", str(args.seed),
    ]  # fmt: skip
    print(f"simulating {buildings} buildings, {args.days} days from {args.start}, into {work}")
    started = time.monotonic()
    with (work / "simulate.log").open("w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - started


def step_windows(home: pathlib.Path) -> list[dict]:
    """Every step of every run in the Dagster home ``home``, in the order they started: its
    key, start and end (unix seconds) and the assets it materialized."""
    from dagster import DagsterEventType, DagsterInstance

    ends = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    steps: dict[tuple[str, str], dict] = {}
    with DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None or record.step_key is None:
                    continue
                step = steps.setdefault(
                    (run.run_id, record.step_key),
                    {"step": record.step_key, "start": None, "end": None, "assets": []},
                )
                if event.event_type == DagsterEventType.STEP_START:
                    step["start"] = record.timestamp
                elif event.event_type in ends:
                    step["end"] = record.timestamp
                elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                    name = event.asset_key.to_user_string()
                    if name not in step["assets"]:
                        step["assets"].append(name)
    timed = [s for s in steps.values() if s["start"] is not None and s["end"] is not None]
    return sorted(timed, key=lambda s: s["start"])


def stage_figures(steps: list[dict], samples: list, wall: float) -> dict[str, dict]:
    """Wall seconds, peak and rise (MiB) per stage (a step that materialized no asset is an
    asset check, named by its step), and the command's time outside its steps."""
    stages: dict[str, dict] = {}
    for step in steps:
        name = ",".join(step["assets"]) or f"check {step['step']}"
        during = [rss for t, rss in samples if step["start"] <= t <= step["end"]]
        before = [rss for t, rss in samples if t <= step["start"]]
        peak = max(during, default=0)
        rise = peak - (before[-1] if before else 0)
        row = stages.setdefault(name, {"wall_s": 0.0, "peak_mib": 0, "rise_mib": 0})
        row["wall_s"] += step["end"] - step["start"]
        row["peak_mib"] = max(row["peak_mib"], round(peak / 2**20))
        row["rise_mib"] = max(row["rise_mib"], round(max(rise, 0) / 2**20))
    in_steps = sum(row["wall_s"] for row in stages.values())
    stages[OUTSIDE] = {"wall_s": wall - in_steps, "peak_mib": None, "rise_mib": None}
    for row in stages.values():
        row["wall_s"] = round(row["wall_s"], 1)
    return stages


def run_pipeline(
    work: pathlib.Path, snuk: str, engine: str, args: argparse.Namespace
) -> dict[str, object]:
    """``snuk materialize`` of every building in ``work`` on ``engine``; the figures."""
    from snuk_assets.environment import DEFAULT_MAX_LATENESS_DAYS

    run_dir = work / engine
    if run_dir.exists():
        shutil.rmtree(run_dir)
    dagster_home(run_dir)
    end = args.start + dt.timedelta(days=args.days - 1)
    last_arrival = end + dt.timedelta(days=DEFAULT_MAX_LATENESS_DAYS + 1)
    env = {
        **os.environ,
        **ENGINES[engine],
        "DAGSTER_HOME": str(run_dir / "dagster_home"),
        "SNUK_REGISTRIES": str(work / "registries"),
        "SNUK_LANDING_URI": str(work / "landing"),
        "SNUK_LAKEHOUSE_URI": str(run_dir / "lakehouse"),
        "SNUK_TRUTH_DIR": str(work / "truth"),
        "SNUK_START_DATE": args.start.isoformat(),
    }
    env.pop("SNUK_REGISTRY", None)  # one source of buildings: the folder
    if engine == "spark":
        env["SNUK_SPARK_MASTER"] = args.spark_master
    command = [snuk, "materialize", "--start", args.start.isoformat()]
    command += ["--end", last_arrival.isoformat(), "--model-day", end.isoformat()]
    wall, samples = run_sampled(command, env, run_dir / "materialize.log")
    stages = stage_figures(step_windows(run_dir / "dagster_home"), samples, wall)
    return {
        "wall_s": round(wall, 1),
        "peak_mib": round(max((rss for _, rss in samples), default=0) / 2**20),
        "stages": stages,
        "workdir": str(run_dir),
    }


def growth(runs: dict[int, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """Per engine and stage, each N against the smallest N: wall and peak ratios, and the wall
    time per building against the smallest N's."""
    smallest = min(runs)
    table: dict[str, dict[str, dict]] = {}
    for n, by_engine in sorted(runs.items()):
        for engine, run in by_engine.items():
            base = runs[smallest].get(engine)
            if base is None or "failed" in base or "failed" in run:
                continue
            rows = {"whole run": (run, base["wall_s"], base["peak_mib"])}
            rows |= {s: (r, *_base_of(base, s)) for s, r in run["stages"].items()}
            for stage, (row, base_wall, base_peak) in rows.items():
                if not base_wall:
                    continue
                table.setdefault(engine, {}).setdefault(stage, {})[str(n)] = {
                    "wall_ratio": round(row["wall_s"] / base_wall, 2),
                    "wall_per_building_ratio": round(row["wall_s"] / n / (base_wall / smallest), 2),
                    "peak_ratio": (
                        round(row["peak_mib"] / base_peak, 2)
                        if row.get("peak_mib") and base_peak
                        else None
                    ),
                }
    return table


def _base_of(base: dict, stage: str) -> tuple[float | None, int | None]:
    row = base["stages"].get(stage)
    return (row["wall_s"], row["peak_mib"]) if row else (None, None)


def print_run(n: int, engine: str, run: dict) -> None:
    print(f"\n{n} buildings, {engine}: {run['wall_s']:.1f} s, peak {run['peak_mib']:,d} MiB")
    for stage, row in run["stages"].items():
        memory = (
            f"{row['peak_mib']:7,d} MiB (rise {row['rise_mib']:,d})"
            if row["peak_mib"] is not None
            else ""
        )
        print(f"  {stage:44s} {row['wall_s']:8.1f} s  {memory}")


def print_growth(table: dict[str, dict[str, dict]]) -> None:
    for engine, stages in table.items():
        print(f"\ngrowth on {engine} (wall ratio / wall per building ratio / peak ratio):")
        for stage, by_n in stages.items():
            cells = "  ".join(
                f"N={n}: {g['wall_ratio']}/{g['wall_per_building_ratio']}/{g['peak_ratio']}"
                for n, g in by_n.items()
            )
            print(f"  {stage:44s} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--days", type=int, default=7, help="days simulated per building")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", nargs="+", choices=sorted(ENGINES), default=["local", "spark"])
    parser.add_argument("--spark-master", default="local[2]", help="SNUK_SPARK_MASTER for spark")
    parser.add_argument("--workdir", type=pathlib.Path, help="kept; default a temporary folder")
    args = parser.parse_args()

    snuk = str(pathlib.Path(sys.executable).parent / "snuk")
    root = args.workdir or pathlib.Path(tempfile.mkdtemp(prefix="snuk-portfolio-"))
    runs: dict[int, dict[str, dict]] = {}
    simulated: dict[int, float] = {}
    for n in sorted(args.buildings):
        work = root / f"buildings_{n}"
        simulated[n] = round(simulate(work, snuk, buildings=n, args=args), 1)
        print(f"simulated in {simulated[n]:.0f} s (not counted)")
        runs[n] = {}
        for engine in args.engines:
            try:
                runs[n][engine] = run_pipeline(work, snuk, engine, args)
            except SystemExit as failure:  # hours of other runs are still worth their report
                print(f"\n{n} buildings, {engine}: {failure}")
                runs[n][engine] = {"failed": str(failure)}
                continue
            print_run(n, engine, runs[n][engine])
    table = growth(runs)
    print_growth(table)
    write_report(
        "portfolio",
        {
            "buildings": sorted(args.buildings),
            "days": args.days,
            "start": args.start.isoformat(),
            "engines": args.engines,
            "spark_master": args.spark_master,
            "cpus": os.cpu_count(),
            "simulate_s": {str(n): s for n, s in simulated.items()},
            "runs": {str(n): by_engine for n, by_engine in runs.items()},
            "growth": table,
            "workdir": str(root),
        },
    )


if __name__ == "__main__":
    main()
