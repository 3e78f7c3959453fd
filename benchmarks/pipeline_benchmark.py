"""The whole pipeline, raw files to forecasts: wall time and peak memory per stage (issue 19).

    .venv/bin/python benchmarks/pipeline_benchmark.py --days 90      # make bench-pipeline

The reference office is simulated for ``--days`` days (not timed), then each stage is
materialized as a user would from the command line, one ``dagster asset materialize`` per stage
in the order of the data flow: the data stages over every arrival day (as ``snuk demo`` runs
them: the simulated days plus the lateness window), the model stages for the last simulated day.
Per stage it reports the wall time (process start included: the ``startup`` row is the same
command on the one-row ``sensors`` asset, so the rest can be read net of it) and the peak
resident memory of the whole process tree (the run and any worker processes it spawns), sampled
from ``/proc`` every 0.1 s: ``/usr/bin/time`` reports only the largest single process, and
psutil is not a dependency of the project for one benchmark. Linux only.

The goal (issue 19): the full building over 90 days within 90 s on 2 cores and 2 GB.

``--tempo`` runs the peer the issue names for the resampling stage beside it: Tempo
(``dbl-tempo``, the ``[tempo]`` extra) on Spark ``local[2]``, on the same ``raw_observations``
snapshot, measured as the stages are (``benchmarks/tempo_peer.py``, both of its modes), and how
far its bins are from SNUK's exact ones. Its rows are reported beside the stages, not in the
pipeline's total.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import write_report  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
DATA_STAGES = [
    "raw_observations,quarantined_observations",
    "resampled_series",
    "room_series",
    "feature_windows",
]
MODEL_STAGES = ["occupancy_models", "model_metrics", "occupancy_forecasts"]


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every descendant, read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):  # gone since the listing
            total += int(pathlib.Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        todo.extend(children.get(pid, []))
    return total


def run_sampled(command: list[str], env: dict[str, str], log: pathlib.Path) -> tuple[float, list]:
    """Run ``command``; its wall seconds and the tree's memory as ``(unix time, bytes)`` samples.

    Unix time, not monotonic: the samples are matched with the event log's timestamps.
    """
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.time(), tree_rss(process.pid)))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed ({code}); its log: {log}")
    return time.monotonic() - started, samples


def run_stage(command: list[str], env: dict[str, str], log: pathlib.Path) -> dict:
    """Run ``command``, sampling its process tree's memory; wall seconds and peak MiB."""
    wall, samples = run_sampled(command, env, log)
    peak = max((rss for _, rss in samples), default=0)
    return {"wall_s": round(wall, 1), "peak_mib": round(peak / 2**20)}


def dagster_home(work: pathlib.Path) -> None:
    """``work/dagster_home`` with the project's ``dagster.yaml``."""
    (work / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", work / "dagster_home" / "dagster.yaml")


def simulated_workdir(
    work: pathlib.Path, *, start: dt.date, days: int, seed: int, registry: str | None = None
) -> dt.date:
    """``work`` made anew: a Dagster home, and the simulated office's landing zone and truth
    for ``days`` from ``start``; returns the last arrival day to ingest."""
    from snuk_assets.environment import DEFAULT_MAX_LATENESS_DAYS
    from snuk_assets.registry import default_registry_path, load_registry
    from snuk_assets.simulate import simulate_building

    if work.exists():
        shutil.rmtree(work)
    dagster_home(work)
    print(f"simulating the reference office, {days} days from {start}, into {work}")
    summary = simulate_building(
        registry=load_registry(registry or default_registry_path()),
        landing_uri=str(work / "landing"),
        truth_dir=str(work / "truth"),
        start=start,
        days=days,
        seed=seed,
    )
    print(summary)
    return start + dt.timedelta(days=days - 1 + DEFAULT_MAX_LATENESS_DAYS + 1)


def workdir_environment(
    work: pathlib.Path, start: dt.date, *, engine: str = "local", registry: str | None = None
) -> dict[str, str]:
    """The environment of a stage run on ``work``'s landing zone and lakehouse."""
    return {
        **({"SNUK_REGISTRY": registry} if registry else {}),
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "SNUK_LANDING_URI": str(work / "landing"),
        "SNUK_LAKEHOUSE_URI": str(work / "lakehouse"),
        "SNUK_TRUTH_DIR": str(work / "truth"),
        "SNUK_ENGINE": engine,
        "SNUK_START_DATE": start.isoformat(),
    }


def materialize(venv: pathlib.Path) -> list[str]:
    """``dagster asset materialize`` of SNUK's definitions, from the virtualenv ``venv``."""
    return [str(venv / "bin" / "dagster"), "asset", "materialize", "-m", "snuk_assets.definitions"]


def tempo_beside(work: pathlib.Path, env: dict[str, str], *, snuk: dict) -> dict:
    """Tempo's two modes on ``work``'s raw observations, each measured as a stage is, and the
    distance of its bins from the ``resampled_series`` just written; wall time against ``snuk``."""
    from tempo_peer import MODES, compare

    peers = {}
    for mode in MODES:
        out = work / f"tempo_{mode}"
        command = [sys.executable, str(ROOT / "benchmarks" / "tempo_peer.py"), "--mode", mode]
        command += ["--lakehouse", str(work / "lakehouse"), "--out", str(out)]
        row = run_stage(command, env, work / f"tempo_{mode}.log")
        row["wall_over_snuk"] = round(row["wall_s"] / snuk["wall_s"], 2)
        row["against_snuk"] = compare(out, work / "lakehouse")
        peers[f"tempo {mode}"] = row
        label = f"  (peer) Tempo {mode}, Spark local[2]"
        print(f"{label:46s} {row['wall_s']:8.1f} s  {row['peak_mib']:7,d} MiB  ", end="")
        print(f"{row['wall_over_snuk']:.2f}x the stage's wall time")
        for kind, gap in row["against_snuk"].items():
            print(f"      {kind:14s} {gap}")
    return peers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engine", default="local", help="SNUK_ENGINE for the runs")
    parser.add_argument("--workdir", type=pathlib.Path, help="kept; default a temporary folder")
    parser.add_argument(
        "--tempo", action="store_true", help="run Tempo beside the resampling stage (its peer)"
    )
    args = parser.parse_args()

    work = args.workdir or pathlib.Path(tempfile.mkdtemp(prefix="snuk-pipeline-"))
    end = args.start + dt.timedelta(days=args.days - 1)
    simulated = time.monotonic()
    last_arrival = simulated_workdir(work, start=args.start, days=args.days, seed=args.seed)
    print(f"simulated in {time.monotonic() - simulated:.0f} s (not counted)")

    env = workdir_environment(work, args.start, engine=args.engine)
    dagster = [*materialize(pathlib.Path(sys.executable).parent.parent), "--select"]
    days = f"{args.start}...{last_arrival}"
    stages = [("startup", [*dagster, "sensors"])]
    stages += [(s, [*dagster, s, "--partition-range", days]) for s in DATA_STAGES]
    stages += [(s, [*dagster, s, "--partition", end.isoformat()]) for s in MODEL_STAGES]
    rows, peers = {}, {}
    for name, command in stages:
        rows[name] = run_stage(command, env, work / f"{name.split(',')[0]}.log")
        print(f"  {name:44s} {rows[name]['wall_s']:8.1f} s  {rows[name]['peak_mib']:7,d} MiB")
        if name == "resampled_series" and args.tempo:
            peers = tempo_beside(work, env, snuk=rows[name])
    total = sum(r["wall_s"] for r in rows.values())
    peak = max(r["peak_mib"] for r in rows.values())
    print(f"  {'whole pipeline':44s} {total:8.1f} s  {peak:7,d} MiB (goal: 90 s, 2,048 MiB)")
    write_report(
        "pipeline",
        {
            "days": args.days,
            "start": args.start.isoformat(),
            "engine": args.engine,
            "cpus": os.cpu_count(),
            "stages": rows,
            "total_wall_s": round(total, 1),
            "peak_mib": peak,
            "peers": peers,
            "workdir": str(work),
        },
    )


if __name__ == "__main__":
    main()
