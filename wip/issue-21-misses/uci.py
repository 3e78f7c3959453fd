"""Scratch analysis: UCI estimate 97.30 % vs luminosity-only forest 98.01 %."""
import pathlib
import pandas as pd
from snuk_assets.evaluate.datasets import UCI_CATALOG, uci_co2_observations, uci_observations
from snuk_assets.evaluate.run import room_series_of
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator, estimate_features
folder = pathlib.Path("/work/shared/datasets/uci_occupancy")
parts = {}
for part in ("datatraining", "datatest", "datatest2"):
    path = folder / f"{part}.txt"
    if not path.exists():
        continue
    obs = pd.concat([uci_observations(path), uci_co2_observations(path)])
    rooms, _ = room_series_of(obs, freq="1min", catalog=UCI_CATALOG)
    rooms = rooms[rooms["occupancy"].notna()].sort_values("bin_start", ignore_index=True)
    f = estimate_features(rooms.drop(columns=["occupancy", "idle_minutes"]), freq="1min")
    y = (rooms["occupancy"] > 0).astype(int).to_numpy()
    parts[part] = (f, y)
    print(part, len(y), f"occupied {y.mean():.1%}", f"co2 median {f['co2'].median():.0f}", f"co2_above_min median {f['co2_above_min'].median():.0f}")
ftr, ytr = parts["datatraining"]
for inputs in (("co2","luminosity"), ("luminosity",), ("co2",)):
    e = OccupancyEstimator(inputs=inputs).fit(ftr, ytr)
    for part in [p for p in parts if p != "datatraining"]:
        f, y = parts[part]
        print(f"{'+'.join(inputs):16s} {part}: {(e.predict(f) == y).mean():.2%}", e.decided_shares(f) if len(inputs) > 1 else "")
