"""The ``snuk`` command: simulate a building, run the pipeline for a range of days, the demo.

snuk simulate --landing ./data/landing --start 2016-06-01 --days 35 --seed 42
snuk materialize --start 2016-06-01 --end 2016-06-14
snuk demo                      # simulate the reference office, then materialize everything
snuk tables                    # what is in the lakehouse
snuk vacuum [--dry-run]        # expire raw data, compact the audit, delete replaced Delta files
snuk migrate                   # once, after upgrading: tables partitioned by building and day
snuk forget --room ROOM [--before DATE]  # a room's data out of every table and the landing
snuk evaluate uci-occupancy --data DIR   # detection and forecasts on a public dataset
snuk live --broker mqtt://127.0.0.1:1883 --http 127.0.0.1:8000 [--replay --speed 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import sys
import time

DEMO_START = "2016-06-01"
# Five weeks: the last day's models get their full 28 training days (the last 60 % scored walking
# forward in three blocks), and every weekday is seen four times.
DEMO_DAYS = 35


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snuk", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    from snuk_assets.simulate.cli import add_simulate_parser

    add_simulate_parser(commands)

    from snuk_assets.evaluate import add_evaluate_parser

    add_evaluate_parser(commands)

    from snuk_assets.importer import add_import_parser

    add_import_parser(commands)

    from snuk_assets.live.cli import add_live_parser

    add_live_parser(commands)

    from snuk_assets.privacy import add_forget_parser

    add_forget_parser(commands)

    run = commands.add_parser("materialize", help="run the whole pipeline for a range of days")
    run.add_argument("--start", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    run.add_argument("--end", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    run.add_argument(
        "--model-day",
        type=dt.date.fromisoformat,
        help="train, score and forecast for this day only (default: every day of the range)",
    )
    run.set_defaults(func=_materialize_command)

    demo = commands.add_parser(
        "demo", help="simulate the reference office and materialize the whole pipeline for it"
    )
    demo.add_argument("--start", default=DEMO_START, type=dt.date.fromisoformat)
    demo.add_argument("--days", default=DEMO_DAYS, type=int)
    demo.add_argument("--seed", default=42, type=int)
    demo.add_argument(
        "--buildings",
        default=1,
        type=int,
        help="simulate a portfolio of N buildings (the reference office, its New York twin, "
        "its annex, ...) into $SNUK_REGISTRIES (default ./data/registries) and run them all; "
        "1 (the default) is the reference office alone",
    )
    demo.set_defaults(func=_demo_command)

    registry = commands.add_parser("registry", help="the building registry in other forms")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True)
    export = registry_commands.add_parser("export", help="write the registry as a Brick model")
    export.add_argument("--brick", required=True, help="the Turtle file to write")
    export.add_argument(
        "--registry", default=None, help="the registry to export (default: SNUK_REGISTRY's)"
    )
    export.set_defaults(func=_registry_export_command)

    tables = commands.add_parser("tables", help="list the lakehouse's tables and row counts")
    tables.set_defaults(func=_tables_command)

    vacuum = commands.add_parser(
        "vacuum", help="delete the lakehouse's replaced and orphaned files past the retention"
    )
    vacuum.add_argument(
        "--retention-hours",
        type=int,
        default=None,
        help="keep files younger than this (default: each table's Delta retention, 168 h; "
        "shorter is refused)",
    )
    vacuum.add_argument("--dry-run", action="store_true", help="list the files, delete none")
    vacuum.set_defaults(func=_vacuum_command)

    migrate = commands.add_parser(
        "migrate",
        help="rewrite the lakehouse's date-partitioned tables as the deployment's building's "
        "(once, after upgrading to tables partitioned by building and day)",
    )
    migrate.set_defaults(func=_migrate_command)

    args = parser.parse_args(argv)
    return args.func(args) or 0


def _registry_export_command(args: argparse.Namespace) -> int:
    from snuk_assets.brick import registry_to_turtle
    from snuk_assets.registry import load_registry
    from snuk_assets.settings import SnukSettings

    registry = load_registry(args.registry) if args.registry else SnukSettings.from_env().registry()
    pathlib.Path(args.brick).write_text(registry_to_turtle(registry))
    print(
        f"{args.brick}: {len(registry.rooms)} rooms, {len(registry.sensors)} points "
        f"of {registry.building_id}"
    )
    return 0


def _materialize_command(args: argparse.Namespace) -> int:
    from snuk_assets.pipeline import materialize_days

    if args.end < args.start:
        print(f"--end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    ok = materialize_days(args.start, args.end, model_day=args.model_day, log=print)
    return 0 if ok else 1


def _demo_command(args: argparse.Namespace) -> int:
    from snuk_assets.partitions import BY_BUILDING
    from snuk_assets.pipeline import materialize_days
    from snuk_assets.registry import default_registry_path, load_registry
    from snuk_assets.settings import SnukSettings
    from snuk_assets.simulate import simulate_building
    from snuk_assets.simulate.portfolio import simulate_portfolio

    if args.buildings < 1:
        print(f"--buildings {args.buildings}: at least 1", file=sys.stderr)
        return 2
    if args.buildings > 1 and not BY_BUILDING:
        return _demo_in_portfolio_process()
    settings = SnukSettings.from_env()
    end = args.start + dt.timedelta(days=args.days - 1)
    truth_dir = settings.truth_dir
    if args.buildings > 1:
        print(
            f"Simulating {args.buildings} buildings, {args.start} .. {end}, registries in "
            f"{settings.registries_path}, files into {settings.landing_uri}"
        )
        simulated = simulate_portfolio(
            buildings=args.buildings,
            registries_dir=settings.registries_path,
            landing_uri=settings.landing_uri,
            truth_dir=truth_dir,
            start=args.start,
            days=args.days,
            seed=args.seed,
        )
        summary = "\n".join(f"{building}:\n{result}" for building, result in simulated.items())
    else:
        print(
            f"Simulating the reference office, {args.start} .. {end}, into {settings.landing_uri}"
        )
        summary = simulate_building(
            registry=load_registry(settings.registry_path or default_registry_path()),
            landing_uri=settings.landing_uri,
            truth_dir=truth_dir,
            start=args.start,
            days=args.days,
            seed=args.seed,
        )
    print(summary)
    # Late files of the last days land up to a few days after them: ingest those folders too.
    last_arrival = end + dt.timedelta(days=settings.max_lateness_days + 1)
    started = time.monotonic()
    # Models train on the trailing days: one model day, the last simulated one, is enough.
    ok = materialize_days(args.start, last_arrival, model_day=end, log=print)
    print(f"\nPipeline {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s.")
    _tables_command(args)
    from snuk_assets.pipeline import describe_models

    print("\n" + "\n".join(describe_models(settings)))
    portfolio = f"SNUK_REGISTRIES={settings.registries_path} " if settings.registries_path else ""
    print(
        f"\nGround truth occupancy: {truth_dir}\n"
        "Open the Dagster UI on these tables with:\n"
        f"    {portfolio}make dev        (runs: DAGSTER_HOME=$PWD/.dagster .venv/bin/dagster dev)\n"
        "then browse http://127.0.0.1:3000"
        + ("; each asset's partitions are a grid of buildings by days" if portfolio else "")
    )
    return 0 if ok else 1


def _demo_in_portfolio_process() -> int:
    """``snuk demo --buildings N`` again, in a child whose environment has ``SNUK_REGISTRIES``:
    the stages' partitions are fixed when the code loads (``partitions.BY_BUILDING``)."""
    import subprocess

    from snuk_assets.environment import portfolio_environment

    command = "from snuk_assets.cli import main; raise SystemExit(main())"
    return subprocess.call(
        [sys.executable, "-c", command, *sys.argv[1:]], env=portfolio_environment()
    )


def _vacuum_command(args: argparse.Namespace) -> int:
    from snuk_assets.housekeeping import VacuumReport, vacuum_everything
    from snuk_assets.lakehouse import LakehouseError
    from snuk_assets.settings import SnukSettings

    verb = "would delete" if args.dry_run else "deleted"

    def print_expired(report: VacuumReport) -> None:
        expired = dict(report.expired)
        cutoff = expired.pop("cutoff")
        kept = report.raw_retention_days
        for name, count in expired.items():
            if count:
                print(f"{name}: {verb} {count} raw rows/files before {cutoff} ({kept} days kept)")

    try:
        report = vacuum_everything(
            SnukSettings.from_env(),
            retention_hours=args.retention_hours,
            dry_run=args.dry_run,
            on_expired=print_expired,  # before a failed vacuum's error, too
        )
    except LakehouseError as error:
        print(error, file=sys.stderr)
        return 1
    for name, count in report.compacted.items():
        if count:
            print(f"{name}: {'would merge' if args.dry_run else 'merged'} {count} small files")
    for name, files in report.vacuumed.items():
        print(
            f"{name}: {files}" if isinstance(files, str) else f"{name}: {verb} {len(files)} files"
        )
    return 0


def _migrate_command(args: argparse.Namespace) -> int:
    from snuk_assets.lakehouse import LakehouseError
    from snuk_assets.settings import SnukSettings

    lakehouse = SnukSettings.from_env().lakehouse()
    print(f"lakehouse {lakehouse.uri}, building {lakehouse.building_id!r}:")
    try:
        reports = lakehouse.migrate_tables()
    except LakehouseError as error:
        print(error, file=sys.stderr)
        return 1
    for name, report in reports.items():
        if report is not None:
            print(
                f"  {name}: migrated, {report.rows:,d} rows of {len(report.dates)} days "
                f"(Delta version {report.version})"
            )
        elif lakehouse.partition_columns(name):
            print(f"  {name}: already partitioned by building and day")
        else:
            print(f"  {name}: left as it is (not partitioned by day)")
    return 0


def _tables_command(args: argparse.Namespace) -> int:
    from snuk_assets.pipeline import describe_tables

    for line in describe_tables():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
