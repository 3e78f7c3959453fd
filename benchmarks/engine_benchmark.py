"""Local and Spark engines side by side: resampling and training on 1 to 4 copies of the building.

The input is built once: the simulator writes the reference building (215 sensors, 36 rooms)
to a landing zone as Parquet uploads, which is ingested to ``raw_observations``. Scale k is k
copies of the building in a lakehouse of its own: copy c >= 1 repeats every raw row with its
sensor renamed ``NNNN-NNN-NNN-25c-x``, in a registry where its rooms are ``c7101`` etc. (the
same observations under other names: the work grows with the rows, not with their values). At
each scale, each timed stage runs on both engines, one after the other (the order alternates
from scale to scale), each in a fresh Python process that this one watches:

- resampling: ``resample_days`` (raw_observations -> resampled_series) over all simulated days;
- training: ``train_rooms`` (feature_windows -> occupancy_models) for the last day, on the
  trailing 28 days (room_series and feature_windows are built beforehand, untimed, with the
  local engine).

Wall time is measured around the stage call in the child; Spark's session start is reported
apart. Peak memory is the largest sum of resident set sizes over the child's process tree
(the driver, the local engine's spawned workers, or Spark's JVM and its Python workers),
sampled every 50 ms by this process from /proc while the stage runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import threading
import time
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from report import RESULTS_DIR, write_report

ROOT = pathlib.Path(__file__).resolve().parents[1]
START = dt.date(2016, 6, 1)  # the first daily partition
STAGES = ("resample", "train")
ENGINES = ("local", "spark")
# The Spark engine with its grouping before issue 23 (groupBy().applyInArrow, PySpark 4 only),
# to compare the grouping that runs on PySpark 3.5 as well against it: --engines spark OLD_SPARK.
OLD_SPARK = "spark-applyinarrow"
TRAIN_DAYS = 28  # TrainingParams.train_days, the default window
# Uploads arrive up to a few days after their measurement day (max_lateness is 3 days).
ARRIVAL_DAYS_AFTER = 4
INGEST_CHUNK_DAYS = 8  # arrival days per ingest run: one run holds its days in memory
# The child reports on stdout with these prefixes; the stage runs between them.
STAGE_STARTS, STAGE_RESULT = "@@stage-starts", "@@stage-result "
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> None:
    args = _parse_args()
    if args.job:
        _run_job(json.loads(args.job))
        return
    warnings.filterwarnings("ignore", message=".*currently in beta")  # Dagster's notices
    scales = sorted(set(args.scales))
    workdir = pathlib.Path(args.workdir).resolve()
    days = [START + dt.timedelta(days=n) for n in range(args.days)]
    source = build_input(workdir, days=args.days, seed=args.seed)
    runs, inputs = [], {}
    logs = workdir / "logs"
    for index, scale in enumerate(scales):
        lake, registry, inputs[scale] = scaled_lakehouse(workdir, source, scale, days)
        engines = args.engines if index % 2 == 0 else args.engines[::-1]  # drift hits both alike
        job = {"lakehouse": str(lake), "registry": str(registry), "days": [str(d) for d in days]}
        if "resample" in args.stages:
            runs += [
                _measure(job | {"engine": e, "stage": "resample"}, scale, logs) for e in engines
            ]
        if "train" in args.stages:
            prepare_training(lake, registry, days, resampled="resample" in args.stages)
            runs += [_measure(job | {"engine": e, "stage": "train"}, scale, logs) for e in engines]
    report = {
        "command": "benchmarks/engine_benchmark.py " + " ".join(sys.argv[1:]),
        "when_utc": pd.Timestamp.now(tz="UTC").isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "scaling": "k copies of the reference building (sensors and rooms renamed), same days",
        "input": {"days": args.days, "first_day": str(START), "seed": args.seed, "scales": inputs},
        "memory_measure": MEMORY_MEASURE,
        "runs": runs,
        "ratios": ratios(runs),
    }
    _print_report(report)
    write_report("engines", report)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90, help="simulated days (default: 90)")
    parser.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=[1, 2, 4],
        help="copies of the reference building, each a run (default: 1 2 4)",
    )
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument(
        "--engines",
        nargs=2,
        choices=(*ENGINES, OLD_SPARK),
        default=list(ENGINES),
        help=f"the two engines compared (default: %(default)s; {OLD_SPARK}: the Spark engine "
        "grouping with groupBy().applyInArrow, as before issue 23)",
    )
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default: 42)")
    parser.add_argument(
        "--workdir",
        default=str(RESULTS_DIR / "engine_scratch"),
        help="scratch folder for the landing zone and lakehouses, reused when the input "
        "matches (default: benchmarks/results/engine_scratch, not committed)",
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)  # one measured run, in a child
    return parser.parse_args()


# --- the input (untimed) ----------------------------------------------------------------------


def building_copies(copies: int) -> dict:
    """The reference registry with ``copies`` copies of every room and sensor, as a document.

    Copy 0 keeps the ids; copy c renames sensor ``7917-241-275-250-m`` to
    ``7917-241-275-25c-m`` and room ``7101`` to ``c7101``.
    """
    from snuk_assets.registry import default_registry_path

    document = yaml.safe_load(default_registry_path().read_text())
    rooms, sensors = [], []
    for copy in range(copies):
        for room in document["rooms"]:
            rooms.append(room | {"room_id": _room_id(room["room_id"], copy)})
        for sensor in document["sensors"]:
            sensors.append(
                sensor
                | {
                    "sensor_id": _sensor_id(sensor["sensor_id"], copy),
                    "room_id": _room_id(sensor["room_id"], copy),
                }
            )
    return document | {"rooms": rooms, "sensors": sensors}


def _room_id(room_id: str, copy: int) -> str:
    return room_id if copy == 0 else f"{copy}{room_id}"


def _sensor_id(sensor_id: str, copy: int) -> str:
    head, group, letter = sensor_id.rsplit("-", 2)
    return f"{head}-{int(group) + copy:03d}-{letter}"


def build_input(workdir: pathlib.Path, *, days: int, seed: int) -> pathlib.Path:
    """Simulate the reference building and ingest it; reused if already built.

    Returns the folder holding the ``lakehouse`` with raw_observations.
    """
    from dagster import materialize

    from snuk_assets.assets.raw_observations import raw_observations
    from snuk_assets.registry import default_registry_path
    from snuk_assets.settings import SnukSettings
    from snuk_assets.simulate import simulate_building

    wanted = {"days": days, "seed": seed, "first_day": str(START)}
    folder = workdir / "input"
    done = folder / "input.json"
    if done.exists() and json.loads(done.read_text()) == wanted:
        print(f"input: reusing {folder}")
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = SnukSettings(
        landing_uri=str(folder / "landing"),
        lakehouse_uri=str(folder / "lakehouse"),
        registry_path=str(default_registry_path()),
    )
    t0 = time.perf_counter()
    print(f"input: simulating the reference building for {days} days ...", flush=True)
    # Parquet uploads: the ingest is setup here, and parsing text lines would dominate it.
    simulate_building(
        registry=settings.registry(),
        landing_uri=settings.landing_uri,
        truth_dir=folder / "truth",
        start=START,
        days=days,
        seed=seed,
        fmt="parquet",
    )
    print(f"input: simulated in {time.perf_counter() - t0:.0f} s; ingesting ...", flush=True)
    arrival_days = [START + dt.timedelta(days=n) for n in range(days + ARRIVAL_DAYS_AFTER)]
    for first in range(0, len(arrival_days), INGEST_CHUNK_DAYS):
        chunk = arrival_days[first : first + INGEST_CHUNK_DAYS]
        result = materialize(
            [raw_observations],
            resources={"settings": settings},
            run_config=QUIET,
            tags={
                "dagster/asset_partition_range_start": str(chunk[0]),
                "dagster/asset_partition_range_end": str(chunk[-1]),
            },
        )
        if not result.success:
            raise RuntimeError(f"ingest of {chunk[0]} .. {chunk[-1]} failed")
    print(f"input: built in {time.perf_counter() - t0:.0f} s", flush=True)
    done.write_text(json.dumps(wanted))
    return folder


def scaled_lakehouse(
    workdir: pathlib.Path, source: pathlib.Path, scale: int, days: list[dt.date]
) -> tuple[pathlib.Path, pathlib.Path, dict]:
    """A fresh lakehouse and registry holding ``scale`` copies of the building."""
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.registry import default_registry_path

    folder = workdir / f"x{scale}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    registry = folder / "building.yaml"
    registry.write_text(yaml.safe_dump(building_copies(scale)))
    originals = yaml.safe_load(default_registry_path().read_text())["sensors"]
    original_ids = pa.array([s["sensor_id"] for s in originals])
    renamed = [
        pa.array([_sensor_id(s["sensor_id"], copy) for s in originals]) for copy in range(scale)
    ]
    t0, rows = time.perf_counter(), 0
    plain, lake = Lakehouse(str(source / "lakehouse")), Lakehouse(str(folder / "lakehouse"))
    arrival_days = [days[0] + dt.timedelta(days=n) for n in range(len(days) + ARRIVAL_DAYS_AFTER)]
    for day in arrival_days:
        raw = plain.read("raw_observations", dates=[day])
        raw = raw.set_column(
            raw.schema.get_field_index("sensor_id"),
            "sensor_id",
            raw.column("sensor_id").cast(pa.string()),
        )
        where = pc.index_in(raw.column("sensor_id"), original_ids)
        copies = [raw]
        for copy in range(1, scale):
            sensor_id = pc.coalesce(renamed[copy].take(where), raw.column("sensor_id"))
            copies.append(
                raw.set_column(raw.schema.get_field_index("sensor_id"), "sensor_id", sensor_id)
            )
        table = pa.concat_tables(copies)
        lake.replace_partitions("raw_observations", table, dates=[day])
        rows += table.num_rows
    described = {
        "sensors": len(originals) * scale,
        "rooms": len({s["room_id"] for s in originals}) * scale,
        "raw_observations": rows,
    }
    print(f"scale {scale}: {described}, built in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder / "lakehouse", registry, described


def prepare_training(
    lake: pathlib.Path, registry: pathlib.Path, days: list[dt.date], *, resampled: bool
) -> None:
    """room_series and feature_windows for the training window, with the local engine."""
    from snuk_assets.engines import LocalEngine
    from snuk_assets.stages.resample import resample_days
    from snuk_assets.stages.rooms import combine_days
    from snuk_assets.stages.windows import DEFAULT_BSTEPS, DEFAULT_FSTEPS, window_days

    settings = _settings(lake, registry)
    engine = LocalEngine(max_workers=1)
    windows = days[-TRAIN_DAYS:]
    series = days[-TRAIN_DAYS - 1 :]  # a window looks back into the day before
    t0 = time.perf_counter()
    if not resampled:
        resample_days(engine, settings, series)
    combine_days(engine, settings, series)
    window_days(engine, settings, windows, bsteps=DEFAULT_BSTEPS, fsteps=DEFAULT_FSTEPS)
    print(f"  training input built in {time.perf_counter() - t0:.0f} s (untimed)", flush=True)


def _settings(lake: pathlib.Path | str, registry: pathlib.Path | str):
    from snuk_assets.settings import SnukSettings

    return SnukSettings(
        landing_uri=str(pathlib.Path(lake).parent / "landing"),
        lakehouse_uri=str(lake),
        registry_path=str(registry),
    )


# --- one measured run, in a child process -----------------------------------------------------


def _run_job(job: dict) -> None:
    """Run one stage on one engine and print its wall time (the parent samples memory)."""
    from snuk_assets.engines import engine_from_env

    os.environ["PYSPARK_PYTHON"] = sys.executable
    if job["engine"] == OLD_SPARK:
        import snuk_assets.engines.spark as spark_engine

        spark_engine.group_apply = _group_apply_by_apply_in_arrow
    kind = "spark" if job["engine"] == OLD_SPARK else job["engine"]
    engine = engine_from_env({"SNUK_ENGINE": kind, "SNUK_SPARK_MASTER": "local[2]"})
    settings = _settings(job["lakehouse"], job["registry"])
    days = [dt.date.fromisoformat(d) for d in job["days"]]
    session_start_s = None
    if kind == "spark":
        t0 = time.perf_counter()
        engine.session()  # starts the JVM: timed apart from the stage
        session_start_s = time.perf_counter() - t0
    print(STAGE_STARTS, flush=True)
    t0 = time.perf_counter()
    rows = _stage(job["stage"], engine, settings, days)
    wall_s = time.perf_counter() - t0
    result = {"wall_s": wall_s, "session_start_s": session_start_s, "rows_written": rows}
    print(STAGE_RESULT + json.dumps(result), flush=True)
    if kind == "spark":
        engine.session().stop()


def _group_apply_by_apply_in_arrow(rows, keys, run, output_schema):
    """The Spark engine's grouping before issue 23: ``groupBy().applyInArrow`` (PySpark 4.0+).

    Defined in the script (``__main__``), so Spark ships it to its workers by value.
    """
    from snuk_assets.engines.spark_arrow import spark_schema

    def run_group(group: pa.Table) -> pa.Table:  # applyInArrow picks its form from the hints
        return run(group)

    return rows.groupBy(*keys).applyInArrow(run_group, spark_schema(output_schema))


def _stage(stage: str, engine, settings, days: list[dt.date]) -> int:
    """Rows written by the stage."""
    if stage == "resample":
        from snuk_assets.stages.resample import resample_days

        return resample_days(engine, settings, days).write.rows
    from snuk_assets.stages.models import train_rooms

    return train_rooms(engine, settings, [days[-1]]).write.rows


def _measure(job: dict, scale: int, logs: pathlib.Path) -> dict:
    """Run ``job`` in a child process and watch its process tree's memory during the stage."""
    name = f"x{scale}_{job['stage']}_{job['engine']}"
    print(f"  scale {scale}: {job['stage']} on {job['engine']} (log: {logs / name}.log) ...")
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--job", json.dumps(job)]
    logs.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()  # the machine is shared: note how busy it was
    # Dagster's beta warnings and Spark's progress bars go to the run's log, not the table.
    environment = os.environ | {"PYTHONWARNINGS": "ignore"}
    with open(logs / f"{name}.log", "w") as log:
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT, env=environment
        )
        sampler = TreeMemory(child.pid)
        sampler.start()
        result = None
        try:
            for line in child.stdout:
                if line.startswith(STAGE_STARTS):
                    sampler.begin_stage()
                elif line.startswith(STAGE_RESULT):
                    sampler.end_stage()
                    result = json.loads(line[len(STAGE_RESULT) :])
            returncode = child.wait()
        finally:
            sampler.stop()
            sampler.end_leftovers()
    if returncode != 0 or result is None:
        raise RuntimeError(f"{name} failed (exit {returncode}); see {logs / name}.log")
    measured = {"scale": scale, "stage": job["stage"], "engine": job["engine"]}
    measured |= result | sampler.summary() | {"load_average_before": load_before}
    print(
        f"    {measured['wall_s']:.1f} s, peak {measured['peak_rss_bytes'] / 2**20:,.0f} MiB "
        f"({measured['processes_at_peak']} processes)",
        flush=True,
    )
    return measured


# --- memory of a process tree -----------------------------------------------------------------

MEMORY_MEASURE = (
    "peak over the stage of the summed resident set size (VmRSS) of the child process and all "
    "its descendants, sampled every 50 ms from /proc: local = the driver + its spawned workers; "
    "spark = the driver + the JVM (local[2]: driver and executors in one JVM) + Python workers. "
    "Forked Python workers share pages with their parent, which RSS counts in each; "
    "peak_pss_bytes (proportional set size, sampled with the same peak) counts them once. "
    "baseline_rss_bytes is the tree before the stage (imports; for Spark the started JVM)."
)
PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeMemory:
    """Samples the resident memory of a process and its descendants in a background thread."""

    def __init__(self, root_pid: int, *, interval_s: float = 0.05):
        self.root_pid = root_pid
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._in_stage = False
        self._seen: dict[int, str] = {}  # pid -> start time, to end leftovers safely
        self.baseline_rss = 0
        self.peak: dict = {"rss": 0, "pss": 0, "by_kind": {}, "processes": 0}

    def start(self) -> None:
        self._thread.start()

    def begin_stage(self) -> None:
        self.baseline_rss = sum(rss for _, _, rss in self._tree())
        self._in_stage = True

    def end_stage(self) -> None:
        self._in_stage = False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        return {
            "peak_rss_bytes": self.peak["rss"],
            "peak_pss_bytes": self.peak["pss"],
            "peak_rss_by_process_kind": self.peak["by_kind"],
            "processes_at_peak": self.peak["processes"],
            "baseline_rss_bytes": self.baseline_rss,
        }

    def end_leftovers(self, *, grace_s: float = 10.0) -> None:
        """Terminate processes of the tree that outlive the child by ``grace_s`` (a JVM)."""
        deadline = time.monotonic() + grace_s
        alive = dict(self._seen)
        while alive and time.monotonic() < deadline:
            alive = {pid: t for pid, t in alive.items() if _start_time(pid) == t}
            time.sleep(0.2)
        for pid in alive:
            print(f"    ending leftover process {pid} ({_stat(pid)[0]})")
            os.kill(pid, 15)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if not self._in_stage:
                continue
            tree = self._tree()
            rss = sum(size for _, _, size in tree)
            if rss > self.peak["rss"]:
                by_kind: dict[str, int] = {}
                for pid, kind, size in tree:
                    kind = "driver" if pid == self.root_pid else kind
                    by_kind[kind] = by_kind.get(kind, 0) + size
                pss = sum(_pss(pid) for pid, _, _ in tree)
                self.peak = {"rss": rss, "pss": pss, "by_kind": by_kind, "processes": len(tree)}

    def _tree(self) -> list[tuple[int, str, int]]:
        """(pid, kind, RSS bytes) of the root and its descendants; kind is java or python."""
        children: dict[int, list[int]] = {}
        for entry in pathlib.Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _stat(int(entry.name))
                if stat:
                    children.setdefault(int(stat[1]), []).append(int(entry.name))
        tree, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            stat = _stat(pid)
            if stat is None:
                continue
            self._seen.setdefault(pid, stat[19])
            kind = "jvm" if stat[0] == "java" else "workers"
            tree.append((pid, kind, int(stat[21]) * PAGE))
        return tree


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from the command name on (index 0 = comm, 1 = ppid)."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm_end = text.rindex(")")
    return [text[text.index("(") + 1 : comm_end], *text[comm_end + 2 :].split()[1:]]


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return None if stat is None else stat[19]


def _pss(pid: int) -> int:
    try:
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# --- the report -------------------------------------------------------------------------------


def ratios(runs: list[dict]) -> dict:
    """Spark / local per stage and scale; each engine's growth over the smallest scale."""
    by = {(r["stage"], r["engine"], r["scale"]): r for r in runs}
    out: dict = {"spark_over_local": {}, "growth_over_smallest_scale": {}}
    for (stage, engine, scale), run in by.items():
        local = by.get((stage, "local", scale))
        if engine == "spark" and local:
            out["spark_over_local"][f"{stage} x{scale}"] = {
                "wall": run["wall_s"] / local["wall_s"],
                "peak_rss": run["peak_rss_bytes"] / local["peak_rss_bytes"],
            }
        old = by.get((stage, OLD_SPARK, scale))
        if engine == "spark" and old:
            out.setdefault(f"spark_over_{OLD_SPARK}", {})[f"{stage} x{scale}"] = {
                "wall": run["wall_s"] / old["wall_s"],
                "peak_rss": run["peak_rss_bytes"] / old["peak_rss_bytes"],
            }
        smallest = min(s for st, e, s in by if st == stage and e == engine)
        if scale != smallest:
            base = by[(stage, engine, smallest)]
            out["growth_over_smallest_scale"][f"{stage} {engine} x{scale}/x{smallest}"] = {
                "wall": run["wall_s"] / base["wall_s"],
                "peak_rss": run["peak_rss_bytes"] / base["peak_rss_bytes"],
            }
    return out


def _print_report(report: dict) -> None:
    mib = 2**20
    rows = [
        ("stage", "scale", "sensors", "rooms", "engine", "wall s", "peak RSS MiB", "of it JVM")
        + ("peak PSS MiB",)
    ]
    for run in sorted(report["runs"], key=lambda r: (r["stage"], r["scale"], r["engine"])):
        scale = report["input"]["scales"][run["scale"]]
        jvm = run["peak_rss_by_process_kind"].get("jvm")
        rows.append(
            (
                run["stage"],
                f"x{run['scale']}",
                str(scale["sensors"]),
                str(scale["rooms"]),
                run["engine"],
                f"{run['wall_s']:.1f}",
                f"{run['peak_rss_bytes'] / mib:,.0f}",
                "" if jvm is None else f"{jvm / mib:,.0f}",
                f"{run['peak_pss_bytes'] / mib:,.0f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    for title, table in report["ratios"].items():
        print(title.replace("_", " ") + ":")
        for name, ratio in table.items():
            print(f"  {name}: wall {ratio['wall']:.2f}, peak memory {ratio['peak_rss']:.2f}")
    print(f"input: {report['input']['days']} days; scaling: {report['scaling']}")
    print(f"memory: {report['memory_measure']}")


if __name__ == "__main__":
    main()
