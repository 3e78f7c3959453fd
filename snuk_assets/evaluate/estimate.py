"""``snuk evaluate estimate``: the occupancy estimate against people, beside single inputs.

Three places with truth, each split in time (held-out days never trained on):

- the simulated reference office (seeds given): trained on the first ``train_days`` days of a
  seed's run, scored on the rest, beside the motion label (``occupancy > 0`` from the motion
  sensors alone), an estimator on motion alone and one without luminosity (the simulator's
  lamps follow the true presence with a hold, ``simulate.environment``: a strong hint that
  real lamps, switched by hand or by the PIR, do not give);
- ROBOD (no motion sensors): one estimator trained on the three rooms' September days,
  scored on December's (``control.robod.TRAIN_BEFORE``), beside CO2 alone;
- UCI Occupancy Detection: trained on ``datatraining.txt``, scored on ``datatest.txt``, beside
  CO2 alone and the luminosity-only forest of ``snuk evaluate uci-occupancy`` (the same
  ``make_forest``) on the same bins.

Agreement (accuracy) is the share of bins where ``estimate >= 0.5`` matches the truth.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from dataclasses import dataclass

import pandas as pd

from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator, estimate_features

SIMULATED_INPUTS = ("motion", "co2", "luminosity", "counter")


@dataclass(frozen=True)
class Scored:
    """One detector on one test set: accuracy, its size, and each input's decided share."""

    name: str
    accuracy: float
    bins: int
    decided: dict[str, float]


def _score(name, estimator, train, y_train, test, y_test) -> Scored:
    estimator.fit(train, y_train)
    predicted = estimator.predict(test)
    return Scored(
        name,
        float((predicted == y_test).mean()),
        len(test),
        estimator.decided_shares(test) if len(estimator.inputs) > 1 else {},
    )


def simulated_scores(
    registry, *, seed: int, start: dt.date, days: int, train_days: int
) -> list[Scored]:
    """The estimate, motion alone and the motion label on one simulated building's test days."""
    from snuk_assets.evaluate.simulated import simulated_rooms

    rooms = simulated_rooms(registry, start=start, days=days, seed=seed)
    rooms = rooms.sort_values(["room_id", "bin_start"], ignore_index=True)
    features = estimate_features(rooms)
    truth = (rooms["occupied_fraction"] > 0).astype(int).to_numpy()
    train = rooms["bin_start"] < pd.Timestamp(start, tz="UTC") + pd.Timedelta(days=train_days)
    train = train.to_numpy()
    scores = [
        _score(
            name,
            OccupancyEstimator(inputs=inputs),
            features[train],
            truth[train],
            features[~train],
            truth[~train],
        )
        for name, inputs in (
            ("estimate", SIMULATED_INPUTS),
            ("estimate without luminosity", ("motion", "co2", "counter")),
            ("motion alone", ("motion",)),
        )
    ]
    label = rooms.loc[~train, "motion_occupancy"]
    defined = label.notna().to_numpy()
    agree = (label[defined] > 0).to_numpy() == truth[~train][defined]
    scores.append(
        Scored("motion label (occupancy > 0)", float(agree.mean()), int(defined.sum()), {})
    )
    return scores


def robod_scores(folder: pathlib.Path) -> list[Scored]:
    """ROBOD's three rooms: one estimator on their September rows, scored on December's."""
    from snuk_assets.control.robod import ROOMS, TRAIN_BEFORE, read_room

    frames = []
    for room in ROOMS:
        raw = read_room(folder / f"combined_{room}.csv")
        frames.append(
            pd.DataFrame(
                {
                    "room_id": room,
                    "bin_start": raw["timestamp"].dt.tz_convert("UTC"),
                    "co2": raw["indoor_co2"],
                    "sound_level": raw["sound_pressure_level"],
                    "luminosity": raw["illuminance"],
                    "wifi_devices": raw["wifi_connected_devices"],
                    "present": raw["occupant_presence"],
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["present"].notna()].sort_values(["room_id", "bin_start"], ignore_index=True)
    features = estimate_features(rows, freq="5min")
    truth = (rows["present"] > 0).astype(int).to_numpy()
    train = (rows["bin_start"] < TRAIN_BEFORE).to_numpy()
    detectors = (
        ("estimate", ("co2", "luminosity", "sound", "devices")),
        ("CO2 alone", ("co2",)),
    )
    scores = []
    for name, inputs in detectors:
        estimator = OccupancyEstimator(inputs=inputs)
        scores.append(
            _score(name, estimator, features[train], truth[train], features[~train], truth[~train])
        )
        if name == "estimate":
            for room in ROOMS:
                in_room = (rows.loc[~train, "room_id"] == room).to_numpy()
                hit = estimator.predict(features[~train][in_room]) == truth[~train][in_room]
                scores.append(Scored(f"  estimate, {room}", float(hit.mean()), len(hit), {}))
    return scores


def uci_scores(folder: pathlib.Path, *, freq: str = "1min") -> list[Scored]:
    """UCI: the estimate (CO2, luminosity) and single inputs, trained on datatraining.txt."""
    from snuk_assets.evaluate.datasets import UCI_CATALOG, uci_co2_observations, uci_observations
    from snuk_assets.evaluate.run import room_series_of
    from snuk_assets.transforms.models.training import TrainingParams, make_forest

    parts = {}
    for part in ("datatraining", "datatest"):
        path = folder / f"{part}.txt"
        observations = pd.concat([uci_observations(path), uci_co2_observations(path)])
        rooms, _types = room_series_of(observations, freq=freq, catalog=UCI_CATALOG)
        # The truth is the converted motion sensor: never an input here.
        rooms = rooms[rooms["occupancy"].notna()].sort_values("bin_start", ignore_index=True)
        features = estimate_features(rooms.drop(columns=["occupancy", "idle_minutes"]), freq=freq)
        parts[part] = (rooms, features, (rooms["occupancy"] > 0).astype(int).to_numpy())
    (_, train, y_train), (_, test, y_test) = parts["datatraining"], parts["datatest"]
    scores = [
        _score(name, OccupancyEstimator(inputs=inputs), train, y_train, test, y_test)
        for name, inputs in (("estimate", ("co2", "luminosity")), ("CO2 alone", ("co2",)))
    ]
    has_light = train["luminosity"].notna().to_numpy()
    forest = make_forest(TrainingParams()).fit(
        train.loc[has_light, ["luminosity"]], y_train[has_light]
    )
    test_light = test["luminosity"].notna().to_numpy()
    hit = forest.predict(test.loc[test_light, ["luminosity"]]) == y_test[test_light]
    scores.append(Scored("luminosity-only forest", float(hit.mean()), int(test_light.sum()), {}))
    return scores


def print_table(title: str, scores: list[Scored]) -> None:
    print(f"\n{title}")
    for s in scores:
        decided = ", ".join(f"{k} {v:.1%}" for k, v in s.decided.items())
        print(f"  {s.name:32s} {s.accuracy:8.2%}  of {s.bins:7,d} bins  {decided}")


def run(args) -> int:
    """Handler of ``snuk evaluate estimate``."""
    from snuk_assets.registry import default_registry_path, load_registry

    results = {}
    if args.seeds:
        registry = load_registry(args.registry or default_registry_path())
        for seed in args.seeds:
            scores = simulated_scores(
                registry, seed=seed, start=args.start, days=args.days, train_days=args.train_days
            )
            results[f"simulated seed {seed}"] = scores
            print_table(
                f"Simulated reference office, seed {seed}, 5-min bins of days "
                f"{args.train_days + 1}-{args.days} from {args.start} (trained on the first "
                f"{args.train_days})",
                scores,
            )
    if args.robod:
        results["robod"] = robod_scores(args.robod)
        print_table(
            "ROBOD, 5-min rows of the December days (trained on September)", results["robod"]
        )
    if args.uci:
        results["uci"] = uci_scores(args.uci)
        print_table("UCI Occupancy Detection, 1-min bins of datatest.txt", results["uci"])
    return 0 if results else 2


def add_parser(datasets) -> None:
    """``snuk evaluate estimate`` among the datasets' subcommands."""
    parser = datasets.add_parser(
        "estimate",
        help="the occupancy estimate against truth: simulated building, ROBOD, UCI",
    )
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="simulator seeds")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--days", type=int, default=28, help="simulated days (default: 28)")
    parser.add_argument("--train-days", type=int, default=14, help="of them, to train on")
    parser.add_argument("--registry", type=pathlib.Path, help="building registry YAML")
    parser.add_argument("--robod", type=pathlib.Path, help="the ROBOD folder")
    parser.add_argument("--uci", type=pathlib.Path, help="the UCI Occupancy Detection folder")
    parser.set_defaults(func=run)
