"""`snuk evaluate control` (the policies on the simulated building) and `snuk evaluate robod`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib


def add_control_parsers(datasets: argparse._SubParsersAction) -> None:
    """Add ``control`` and ``robod`` to ``snuk evaluate``'s subcommands."""
    control = datasets.add_parser(
        "control",
        help="the control policies side by side on the simulated building's lakehouse",
        description="Per policy (fixed_schedule, reactive, forecast, oracle): energy_kwh, "
        "discomfort_kh, miss_minutes and dark_occupied_minutes, for the building and per room "
        "kind. Reads SNUK_LAKEHOUSE_URI's room_series and occupancy_models (trained before "
        "START) and the simulator's ground truth.",
    )
    control.add_argument("--start", required=True, type=dt.date.fromisoformat)
    control.add_argument("--days", required=True, type=int)
    control.add_argument("--seed", required=True, type=int, help="the simulator's seed (weather)")
    control.add_argument("--json", type=pathlib.Path, help="also write the figures here")
    control.add_argument(
        "--truth",
        help="folder of occupancy_truth.parquet (default: the settings' truth_dir, "
        "$SNUK_TRUTH_DIR or ./data/ground_truth)",
    )
    control.add_argument("--threshold", type=float, help="forecast policy's occupied cut")
    control.add_argument("--lead-bins", type=int, help="forecast policy's lead time in bins")
    control.set_defaults(func=_control_command)
    robod = datasets.add_parser(
        "robod", help="ROBOD: energy used while rooms were empty, and what each policy saves"
    )
    robod.add_argument("--data", required=True, type=pathlib.Path, help="the dataset folder")
    robod.add_argument("--json", type=pathlib.Path, help="also write the figures here")
    robod.set_defaults(func=_robod_command)


def _control_command(args: argparse.Namespace) -> int:
    from snuk_assets.control.evaluation import (
        ControlParams,
        building_and_kind_summary,
        done_when,
        evaluate_control,
        format_summary,
        json_report,
        read_truth,
    )
    from snuk_assets.settings import SnukSettings

    if args.days < 1:
        print("--days must be at least 1")
        return 2
    defaults = ControlParams()
    params = ControlParams(
        threshold=defaults.threshold if args.threshold is None else args.threshold,
        lead_bins=defaults.lead_bins if args.lead_bins is None else args.lead_bins,
    )
    settings = SnukSettings.from_env()
    run = evaluate_control(
        settings.lakehouse(),
        settings.registry(),
        truth=read_truth(args.truth or settings.truth_dir),
        start=args.start,
        days=args.days,
        seed=args.seed,
        freq=settings.bin_freq,
        params=params,
    )
    summary = building_and_kind_summary(run.kpis)
    criteria = done_when(summary["building"])
    end = args.start + dt.timedelta(days=args.days - 1)
    print(
        f"Control policies, {args.start} .. {end}, simulator seed {args.seed}, "
        f"forecast threshold {params.threshold}, lead {params.lead_bins} bins"
    )
    if run.rooms_without_forecast:
        print("rooms without forecasts (reactive lights, schedule HVAC):")
        print(f"  {run.rooms_without_forecast}")
    print("\n".join(format_summary(summary, criteria)))
    if args.json:
        report = json_report(
            summary,
            criteria,
            start=args.start,
            days=args.days,
            seed=args.seed,
            params=params,
            why=run.rooms_without_forecast,
        )
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


def _robod_command(args: argparse.Namespace) -> int:
    from snuk_assets.control.robod import format_robod, robod_savings

    report = robod_savings(args.data)
    print("\n".join(format_robod(report)))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0
