"""How often the motion-derived label says what the simulated people do, per room kind.

    .venv/bin/python benchmarks/label_agreement.py --seeds 42 43 44 --days 28

The reference office is simulated from ``--start`` for ``--days`` days; its observations go
through the stages' group functions (``snuk_assets.evaluate.simulated``) and each room's 5-min
bins are compared with the simulator's truth: the share of bins where ``occupancy > 0`` matches
"somebody there", over the bins the label is defined (a motion sensor online). Two labels: the
motion sensors' alone, and the pipeline's ``occupancy`` (a door counter's where the room has one).
"""

from __future__ import annotations

import argparse
import datetime as dt

from snuk_assets.evaluate.simulated import label_agreement, simulated_rooms
from snuk_assets.registry import default_registry_path, load_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--registry", default=str(default_registry_path()))
    args = parser.parse_args()
    registry = load_registry(args.registry)
    print(f"agreement with the truth, 5-min bins, {args.days} days from {args.start}")
    for seed in args.seeds:
        rooms = simulated_rooms(registry, start=args.start, days=args.days, seed=seed)
        for label, name in (("motion_occupancy", "motion sensors"), ("occupancy", "pipeline")):
            shares = label_agreement(rooms, label)
            kinds = "  ".join(f"{kind} {share:.2%}" for kind, share in shares.items())
            print(f"seed {seed} {name:14s} {kinds}", flush=True)


if __name__ == "__main__":
    main()
