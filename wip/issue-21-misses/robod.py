"""Why the occupancy estimate misses on ROBOD (82.78 %): an analysis, not a tuning run.

Prints each room's occupied share and medians per period, single inputs, training inside
December, a time shift of the truth and per-room estimators (wip/issue-21-misses/README.md).
"""

import pathlib

import pandas as pd

from snuk_assets.control.robod import ROOMS, TRAIN_BEFORE
from snuk_assets.evaluate.estimate import robod_rows
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator, estimate_features

FOLDER = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets" / "robod"
ALL = ("co2", "luminosity", "sound", "devices")


def main() -> None:
    rows = robod_rows(FOLDER)
    rows["day"] = rows["bin_start"].dt.date
    features = estimate_features(rows, freq="5min")
    truth = (rows["present"] > 0).astype(int).to_numpy()
    train = (rows["bin_start"] < TRAIN_BEFORE).to_numpy()
    for room in ROOMS:
        for period, part in (("Sep", train), ("Dec", ~train)):
            m = ((rows["room_id"] == room).to_numpy()) & part
            medians = rows.loc[m, ["co2", "luminosity", "wifi_devices", "sound_level"]].median()
            print(
                f"{room} {period}: {m.sum()} bins, {rows.loc[m, 'day'].nunique()} days, "
                f"occupied {truth[m].mean():.1%}, medians {medians.round(1).to_dict()}"
            )
    print(f"always free on December: {1 - truth[~train].mean():.2%}")

    def score(inputs, fit_on, score_on, label):
        estimator = OccupancyEstimator(inputs=inputs).fit(features[fit_on], truth[fit_on])
        hit = estimator.predict(features[score_on]) == truth[score_on]
        rooms = rows.loc[score_on, "room_id"].to_numpy()
        per_room = "  ".join(
            f"{r} {hit[rooms == r].mean():.1%}" for r in ROOMS if (rooms == r).any()
        )
        print(f"{label:44s} {hit.mean():.2%}  {per_room}")
        return estimator

    for inputs in (ALL, ("co2",), ("luminosity",), ("sound",), ("devices",)):
        score(inputs, train, ~train, f"Sep -> Dec, {'+'.join(inputs)}")
    december = sorted(rows.loc[~train, "day"].unique())
    half = december[len(december) // 2]
    first = ~train & (rows["day"] < half).to_numpy()
    second = ~train & (rows["day"] >= half).to_numpy()
    for inputs in (ALL, ("devices",)):
        score(inputs, first, second, f"Dec 1st half -> 2nd, {'+'.join(inputs)}")
        score(inputs, train | first, second, f"Sep + Dec 1st half -> 2nd, {'+'.join(inputs)}")

    estimator = OccupancyEstimator(inputs=ALL).fit(features[train], truth[train])
    predicted = pd.Series(estimator.predict(features[~train]), index=rows.index[~train])
    held = pd.Series(truth[~train], index=rows.index[~train])
    for bins in (-6, -3, -1, 0, 1, 3, 6):
        shifted = held.groupby(rows.loc[~train, "room_id"]).shift(bins)
        defined = shifted.notna()
        agree = (predicted[defined] == shifted[defined]).mean()
        print(f"truth shifted by {bins * 5:+d} min: {agree:.2%}")
    for room in ROOMS:
        in_room = (rows["room_id"] == room).to_numpy()
        score(ALL, train & in_room, ~train & in_room, f"one estimator for {room}, Sep -> Dec")


if __name__ == "__main__":
    main()
