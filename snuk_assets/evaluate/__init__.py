"""``snuk evaluate``: the pipeline's transforms and models on public occupancy datasets.

snuk evaluate uci-occupancy --data ../shared/datasets/uci_occupancy
snuk evaluate room-climate --data ../shared/datasets/room_climate
snuk evaluate control --start 2016-06-27 --days 28 --seed 42   # control policies, simulated
snuk evaluate robod --data ../shared/datasets/robod           # energy used in empty rooms
snuk evaluate estimate --seeds 42 43 44 --robod ... --uci ...  # the occupancy estimate
snuk evaluate forecasts --seeds 42 43 44                       # against the label and the truth
"""

from __future__ import annotations

import argparse
import pathlib


def add_evaluate_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``evaluate`` with its datasets to a CLI's subcommands; handlers are in ``func``."""
    parser = commands.add_parser(
        "evaluate", help="score detection and forecasts on a public occupancy dataset"
    )
    datasets = parser.add_subparsers(dest="dataset", required=True)
    uci = datasets.add_parser(
        "uci-occupancy",
        help="UCI Occupancy Detection: train on datatraining.txt, test on datatest.txt",
    )
    uci.add_argument("--data", required=True, type=pathlib.Path, help="folder of the .txt files")
    uci.set_defaults(func=_uci_command)
    climate = datasets.add_parser(
        "room-climate",
        help="Room climate (Morgner et al. 2017): per location, last 30%% of the time held out",
    )
    climate.add_argument("--data", required=True, type=pathlib.Path, help="the dataset folder")
    climate.add_argument("--test-fraction", type=float, default=0.3)
    climate.set_defaults(func=_room_climate_command)
    for sub in (uci, climate):
        sub.add_argument("--freq", default="1min", help="bin width (default: %(default)s)")
        sub.add_argument("--bsteps", type=int, default=12)
        sub.add_argument("--fsteps", type=int, default=12)
        sub.add_argument(
            "--landing",
            type=pathlib.Path,
            help="also write the converted observations here, in the landing zone's line format",
        )
    from snuk_assets.control.cli import add_control_parsers

    add_control_parsers(datasets)
    from snuk_assets.evaluate.estimate import add_parser as add_estimate_parser

    add_estimate_parser(datasets)
    from snuk_assets.evaluate.forecast_truth import add_parser as add_forecasts_parser

    add_forecasts_parser(datasets)
    return parser


def _params(args: argparse.Namespace):
    from snuk_assets.evaluate.run import EvalParams

    return EvalParams(freq=args.freq, bsteps=args.bsteps, fsteps=args.fsteps)


def _write_landing(folder: pathlib.Path | None, name: str, observations) -> None:
    if folder is None:
        return
    from snuk_assets.evaluate.datasets import landing_lines

    day = observations["ts"].min()
    target = folder / f"raw_data/{day:%Y/%m/%d}/{name}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(landing_lines(observations))
    print(f"wrote {len(observations)} observations to {target}")


def _uci_command(args: argparse.Namespace) -> int:
    from snuk_assets.evaluate.datasets import UCI_HOLIDAYS, UCI_TIMEZONE, uci_observations
    from snuk_assets.evaluate.run import evaluate, print_scores, windows_of

    params = _params(args)
    frames = {}
    for part in ("datatraining", "datatest"):
        observations = uci_observations(args.data / f"{part}.txt")
        _write_landing(args.landing, f"uci-{part}", observations)
        frames[part] = windows_of(
            observations, timezone=UCI_TIMEZONE, holidays=UCI_HOLIDAYS, params=params
        )
    scores = evaluate(
        frames["datatraining"],
        frames["datatest"],
        timezone=UCI_TIMEZONE,
        params=params,
        detection_sets=detection_sets(params.bsteps),
    )
    print_scores(
        f"UCI Occupancy Detection, {params.freq} bins (published RF detection: 95.05% accuracy "
        "on datatest.txt)",
        scores,
        train_size=len(frames["datatraining"]),
    )
    return 0


def _room_climate_command(args: argparse.Namespace) -> int:
    from snuk_assets.evaluate.datasets import (
        ROOM_CLIMATE_HOLIDAYS,
        ROOM_CLIMATE_TIMEZONE,
        room_climate_observations,
    )
    from snuk_assets.evaluate.run import evaluate, print_scores, time_ordered_split, windows_of

    params = _params(args)
    folders = sorted(p for p in args.data.glob("datasets-location_*") if p.is_dir())
    if not folders:
        print(f"{args.data}: no datasets-location_* folders")
        return 2
    for folder in folders:
        observations = room_climate_observations(folder)
        _write_landing(args.landing, f"room-climate-{folder.name}", observations)
        windows = windows_of(
            observations,
            timezone=ROOM_CLIMATE_TIMEZONE,
            holidays=ROOM_CLIMATE_HOLIDAYS,
            params=params,
        )
        train, test = time_ordered_split(windows, args.test_fraction)
        scores = evaluate(
            train,
            test,
            timezone=ROOM_CLIMATE_TIMEZONE,
            params=params,
            detection_sets=detection_sets(params.bsteps),
        )
        print_scores(
            f"Room climate {folder.name}, {params.freq} bins (published detection from "
            "temperature+humidity: 93.5%)",
            scores,
            train_size=len(train),
        )
    return 0


def detection_sets(bsteps: int) -> dict[str, list[str]]:
    """The detectors' feature sets; the changes reach as far back as the windows (``bsteps``)."""
    return {
        "temperature+humidity+luminosity": ["temperature_t", "humidity_t", "luminosity_t"],
        "temperature+humidity": ["temperature_t", "humidity_t"],
        "temperature+luminosity": ["temperature_t", "luminosity_t"],
        "luminosity": ["luminosity_t"],
        "temperature+humidity changes over the window": [
            f"{signal}_change_{k}"
            for signal in ("temperature", "humidity")
            for k in range(1, bsteps)
        ],
    }
