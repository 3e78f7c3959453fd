"""Why the occupancy estimate misses on UCI (97.30 % against the luminosity forest's 98.01 %).

Prints each file's occupied share and CO2 level, and the estimator on CO2 and luminosity, on
luminosity alone and on CO2 alone (wip/issue-21-misses/README.md). An analysis, not a tuning run.
"""

import pathlib

import pandas as pd

from snuk_assets.evaluate.datasets import UCI_CATALOG, uci_co2_observations, uci_observations
from snuk_assets.evaluate.run import room_series_of
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator, estimate_features

FOLDER = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets" / "uci_occupancy"


def part(name: str):
    path = FOLDER / f"{name}.txt"
    observations = pd.concat([uci_observations(path), uci_co2_observations(path)])
    rooms, _types = room_series_of(observations, freq="1min", catalog=UCI_CATALOG)
    rooms = rooms[rooms["occupancy"].notna()].sort_values("bin_start", ignore_index=True)
    features = estimate_features(rooms.drop(columns=["occupancy", "idle_minutes"]), freq="1min")
    truth = (rooms["occupancy"] > 0).astype(int).to_numpy()
    print(
        f"{name}: {len(truth)} bins, occupied {truth.mean():.1%}, "
        f"CO2 median {features['co2'].median():.0f}"
    )
    return features, truth


def main() -> None:
    train, y_train = part("datatraining")
    test, y_test = part("datatest")
    for inputs in (("co2", "luminosity"), ("luminosity",), ("co2",)):
        estimator = OccupancyEstimator(inputs=inputs).fit(train, y_train)
        accuracy = (estimator.predict(test) == y_test).mean()
        print(f"{'+'.join(inputs):16s} {accuracy:.2%}")


if __name__ == "__main__":
    main()
