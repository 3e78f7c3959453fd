"""Benchmark: exact resampling vs the prototype's two-step recipe, on a full-scale building.

    .venv/bin/python benchmarks/resample_benchmark.py --sensors 243 --days 90

Builds the observations in-process (the building simulator when it is importable and the
building has that many sensors, else a fast numpy generator), runs both methods in this one
process, prints a table and writes the figures as JSON into ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from report import write_report

from snuk_assets.sensor_types import SENSOR_TYPES
from snuk_assets.transforms.resample.bins import resample_observations

START = dt.date(2016, 6, 1)
DAY = pd.Timedelta(days=1)


def main() -> None:
    args = _parse_args()
    t0 = time.perf_counter()
    table, source = _observations(args)
    table = _ordered(table, args.order)
    observations = table.to_pandas() if args.format == "pandas" else table
    setup_s = time.perf_counter() - t0
    start = pd.Timestamp(START, tz="UTC")
    end = start + args.days * DAY
    call = dict(start=start, end=end, freq=args.freq)
    input_bytes = _nbytes(observations)
    n_obs = len(table)
    print(
        f"{n_obs:,} observations of {args.sensors} sensors over {args.days} days ({source}, "
        f"{args.order} order, {args.format}), {input_bytes / 2**20:,.0f} MiB in memory; "
        f"built in {setup_s:.1f} s"
    )

    exact_times, exact_peak, result = _timed(
        lambda: resample_observations(observations, **call), repeat=args.repeat
    )
    exact = {
        "wall_s_best": min(exact_times),
        "wall_s_median": statistics.median(exact_times),
        "obs_per_s": n_obs / min(exact_times),
        "peak_extra_bytes": exact_peak,
        "output_rows": len(result),
    }
    del result

    subset = _baseline_subset(table, args.baseline_sensors)
    subset_input = subset.to_pandas() if args.format == "pandas" else subset
    base_times, base_peak, base_result = _timed(
        lambda: resample_observations(subset_input, **call, method="two_step"), repeat=1
    )
    sub_times, _, sub_exact = _timed(
        lambda: resample_observations(subset_input, **call), repeat=args.repeat
    )
    baseline = {
        "sensors": int(pc.count_distinct(subset.column("sensor_id")).as_py()),
        "observations": len(subset),
        "wall_s": base_times[0],
        "obs_per_s": len(subset) / base_times[0],
        "extrapolated_full_wall_s": n_obs * base_times[0] / len(subset),
        "extrapolated": len(subset) < n_obs,
        "peak_extra_bytes": base_peak,
        "exact_on_same_subset_wall_s": min(sub_times),
        "mean_abs_difference_by_type": _differences(sub_exact, base_result),
    }
    report = {
        "command": "benchmarks/resample_benchmark.py " + " ".join(_argv(args)),
        "when_utc": pd.Timestamp.now(tz="UTC").isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": {"numpy": np.__version__, "pandas": pd.__version__, "pyarrow": pa.__version__},
        "input": {
            "observations": n_obs,
            "sensors": args.sensors,
            "days": args.days,
            "source": source,
            "order": args.order,
            "format": args.format,
            "bytes": input_bytes,
        },
        "memory_measure": _MEMORY_MEASURE,
        "exact": exact,
        "two_step": baseline,
        "speedup_obs_per_s": exact["obs_per_s"] / baseline["obs_per_s"],
        "speedup_same_subset": baseline["wall_s"] / baseline["exact_on_same_subset_wall_s"],
        "exact_peak_over_input": exact_peak / input_bytes,
    }
    _print_table(report)
    write_report("resample", report)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=243, help="sensors (default: 243)")
    parser.add_argument("--days", type=int, default=90, help="days (default: 90)")
    parser.add_argument("--freq", default="5min", help="bin width (default: 5min)")
    parser.add_argument(
        "--baseline-sensors",
        type=int,
        default=12,
        help="run two_step on this many sensors (half motion) and extrapolate per "
        "observation; 0 = all sensors, no extrapolation (default: 12)",
    )
    parser.add_argument(
        "--order",
        choices=("sensor", "time", "arrival"),
        default="sensor",
        help="row order handed to the function: by (sensor_id, ts), by ts, or as generated "
        "(the simulator's upload order) (default: sensor)",
    )
    parser.add_argument("--format", choices=("arrow", "pandas"), default="arrow")
    parser.add_argument("--source", choices=("auto", "simulator", "synthetic"), default="auto")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of exact (best wins)")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _argv(args: argparse.Namespace) -> list[str]:
    return [f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()]


# --- the input ------------------------------------------------------------------------------


def _observations(args: argparse.Namespace) -> tuple[pa.Table, str]:
    """Input columns sensor_id, sensor_type (str), ts (timestamp ms UTC), value (float64)."""
    if args.source != "synthetic":
        try:
            return _simulated(args), "snuk_assets.simulate"
        except (ImportError, ValueError) as exc:
            if args.source == "simulator":
                raise
            print(f"simulator not used ({exc}); numpy generator instead")
    return _synthetic(args), "numpy generator"


def _simulated(args: argparse.Namespace) -> pa.Table:
    from snuk_assets.registry import default_registry_path, load_registry
    from snuk_assets.simulate import simulate_observations

    registry = load_registry(default_registry_path())
    if args.sensors != len(registry.sensors):
        raise ValueError(f"the reference building has {len(registry.sensors)} sensors")
    days = simulate_observations(registry=registry, start=START, days=args.days, seed=args.seed)
    raw = pa.concat_tables(days)
    sensor_id = raw.column("sensor_id").cast(pa.string())
    type_of = dict(zip(registry.sensors["sensor_id"], registry.sensors["sensor_type"], strict=True))
    ids = pc.unique(sensor_id).to_pylist()
    types = pa.array([type_of[s] for s in ids]).take(pc.index_in(sensor_id, pa.array(ids)))
    ts = raw.column("timestamp_ms").cast(pa.timestamp("ms", tz="UTC"))
    return pa.table({"sensor_id": sensor_id, "sensor_type": types, "ts": ts, "value": raw["value"]})


def _synthetic(args: argparse.Namespace) -> pa.Table:
    """Climate sensors every ~60 s with jitter, motion sensors on change; a few offline spans."""
    rng = np.random.default_rng(args.seed)
    n_motion = args.sensors // 2
    climate = ("temperature", "humidity", "luminosity")
    start_ms = pd.Timestamp(START, tz="UTC").value // 1_000_000
    span_ms = args.days * 86_400_000
    parts = []
    for s in range(args.sensors):
        kind = "motion" if s < n_motion else climate[s % 3]
        if kind == "motion":
            gaps = rng.exponential(55_000, size=int(span_ms / 55_000 * 1.1)) + 1_000
            ts = np.cumsum(gaps).astype(np.int64)
            value = np.arange(len(ts)) % 2
        else:
            ts = np.arange(0, span_ms, 60_000) + rng.integers(-2_000, 2_000, span_ms // 60_000)
            value = 20 + 5 * np.sin(ts / 86_400_000 * 2 * np.pi) + rng.normal(0, 0.2, len(ts))
        # Two offline spans of 1-12 h per sensor.
        for off in rng.integers(0, span_ms, 2):
            ts = ts[(ts < off) | (ts > off + rng.integers(3_600_000, 43_200_000))]
            value = value[: len(ts)]
        ts = ts[ts < span_ms + 3_600_000]
        letter = SENSOR_TYPES[kind].letter
        parts.append((f"{1000 + s}-{s % 300}-{s % 250}-250-{letter}", kind, ts, value[: len(ts)]))
    names = pa.array([p[0] for p in parts])
    kinds = pa.array([p[1] for p in parts])
    which = pa.array(np.repeat(np.arange(len(parts)), [len(p[2]) for p in parts]))
    ts = np.concatenate([p[2] for p in parts]) + start_ms - 60_000
    return pa.table(
        {
            "sensor_id": names.take(which),
            "sensor_type": kinds.take(which),
            "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            "value": np.concatenate([p[3] for p in parts]).astype(np.float64),
        }
    )


def _ordered(table: pa.Table, order: str) -> pa.Table:
    if order == "arrival":
        return table
    keys = [("ts", "ascending")] if order == "time" else [("sensor_id", "ascending")]
    keys += [("ts", "ascending")] if order == "sensor" else [("sensor_id", "ascending")]
    return table.take(pc.sort_indices(table, sort_keys=keys)).combine_chunks()


def _baseline_subset(table: pa.Table, n_sensors: int) -> pa.Table:
    """All rows of ``n_sensors`` sensors, half of them motion, spread over the id range."""
    if n_sensors <= 0:
        return table
    frame = table.select(["sensor_id", "sensor_type"]).group_by(["sensor_id", "sensor_type"])
    sensors = frame.aggregate([]).sort_by("sensor_id").to_pandas()
    motion = sensors[sensors["sensor_type"] == "motion"]["sensor_id"].to_numpy()
    other = sensors[sensors["sensor_type"] != "motion"]["sensor_id"].to_numpy()
    n_motion = min(len(motion), n_sensors // 2)
    picked = [
        *motion[np.linspace(0, len(motion) - 1, n_motion).astype(int)],
        *other[np.linspace(0, len(other) - 1, n_sensors - n_motion).astype(int)],
    ]
    return table.filter(pc.is_in(table.column("sensor_id"), pa.array(picked)))


def _nbytes(observations: pa.Table | pd.DataFrame) -> int:
    if isinstance(observations, pa.Table):
        return observations.nbytes
    return int(observations.memory_usage(deep=True).sum())


# --- measuring ------------------------------------------------------------------------------

# The kernel's peak RSS can be reset since Linux 4.0 (clear_refs "5"), which measures numpy
# and Arrow allocations alike; tracemalloc would miss Arrow's memory pool.
_MEMORY_MEASURE = (
    "peak resident set size during the call minus resident set size before it "
    "(Linux VmHWM after resetting it through /proc/self/clear_refs; falls back to the "
    "ru_maxrss delta where that is not possible)"
)


def _timed(fn: Callable[[], object], *, repeat: int) -> tuple[list[float], int, object]:
    """Wall times of ``repeat`` calls, the first call's peak extra memory, its result."""
    before = _reset_peak_rss()
    t0 = time.perf_counter()
    result = fn()
    times = [time.perf_counter() - t0]
    peak = _peak_rss() - before
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times, peak, result


def _reset_peak_rss() -> int:
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return _status_kib("VmRSS") * 1024


def _peak_rss() -> int:
    try:
        return _status_kib("VmHWM") * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _differences(exact: pd.DataFrame, two_step: pd.DataFrame) -> dict[str, float]:
    """Mean |exact - two_step| per sensor type, over bins where both have a value."""
    both = exact.assign(two_step=two_step["value"].to_numpy()).dropna(subset=["value", "two_step"])
    gap = (both["value"] - both["two_step"]).abs()
    return {str(k): float(v) for k, v in gap.groupby(both["sensor_type"]).mean().items()}


def _print_table(report: dict) -> None:
    exact, base = report["exact"], report["two_step"]
    mib = 2**20
    extrapolated = " (extrapolated per observation)" if base["extrapolated"] else ""
    rows = [
        ("method", "observations", "wall s", "obs/s", "peak extra MiB"),
        (
            "exact",
            f"{report['input']['observations']:,}",
            f"{exact['wall_s_best']:.2f}",
            f"{exact['obs_per_s'] / 1e6:.1f} M",
            f"{exact['peak_extra_bytes'] / mib:,.0f}",
        ),
        (
            f"two_step, {base['sensors']} sensors",
            f"{base['observations']:,}",
            f"{base['wall_s']:.2f}",
            f"{base['obs_per_s'] / 1e6:.2f} M",
            f"{base['peak_extra_bytes'] / mib:,.0f}",
        ),
        (
            f"two_step, all{extrapolated}",
            f"{report['input']['observations']:,}",
            f"{base['extrapolated_full_wall_s']:.1f}",
            "",
            "",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print(
        f"speedup (obs/s): {report['speedup_obs_per_s']:.0f}x; on the same "
        f"{base['sensors']} sensors: {report['speedup_same_subset']:.0f}x. "
        f"Exact peak extra memory / input size: {report['exact_peak_over_input']:.2f} "
        f"(input {report['input']['bytes'] / mib:,.0f} MiB)."
    )
    print(f"memory: {report['memory_measure']}")
    print("mean |exact - two_step| by type:", base["mean_abs_difference_by_type"])


if __name__ == "__main__":
    main()
