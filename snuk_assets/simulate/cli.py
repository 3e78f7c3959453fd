"""The ``snuk simulate`` subcommand: fill a landing zone with a simulated building."""

from __future__ import annotations

import argparse
import datetime as dt

from snuk_assets.environment import settings_values
from snuk_assets.registry import default_registry_path, load_registry
from snuk_assets.simulate.portfolio import simulate_portfolio
from snuk_assets.simulate.simulation import simulate_building
from snuk_assets.simulate.writer import FORMATS


def add_simulate_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``simulate`` to a CLI's subcommands; its handler is stored as ``func``."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the building's sensor uploads into a landing zone",
        description="Write simulated gateway upload files to LANDING and the true occupancy "
        "to TRUTH/occupancy_truth.parquet. Same seed, same bytes.",
    )
    parser.add_argument(
        "--landing",
        help="landing zone: a folder or s3://bucket/prefix "
        "(default: $SNUK_LANDING_URI or ./data/landing)",
    )
    parser.add_argument(
        "--truth",
        help="ground-truth folder (default: $SNUK_TRUTH_DIR or ./data/ground_truth)",
    )
    parser.add_argument(
        "--registry", default=str(default_registry_path()), help="building registry YAML"
    )
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=dt.date(2016, 6, 1),
        help="first simulated UTC day, YYYY-MM-DD (default: 2016-06-01)",
    )
    parser.add_argument("--days", type=int, default=14, help="days to simulate (default: 14)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument(
        "--format", dest="fmt", choices=FORMATS, default="line", help="upload file format"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip text upload files")
    parser.add_argument(
        "--buildings",
        type=int,
        help="simulate a portfolio of N buildings (the reference office and its variants: "
        "snuk_assets/simulate/portfolio.py) instead of --registry's one; needs --registries",
    )
    parser.add_argument(
        "--registries",
        help="with --buildings: the folder the buildings' registries are written to "
        "(default: $SNUK_REGISTRIES)",
    )
    parser.set_defaults(func=run_simulate)
    return parser


def run_simulate(args: argparse.Namespace) -> int:
    """Handler of ``snuk simulate``: run and print the summary (each building's)."""
    common = {
        "landing_uri": args.landing or settings_values()["landing_uri"],
        "truth_dir": args.truth or settings_values()["truth_dir"],
        "start": args.start,
        "days": args.days,
        "seed": args.seed,
        "fmt": args.fmt,
        "gzip": args.gzip,
    }
    if args.buildings is not None:
        registries = args.registries or settings_values()["registries_path"]
        if not registries:
            print("snuk simulate --buildings: name the registries folder (--registries)")
            return 2
        summaries = simulate_portfolio(
            buildings=args.buildings, registries_dir=registries, **common
        )
        for building_id, summary in summaries.items():
            print(f"{building_id}:\n{summary}")
        return 0
    summary = simulate_building(registry=load_registry(args.registry), **common)
    print(summary)
    return 0
