"""``snuk evaluate forecasts``: the forecasts scored against people as well as the label (issue 21).

The models learn the label the pipeline has (a room bin is occupied when its motion sensors
were ON in it, or its people counter counted somebody), and ``model_metrics`` scores them
against that label. On the simulated building the truth is known, so here the same forecasts
are scored against both. Every step is the pipeline's own code: the simulated building's room
bins (``evaluate.simulated.simulated_rooms``, the stages' group functions), its windows
(``stages.windows.room_day_windows``), and per room the models stage's walk-forward blocks
and training (``scored_splits``, ``score_block``, ``pooled_scores``, default
``TrainingParams``). The truth's targets are the windows' own, computed from the truth's
occupied share in place of the label (a window's ``occupied_t+h`` is 1 where somebody was
there at t+h); the features are the label's, as the models see them.

The models learn either label the pipeline has known: ``label``, the motion label (the
counter's in the open spaces), or ``estimate``, the ``occupancy_estimate`` stage's (its
transform ``counter_taught`` on the same bins, one run over the whole span, estimate >= 0.5),
which ``feature_windows`` uses since issue 21.

A room counts as *won* at a horizon when the forest's F1 is above both baselines'.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import pathlib
from functools import partial

import pandas as pd

from snuk_assets.evaluate.run import per_group
from snuk_assets.registry import BuildingRegistry
from snuk_assets.stages.windows import (
    DEFAULT_BSTEPS,
    DEFAULT_FSTEPS,
    room_day_windows,
    window_schema,
)
from snuk_assets.transforms.models.training import (
    TrainingParams,
    feature_columns,
    labels_of,
    pooled_scores,
    score_block,
    scored_splits,
)
from snuk_assets.transforms.rooms import has_occupancy, windowed_columns

MODELS = ("random_forest", "persistence", "time_of_week")
AGAINST = ("label", "truth")


def forecast_scores(
    registry: BuildingRegistry,
    *,
    start: dt.date,
    days: int,
    seed: int,
    freq: str = "5min",
    params: TrainingParams | None = None,
    labels_from: str = "label",
) -> pd.DataFrame:
    """Per room, model and horizon: F1 (and the other scores) against the labels the models
    learn (``labels_from``: ``label`` or ``estimate``) and against the truth.

    Returns
    -------
    pandas.DataFrame
        ``pooled_scores``' records (``model``, ``horizon``, ``f1``, ``accuracy``, ...) with
        ``room_id``, ``kind`` and ``against`` (``labels_from``, or ``truth``).
    """
    from snuk_assets.evaluate.simulated import simulated_rooms

    training = dataclasses.replace(
        params or TrainingParams(), timezone=registry.timezone, freq=freq
    )
    bins = simulated_rooms(registry, start=start, days=days, seed=seed, freq=freq)
    estimates = None
    if labels_from == "estimate":
        from snuk_assets.evaluate.estimate import simulated_estimates

        rows = simulated_estimates(registry, bins, start=start).estimates
        estimates = {
            room_id: room.set_index("bin_start")["estimate"]
            for room_id, room in rows.groupby("room_id")
        }
    elif labels_from != "label":
        raise ValueError(f"labels_from is 'label' or 'estimate', not {labels_from!r}")
    labelled = _windows(bins, registry, start=start, days=days, freq=freq, estimates=estimates)
    truthful = _windows(
        bins.assign(occupancy=bins["occupied_fraction"]),
        registry,
        start=start,
        days=days,
        freq=freq,
    )
    labels = labels_of(labelled)
    keys = ["room_id", "bin_start"]
    truth_targets = truthful[[*keys, *labels]].set_index(keys)
    kinds = registry.room_kinds()
    records = []
    for room_id, windows in labelled.groupby("room_id", sort=True):
        windows = windows.sort_values("bin_start")
        features = feature_columns(windows, training)
        windows = windows.dropna(subset=features)
        splits = scored_splits(windows, training)
        if not splits:
            continue
        blocks = [
            score_block(train, test, features=features, labels=labels, params=training)
            for train, test in splits
        ]
        against_truth = [
            dataclasses.replace(
                block,
                truth=truth_targets.loc[pd.MultiIndex.from_frame(test[keys])].to_numpy(),
            )
            for block, (_, test) in zip(blocks, splits, strict=True)
        ]
        for against, scored in ((labels_from, blocks), ("truth", against_truth)):
            for record in pooled_scores(scored):
                records.append(
                    {**record, "room_id": room_id, "kind": kinds[room_id], "against": against}
                )
    return pd.DataFrame(records)


def _windows(
    bins: pd.DataFrame,
    registry: BuildingRegistry,
    *,
    start: dt.date,
    days: int,
    freq: str,
    estimates: dict[str, pd.Series] | None = None,
) -> pd.DataFrame:
    types = registry.sensors.groupby("room_id")["sensor_type"].agg(set)
    counted = {room_id: t for room_id, t in types.items() if has_occupancy(t)}
    begin = pd.Timestamp(start, tz="UTC")
    return per_group(
        bins,
        key="room_id",
        fn=partial(
            room_day_windows,
            signals={room_id: windowed_columns(t) for room_id, t in counted.items()},
            bsteps=DEFAULT_BSTEPS,
            fsteps=DEFAULT_FSTEPS,
            freq=freq,
            timezone=registry.timezone,
            holidays=registry.holiday_calendar(),
            anchors=pd.date_range(
                begin, begin + pd.Timedelta(days=days), freq=freq, inclusive="left"
            ),
            estimates=estimates,
        ),
        schema=window_schema(DEFAULT_BSTEPS, DEFAULT_FSTEPS),
    )


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per ``against`` and horizon: each model's mean F1 over rooms, and the rooms won."""
    f1 = scores.pivot_table(
        index=["against", "horizon", "room_id"], columns="model", values="f1"
    ).reset_index()
    f1["won"] = f1["random_forest"] > f1[["persistence", "time_of_week"]].max(axis=1)
    out = f1.groupby(["against", "horizon"]).agg(
        **{f"{model}_f1": (model, "mean") for model in MODELS},
        rooms_won=("won", "sum"),
        rooms=("room_id", "nunique"),
    )
    return out.reset_index()


def run(args: argparse.Namespace) -> int:
    """Handler of ``snuk evaluate forecasts``."""
    from snuk_assets.registry import default_registry_path, load_registry

    registry = load_registry(args.registry or default_registry_path())
    for seed in args.seeds:
        scores = forecast_scores(
            registry, start=args.start, days=args.days, seed=seed, labels_from=args.labels
        )
        table = summary(scores)
        print(
            f"\nSimulated {registry.building_id}, seed {seed}, {args.days} days from "
            f"{args.start}: mean F1 over rooms of the held-out blocks, trained on the "
            f"{args.labels}'s labels, scored against them and against the truth"
        )
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if args.csv:
            path = pathlib.Path(args.csv.replace("{seed}", str(seed)))
            scores.to_csv(path, index=False)
            print(f"per room: {path}")
    return 0


def add_parser(datasets) -> None:
    """``snuk evaluate forecasts`` among the datasets' subcommands."""
    parser = datasets.add_parser(
        "forecasts",
        help="the models' forecasts on the simulated building, against the label and the truth",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="simulator seeds")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 6, 1))
    parser.add_argument("--days", type=int, default=35, help="simulated days (default: 35)")
    parser.add_argument("--registry", type=pathlib.Path, help="building registry YAML")
    parser.add_argument(
        "--labels",
        choices=("label", "estimate"),
        default="label",
        help="what the models learn: the motion label, or the occupancy estimate's labels",
    )
    parser.add_argument(
        "--csv", help="write each room's scores here ({seed} is replaced by the seed)"
    )
    parser.set_defaults(func=run)
