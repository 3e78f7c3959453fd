"""Scratch analysis (not a tuning run): why the estimate misses on ROBOD (82.78 %)."""
import pathlib
import numpy as np, pandas as pd
from snuk_assets.control.robod import ROOMS, TRAIN_BEFORE, read_room
from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator, estimate_features

folder = pathlib.Path("/work/shared/datasets/robod")
frames = []
for room in ROOMS:
    raw = read_room(folder / f"combined_{room}.csv")
    frames.append(pd.DataFrame({"room_id": room, "bin_start": raw["timestamp"].dt.tz_convert("UTC"),
        "co2": raw["indoor_co2"], "sound_level": raw["sound_pressure_level"],
        "luminosity": raw["illuminance"], "wifi_devices": raw["wifi_connected_devices"],
        "present": raw["occupant_presence"]}))
rows = pd.concat(frames, ignore_index=True)
rows = rows[rows["present"].notna()].sort_values(["room_id", "bin_start"], ignore_index=True)
features = estimate_features(rows, freq="5min")
truth = (rows["present"] > 0).astype(int).to_numpy()
train = (rows["bin_start"] < TRAIN_BEFORE).to_numpy()
print("train before", TRAIN_BEFORE)
rows["day"] = rows["bin_start"].dt.date
for room in ROOMS:
    r = rows["room_id"] == room
    for name, part in (("Sep", train), ("Dec", ~train)):
        m = (r & part).to_numpy()
        print(f"{room} {name}: {m.sum():6d} bins, {rows.loc[m,'day'].nunique():3d} days, occupied {truth[m].mean():.1%}, "
              f"co2 median {rows.loc[m,'co2'].median():.0f}, lux median {rows.loc[m,'luminosity'].median():.0f}, "
              f"wifi median {rows.loc[m,'wifi_devices'].median():.1f}, sound median {rows.loc[m,'sound_level'].median():.1f}, "
              f"NaN share co2 {rows.loc[m,'co2'].isna().mean():.1%} lux {rows.loc[m,'luminosity'].isna().mean():.1%}")
print("majority (free) on Dec:", 1 - truth[~train].mean())
def fit_score(inputs, tr, te, label):
    e = OccupancyEstimator(inputs=inputs).fit(features[tr], truth[tr])
    p = e.predict(features[te])
    per = {room: float((p == truth[te])[(rows.loc[te, 'room_id'] == room).to_numpy()].mean()) for room in ROOMS}
    print(f"{label:40s} {float((p == truth[te]).mean()):.2%}  " + "  ".join(f"{k} {v:.1%}" for k, v in per.items()))
    return e
for inputs in (("co2","luminosity","sound","devices"), ("co2",), ("luminosity",), ("sound",), ("devices",)):
    fit_score(inputs, train, ~train, f"Sep->Dec {'+'.join(inputs)}")
# within December: train on the first half of December days, score on the second half
dec_days = sorted(rows.loc[~train, "day"].unique())
half = dec_days[len(dec_days)//2]
first = (~train) & (rows["day"] < half).to_numpy()
second = (~train) & (rows["day"] >= half).to_numpy()
for inputs in (("co2","luminosity","sound","devices"), ("devices",)):
    fit_score(inputs, first, second, f"Dec1->Dec2 {'+'.join(inputs)}")
    fit_score(inputs, train | first, second, f"Sep+Dec1->Dec2 {'+'.join(inputs)}")
print("--- time shift of truth against the features (Dec, estimate trained Sep)")
e = OccupancyEstimator(inputs=("co2","luminosity","sound","devices")).fit(features[train], truth[train])
p = pd.Series(e.predict(features[~train]), index=rows.index[~train])
t = pd.Series(truth[~train], index=rows.index[~train])
room = rows.loc[~train, "room_id"]
for k in (-6, -3, -1, 0, 1, 3, 6):
    shifted = t.groupby(room).shift(k)
    ok = shifted.notna()
    print(k, f"{float((p[ok] == shifted[ok]).mean()):.2%}")
print("--- per-room models Sep->Dec")
for r in ROOMS:
    m = (rows["room_id"] == r).to_numpy()
    fit_score(("co2","luminosity","sound","devices"), train & m, ~train & m, f"room model {r}")
