"""room_series to forecasts, end to end, on a small simulated building: one floor, 35 days."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pipeline_runs import materialize_days

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.model_metrics import model_metrics
from snuk_assets.assets.occupancy_estimate import occupancy_estimate
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.pipeline import describe_models
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building
from snuk_assets.stages.metrics import MODELS, mean_f1
from snuk_assets.stages.models import read_models
from snuk_assets.transforms.models.blobs import load_model
from snuk_assets.transforms.models.metrics import forest_wins_by_room

# The ground floor of the reference office: 18 rooms with the building's mix of kinds (9 offices,
# 3 meeting rooms, 2 open spaces, 2 corridors, a kitchen and a storage room), so "most rooms"
# means what it means on the whole building. Chosen, with the seed, before its first run.
ROOMS = [f"71{n:02d}" for n in range(1, 19)]
KINDS = ("corridor", "kitchen", "meeting", "office", "open_space", "storage")
START = dt.date(2016, 6, 6)
DAYS = 35


@pytest.fixture(scope="module")
def lakehouse_with_models(tmp_path_factory, small_registry):
    root = tmp_path_factory.mktemp("building")
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=small_registry(root / "building.yaml", ROOMS),
    )
    simulate_building(
        registry=load_registry(settings.registry_path),
        landing_uri=settings.landing_uri,
        truth_dir=root / "truth",
        start=START,
        days=DAYS,
        seed=7,
    )
    last = START + dt.timedelta(days=DAYS - 1)
    materialize_days([raw_observations], settings, START, last + dt.timedelta(days=4))
    features = materialize_days(
        [resampled_series, room_series, occupancy_estimate, feature_windows], settings, START, last
    )
    materialize_days(
        [occupancy_models, model_metrics, occupancy_forecasts], settings, last, last, workers=2
    )
    rooms_meta = features.asset_materializations_for_node("room_series")[0].metadata
    assert rooms_meta["occupancy_by_room"].value.startswith("![occupancy per room and bin](data:")
    return settings.lakehouse(), last


def test_room_series_has_one_row_per_room_and_bin(lakehouse_with_models):
    lakehouse, _ = lakehouse_with_models
    rooms = lakehouse.read("room_series", dates=[START]).to_pandas()
    assert sorted(rooms["room_id"].unique()) == ROOMS
    assert len(rooms) == len(ROOMS) * 288
    assert rooms["occupancy"].dropna().between(0, 1).all()


# The windows' look-back into the previous day: tests/assets/test_feature_windows.py.


def test_models_load_and_the_forest_beats_both_baselines_in_mean_f1_at_every_horizon(
    lakehouse_with_models,
):
    lakehouse, last = lakehouse_with_models
    models = read_models(lakehouse, [last])
    trained = models[models["status"] == "trained"]
    assert len(trained) >= 3
    assert load_model(trained["model"].iloc[0]).n_outputs_ == 12
    metrics = lakehouse.read("model_metrics", dates=[last]).to_pandas()
    f1 = mean_f1(metrics)
    print(f1.round(3).to_string())
    # A guard on skill, not issue 4's criterion (below). Over the 18 rooms the forest leads the
    # better baseline by 0.014 F1 five minutes ahead and 0.030 an hour ahead. This asserted the
    # mean over horizons until those figures were known; it was tightened after seeing them.
    assert (f1.loc["random_forest"] > f1.drop(index="random_forest").max()).all()


# Issue 4's criterion. On the 36-room demo building the forest wins every horizon in 21, 19 and
# 18 rooms (simulator seeds 42, 43, 44); it never wins a meeting or storage room, so a floor
# needs 10 of its 14 other rooms. Its first run gave 11 of 18, with motion offline after 24 h
# of silence. Since motion holds through a quiet weekend (72 h, ON at most 12 h) the windows
# include Sundays and Monday mornings, and it is 9 of 18: offices 7105 and 7108 now lose some
# horizons to the time-of-week profile (by 0.000 to 0.012 F1). Of the 216 room-horizon pairs
# the forest wins 180; a bootstrap over held-out days puts 2 of the 36 losses (meeting room
# 7112, 25 and 30 minutes ahead) beyond day-to-day noise, and 108 of the wins.
# With issue 21's sensors (PIRs that miss seated people, door counters in the open spaces) it is
# 14 of 18 (every office, open space, corridor and the kitchen; no meeting or storage room) and
# the strict xfail marker went. The forest is scored against the motion label, which is now
# noisier for every model: the win says nothing yet about people (issue 21, scored against people).
# With the labels of occupancy_estimate (taught by the two open spaces' counters) it is 15 of 18:
# every meeting room now wins, offices 7108 and 7109 lose (7 and 2 horizons won), and the mean
# F1 is 0.894 five minutes and 0.804 an hour ahead (0.830 and 0.688 against the motion label);
# the labels differ, so the F1s are not comparable across the two.
def test_the_forest_beats_both_baselines_at_every_horizon_in_most_rooms(lakehouse_with_models):
    lakehouse, last = lakehouse_with_models
    metrics = lakehouse.read("model_metrics", dates=[last]).to_pandas()
    per_room = forest_wins_by_room(metrics)
    print(per_room.round(3).to_string())
    assert per_room["forest_wins"].sum() > len(ROOMS) / 2


def test_forecasts_give_twelve_probabilities_and_calls_per_room(lakehouse_with_models):
    lakehouse, last = lakehouse_with_models
    forecasts = lakehouse.read("occupancy_forecasts", dates=[last]).to_pandas()
    assert not forecasts.empty
    per_room = forecasts.groupby("room_id")["horizon"].apply(list)
    assert all(horizons == list(range(1, 13)) for horizons in per_room)
    assert forecasts["occupied_probability"].between(0, 1).all()
    assert (forecasts["model_date"] == last).all()
    # Each bin's call is the model's own cut, and says where the model earned trust.
    assert forecasts["threshold"].between(0, 1, inclusive="neither").all()
    called = forecasts["occupied_probability"] >= forecasts["threshold"]
    assert (forecasts["occupied"] == called).all()
    metrics = lakehouse.read("model_metrics", dates=[last]).to_pandas()
    won = forecasts.groupby("room_id")["beats_baselines"].sum()
    assert won.to_dict() == forest_wins_by_room(metrics)["horizons_won"][won.index].to_dict()


def test_the_demo_summary_names_the_training_day_and_the_rooms_won(lakehouse_with_models):
    lakehouse, last = lakehouse_with_models
    lines = describe_models(SnukSettings(landing_uri="unused", lakehouse_uri=lakehouse.uri))
    assert lines[0] == f"Held-out F1 of the models trained for {last}, mean over rooms:"
    assert [line.split()[0] for line in lines[2:5]] == MODELS
    assert re.fullmatch(r"The forest beats .* in \d+ of \d+ rooms\.", lines[-2])
    kinds = re.findall(r"(\w+) (\d+)/(\d+)", lines[-1].removeprefix("  by room kind: "))
    names = [kind for kind, _, _ in kinds]
    assert names == sorted(names)
    assert {"meeting", "office", "open_space"} <= set(names) <= set(KINDS)
    assert sum(int(compared) for _, _, compared in kinds) <= len(ROOMS)


def test_a_refused_model_blob_skips_its_room_and_the_others_forecast(
    lakehouse_with_models, tmp_path
):
    """Issue 20: one tampered blob skipped with its room, date and reason; no process crash."""
    import shutil
    from pathlib import Path

    import numpy as np
    import pyarrow as pa
    import skops.io as sio

    from snuk_assets.stages.models import SCHEMA as MODEL_TABLE_SCHEMA

    lakehouse, last = lakehouse_with_models
    root = tmp_path / "lakehouse"
    shutil.copytree(lakehouse.location.prefix, root)  # the module's tables stay as they are
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(root),
        registry_path=str(Path(lakehouse.location.prefix).parent / "building.yaml"),
    )
    copy = settings.lakehouse()
    models = read_models(copy, [last])
    trained = models.index[models["status"] == "trained"]
    dict_room, tree_room = models.loc[trained[0], "room_id"], models.loc[trained[1], "room_id"]
    forest = load_model(models.loc[trained[1], "model"])
    forest.estimators_[0].tree_.children_left[0] = 2**40
    forest.estimators_[0].tree_.children_right[0] = 2**40
    models.at[trained[0], "model"] = sio.dumps({"not": "a model"})
    models.at[trained[1], "model"] = sio.dumps(forest)
    copy.replace_partitions(
        "occupancy_models",
        pa.Table.from_pandas(models[MODEL_TABLE_SCHEMA.names], schema=MODEL_TABLE_SCHEMA),
        dates=[last],
    )
    result = materialize_days([occupancy_forecasts], settings, last, last)
    skipped = (
        result.asset_materializations_for_node("occupancy_forecasts")[0]
        .metadata["rooms_skipped"]
        .value
    )
    assert skipped[f"{last} {dict_room}"].startswith(
        f"model of {models.loc[trained[0], 'date']} refused: the model blob holds a builtins.dict"
    )
    assert "tree 0 of the forest is damaged: node 0 has children" in skipped[f"{last} {tree_room}"]
    forecasts = copy.read("occupancy_forecasts", dates=[last]).to_pandas()
    before = set(lakehouse.read("occupancy_forecasts", dates=[last])["room_id"].to_pylist())
    assert {dict_room, tree_room} <= before
    assert set(forecasts["room_id"]) == before - {dict_room, tree_room}
    assert np.isfinite(forecasts["occupied_probability"]).all()
