"""``occupancy_models`` for one training day, two checkouts side by side on the same windows.

    .venv/bin/python benchmarks/models_benchmark.py --workdir W --label branch
    .venv/bin/python benchmarks/models_benchmark.py --workdir W --label main --venv /work/main/.venv
    .venv/bin/python benchmarks/models_benchmark.py --workdir W --compare main branch
    .venv/bin/python benchmarks/models_benchmark.py --workdir W --label main1 \
        --venv /work/main/.venv --checkout COPY  # COPY: git -C /work/main archive HEAD | tar -x

The first run into ``--workdir`` simulates the reference office (``--days`` from ``--start``,
seed ``--seed``) and materializes ``raw_observations`` .. ``feature_windows`` with
``--build-venv``'s code into ``W/base`` (not timed). Each ``--label`` run materializes, with
``--venv``'s packages and ``--checkout``'s code (default: the venv's own checkout),
``occupancy_models`` for the last simulated day (timed: the command's wall
time, process start included, as in the whole-pipeline table, and the step's own duration from
Dagster's log), then ``model_metrics`` and ``occupancy_forecasts``, into ``W/<label>``: a
hard-linked copy of the base lakehouse (Delta files are never rewritten in place). ``--compare``
checks that two runs' ``model_metrics`` and ``occupancy_forecasts`` are equal row for row and
that each room's stored forests predict the same probabilities on its windows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline_benchmark import (  # noqa: E402
    DATA_STAGES,
    dagster_home,
    materialize,
    run_stage,
    simulated_workdir,
    workdir_environment,
)
from report import write_report  # noqa: E402

STAGES = ["occupancy_models", "model_metrics", "occupancy_forecasts"]
# Dagster's step durations: "812ms", "41.2s", "1m12s", "1h2m".
DURATION = re.compile(r'Finished execution of step "(\w+)" in ([\dhms.]+)\.')


def build(base: pathlib.Path, *, start, days, seed, venv, registry: str | None) -> None:
    """Simulate the office into ``base`` and materialize the stages before the models (once)."""
    if (base / "built").exists():
        return
    last_arrival = simulated_workdir(base, start=start, days=days, seed=seed, registry=registry)
    env = workdir_environment(base, start, registry=registry)
    for stage in DATA_STAGES:
        command = [*materialize(venv), "--select", stage]
        command += ["--partition-range", f"{start}...{last_arrival}"]
        print(stage, run_stage(command, env, base / f"{stage.split(',')[0]}.log"), "(not counted)")
    (base / "built").write_text(f"{venv}\n")


def step_seconds(log: pathlib.Path, step: str) -> float | None:
    """The duration Dagster logged for ``step`` in ``log``, in seconds (None if absent)."""
    for name, text in DURATION.findall(log.read_text()):
        if name == step:
            units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
            parts = re.findall(r"([\d.]+)(ms|h|m|s)", text)
            return round(sum(float(value) * units[unit] for value, unit in parts), 1)
    return None


def run(
    work: pathlib.Path, label: str, *, venv, checkout, start, day, registry, stages=STAGES
) -> None:
    """The model stages for ``day`` with ``checkout``'s code and ``venv``'s packages, into a
    fresh copy of the base."""
    folder = work / label
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    subprocess.run(["cp", "-al", str(work / "base" / "lakehouse"), str(folder)], check=True)
    dagster_home(folder)
    env = workdir_environment(folder, start, registry=registry)
    # Dagster imports the code location from the working directory (before the venv's own
    # editable install), and spawned workers inherit that path.
    os.chdir(checkout)
    rows = {}
    for stage in stages:
        log = folder / f"{stage}.log"
        command = [*materialize(venv), "--select", stage, "--partition", day.isoformat()]
        rows[stage] = {**run_stage(command, env, log), "step_s": step_seconds(log, stage)}
        print(f"  {label:8s} {stage:20s} {rows[stage]}")
    write_report(
        "models", {"label": label, "checkout": str(checkout), "day": str(day), "runs": rows}
    )


def plain(value):
    """A cell as a comparable Python value (lists for arrays)."""
    return value.tolist() if hasattr(value, "tolist") else value


def compare(work: pathlib.Path, labels: list[str], day: dt.date) -> bool:
    """Whether two runs' metrics, forecasts and stored forests' probabilities are equal."""
    import numpy as np

    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.transforms.models.blobs import load_model
    from snuk_assets.transforms.models.training import positive_proba

    def table(label: str, name: str):
        frame = Lakehouse(str(work / label / "lakehouse")).read(name, dates=[day]).to_pandas()
        keys = ("date", "room_id", "model", "horizon", "anchor_bin_start", "bin_start")
        return frame.sort_values([c for c in keys if c in frame]).reset_index(drop=True)

    equal = True
    for name in ("model_metrics", "occupancy_forecasts"):
        if not all((work / label / "lakehouse" / name).is_dir() for label in labels):
            print(f"{name}: not materialized in both, not compared")
            continue
        first, second = (table(label, name) for label in labels)
        same = first.equals(second)
        print(f"{name}: {len(first)} and {len(second)} rows, equal: {same}")
        equal &= same
    models = [table(label, "occupancy_models").set_index("room_id") for label in labels]
    windows = Lakehouse(str(work / "base" / "lakehouse")).read("feature_windows").to_pandas()
    differing = []
    for room, row in models[0].iterrows():
        other = models[1].loc[room]
        if row["status"] != "trained" or other["status"] != "trained":
            if row["status"] != other["status"]:
                differing.append(room)
            continue
        features = list(row["feature_names"])
        rows = windows[windows["room_id"] == room][features].dropna()
        probas = [positive_proba(load_model(r["model"]), rows) for r in (row, other)]
        fields = [{k: plain(v) for k, v in r.drop("model").items()} for r in (row, other)]
        if not (np.array_equal(*probas) and fields[0] == fields[1]):
            differing.append(room)
    print(f"occupancy_models: {len(models[0])} rooms, differing: {differing or 'none'}")
    return equal and not differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=pathlib.Path, required=True)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--build-venv", type=pathlib.Path, default=ROOT / ".venv")
    parser.add_argument("--venv", type=pathlib.Path, default=ROOT / ".venv")
    parser.add_argument(
        "--checkout",
        type=pathlib.Path,
        help="the code run (default: the venv's parent), e.g. a copy of a commit that no merge "
        "or edit reaches during the runs",
    )
    parser.add_argument("--registry", help="a building registry (default: the reference office)")
    parser.add_argument("--label", help="run the model stages into W/LABEL")
    parser.add_argument("--stages", nargs="+", default=STAGES, choices=STAGES)
    parser.add_argument("--compare", nargs=2, metavar="LABEL", help="compare two runs")
    args = parser.parse_args()

    work = args.workdir.resolve()
    day = args.start + dt.timedelta(days=args.days - 1)
    registry = args.registry and str(pathlib.Path(args.registry).resolve())
    settings = {"start": args.start, "registry": registry}
    build(work / "base", days=args.days, seed=args.seed, venv=args.build_venv, **settings)
    if args.label:
        venv = args.venv.resolve()
        checkout = (args.checkout or venv.parent).resolve()
        run(work, args.label, venv=venv, checkout=checkout, day=day, stages=args.stages, **settings)
    if args.compare:
        raise SystemExit(0 if compare(work, args.compare, day) else 1)


if __name__ == "__main__":
    main()
