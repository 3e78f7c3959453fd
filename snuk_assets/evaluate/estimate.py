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

And the ``occupancy_estimate`` stage (``--stage-seeds``): its transform, taught by the counter
rooms as one run over the simulated days, scored in the rooms without a counter beside the
motion label on the same bins (``stage_scores``; criterion ``STAGE_MARGIN``).
"""

from __future__ import annotations

import datetime as dt
import pathlib
from dataclasses import dataclass

import pandas as pd

from snuk_assets.transforms.estimate_features import estimate_features
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator

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


# Fixed before the first run (issue 21, the stage): in the rooms without a counter, the
# counter-taught estimate agrees with the truth in at least 1 point more bins than the motion
# label, on each simulated seed.
STAGE_MARGIN = 0.01


@dataclass(frozen=True)
class StageScore:
    """The stage's counter-taught estimate in the rooms without a counter, beside the motion
    label, on the same bins; what it was trained on; whether ``STAGE_MARGIN`` is met."""

    estimate: float
    motion_label: float
    bins: int
    trained_on: list[str]
    training_bins: int
    decided: dict[str, float]
    by_kind: dict[str, tuple[float, float, int]]

    @property
    def met(self) -> bool:
        return self.estimate - self.motion_label >= STAGE_MARGIN


def simulated_estimates(registry, rooms: pd.DataFrame, *, start: dt.date):
    """The ``occupancy_estimate`` stage's transform (``counter_taught.taught_by_counters``)
    on ``simulated_rooms``' bins, as one run trained on every day from ``start``; the truth's
    columns are left out of its input."""
    from snuk_assets.stages.estimate import counter_rooms
    from snuk_assets.transforms.counter_taught import taught_by_counters

    counters = counter_rooms(registry)
    counted = rooms[rooms["room_id"].isin(counters)]
    counter_motion = counted[["room_id", "bin_start", "motion_occupancy", "motion_idle_minutes"]]
    counter_motion = counter_motion.rename(
        columns={"motion_occupancy": "occupancy", "motion_idle_minutes": "idle_minutes"}
    )
    begin = pd.Timestamp(start, tz="UTC")
    truthless = [c for c in rooms.columns if c not in ("occupied_fraction", "kind")]
    return taught_by_counters(
        rooms[truthless].drop(columns=["motion_occupancy", "motion_idle_minutes"]),
        counter_motion=counter_motion,
        counter_rooms=counters,
        train_from=begin,
        estimate_from=begin,
    )


def stage_scores(registry, *, seed: int, start: dt.date, days: int) -> StageScore:
    """The ``occupancy_estimate`` stage's transform on one simulated building, as one run of
    ``days`` days: trained on its counter rooms (every day), scored in the other rooms.

    The stage's own function (``transforms.counter_taught``) on the room bins the assets'
    group functions give (``simulated_rooms``); the truth is joined only to score.
    """
    from snuk_assets.evaluate.simulated import simulated_rooms
    from snuk_assets.stages.estimate import counter_rooms

    rooms = simulated_rooms(registry, start=start, days=days, seed=seed)
    counters = counter_rooms(registry)
    taught = simulated_estimates(registry, rooms, start=start)
    keys = ["room_id", "bin_start"]
    scored = taught.estimates.merge(rooms[[*keys, "occupied_fraction", "kind"]], on=keys)
    scored = scored[~scored["room_id"].isin(counters)]
    scored = scored[scored["estimate"].notna() & scored["motion_label"].notna()]
    truth = scored["occupied_fraction"] > 0
    hit_estimate = (scored["estimate"] >= 0.5) == truth
    hit_label = (scored["motion_label"] > 0) == truth
    by_kind = {
        kind: (float(hit_estimate[idx].mean()), float(hit_label[idx].mean()), int(idx.sum()))
        for kind in sorted(scored["kind"].unique())
        for idx in [scored["kind"] == kind]
    }
    estimated = taught.estimator
    return StageScore(
        estimate=float(hit_estimate.mean()),
        motion_label=float(hit_label.mean()),
        bins=len(scored),
        trained_on=taught.trained_on,
        training_bins=taught.training_bins,
        decided={} if estimated is None else estimated.decided_shares(taught.features),
        by_kind=by_kind,
    )


def print_stage(seed: int, score: StageScore) -> None:
    print(
        f"\nThe occupancy_estimate stage, seed {seed}: rooms without a counter, trained on "
        f"{', '.join(score.trained_on) or 'none (motion label)'} ({score.training_bins:,d} bins)"
    )
    verdict = "met" if score.met else "NOT met"
    print(
        f"  estimate {score.estimate:.2%}  motion label {score.motion_label:.2%}  of "
        f"{score.bins:,d} bins: {score.estimate - score.motion_label:+.2%} "
        f"(criterion +{STAGE_MARGIN:.0%}: {verdict})"
    )
    for kind, (estimate, label, bins) in score.by_kind.items():
        print(f"    {kind:12s} estimate {estimate:.2%}  motion label {label:.2%}  {bins:,d} bins")
    print("  decided: " + ", ".join(f"{k} {v:.1%}" for k, v in score.decided.items()))


def robod_rows(folder: pathlib.Path) -> pd.DataFrame:
    """ROBOD's three rooms as room bins (``room_id``, ``bin_start`` UTC, the estimator's
    inputs ``co2``, ``sound_level``, ``luminosity``, ``wifi_devices``) with ``present``, the
    ground truth; rows without truth left out."""
    from snuk_assets.control.robod import ROOMS, read_room

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
    return rows[rows["present"].notna()].sort_values(["room_id", "bin_start"], ignore_index=True)


def robod_scores(folder: pathlib.Path) -> list[Scored]:
    """ROBOD's three rooms: one estimator on their September rows, scored on December's."""
    from snuk_assets.control.robod import ROOMS, TRAIN_BEFORE

    rows = robod_rows(folder)
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
    if args.stage_seeds:
        registry = load_registry(args.registry or default_registry_path())
        for seed in args.stage_seeds:
            score = stage_scores(registry, seed=seed, start=args.start, days=args.days)
            results[f"stage seed {seed}"] = score
            print_stage(seed, score)
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
    parser.add_argument(
        "--stage-seeds",
        type=int,
        nargs="*",
        default=[],
        help="simulator seeds for the occupancy_estimate stage (counter-taught, one run)",
    )
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--days", type=int, default=28, help="simulated days (default: 28)")
    parser.add_argument("--train-days", type=int, default=14, help="of them, to train on")
    parser.add_argument("--registry", type=pathlib.Path, help="building registry YAML")
    parser.add_argument("--robod", type=pathlib.Path, help="the ROBOD folder")
    parser.add_argument("--uci", type=pathlib.Path, help="the UCI Occupancy Detection folder")
    parser.set_defaults(func=run)
