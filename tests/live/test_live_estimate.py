"""The occupancy estimate of now in the live service: written beside each forecast, and what
live control decides on.

The service runs with ``control="actuate"`` against a real Mosquitto on a copy of a batch
building (``running.Running``) whose open space 7101 has a people counter at its door: the
service trains the estimator on it (the batch stage's fit of the day before) and estimates
every room. On the live tests' building the forecast rows carry the estimate. On the same
rooms with a CO2 sensor beside the counter, the office 7103's people sit still from 06:00: its
motion sensors report no motion, its CO2 rises. Motion alone would switch it off; the estimate
keeps it on. Without a trained estimator the motion label decides, and the audit says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pathlib
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from deltalake import DeltaTable
from live_building import (
    DAYS,
    PARITY_DAY,
    START,
    BatchBuilding,
    arrivals,
    simulated_observations,
    write_on_time,
)
from pipeline_runs import materialize_days
from running import DAY, actuating, audit_rows, building_copy, enable, wait_until

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.control.safety import Actuation
from snuk_assets.live.control import LiveControl, live_situation
from snuk_assets.live.outputs import TABLE
from snuk_assets.live.step import BuildingState, building_config, live_step
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.estimate import estimate_days

CLIENT_ID = "snuk-live-estimate"
SEATED_CLIENT_ID = "snuk-live-estimate-seated"
COUNTER_ROOM = "7101"  # the open space with a people counter at its door
SEATED = "7103"  # an office with CO2 and two motion sensors
SEATED_CO2 = "co2-7103"
QUIET_FROM = DAY + pd.Timedelta(hours=6)
QUIET_UNTIL = DAY + pd.Timedelta(hours=7, minutes=30)
# The first step closes 06:00 .. 06:35 (no forecast yet: its windows need an hour of bins)
# and decides 06:40; the second closes up to 07:10, whose bins from 06:55 have forecasts.
DECIDED = DAY + pd.Timedelta(hours=6, minutes=40)
SECOND = DAY + pd.Timedelta(hours=7, minutes=15)


@pytest.fixture(scope="module")
def co2_building(tmp_path_factory, small_registry) -> BatchBuilding:
    """The live building's open space and office through the batch tables the estimator is
    fitted on, the open space with a CO2 sensor beside its counter: the estimator learns
    from the counter what CO2 says, and the office has CO2 too."""
    root = tmp_path_factory.mktemp("co2_building")
    path = small_registry(root / "building.yaml", [COUNTER_ROOM, SEATED])
    document = yaml.safe_load(pathlib.Path(path).read_text())
    document["sensors"].append({"sensor_id": "co2-7101", "room_id": COUNTER_ROOM, "type": "co2"})
    pathlib.Path(path).write_text(yaml.safe_dump(document))
    settings = SnukSettings(
        landing_uri=str(root / "landing"), lakehouse_uri=str(root / "lakehouse"), registry_path=path
    )
    observations = simulated_observations(load_registry(path), START, DAYS, seed=11)
    write_on_time(settings.landing(), observations)
    last = PARITY_DAY - dt.timedelta(
        days=1
    )  # the estimator of PARITY_DAY: the run of the day before
    materialize_days([raw_observations], settings, START, last)
    materialize_days([resampled_series, room_series], settings, START, last)
    return BatchBuilding(settings=settings, observations=observations)


def seated(observations: pd.DataFrame, registry) -> pd.DataFrame:
    """``observations`` with the office's people sitting still from ``QUIET_FROM`` to
    ``QUIET_UNTIL``: its motion sensors report 0 at the start and nothing after, its CO2
    rises from 600 ppm by 10 ppm a minute (a minute's report each)."""
    sensors = registry.sensors
    motion = sensors.loc[
        (sensors["room_id"] == SEATED) & (sensors["sensor_type"] == "motion"), "sensor_id"
    ].tolist()
    ts = observations["ts"]
    replaced = observations["sensor_id"].isin([*motion, SEATED_CO2])
    replaced &= (ts >= QUIET_FROM) & (ts < QUIET_UNTIL)
    minutes = np.arange(int((QUIET_UNTIL - QUIET_FROM) / pd.Timedelta("1min")))
    still = pd.concat(
        [
            pd.DataFrame(
                {"sensor_id": motion, "ts": QUIET_FROM + pd.Timedelta(seconds=5), "value": 0.0}
            ),
            pd.DataFrame(
                {
                    "sensor_id": SEATED_CO2,
                    "ts": QUIET_FROM + pd.Timedelta(seconds=20) + pd.to_timedelta(minutes, "min"),
                    "value": 600.0 + 10.0 * minutes,
                }
            ),
        ]
    )
    return (
        pd.concat([observations[~replaced], still])
        .sort_values("ts", kind="stable")
        .reset_index(drop=True)
    )


def run_two_steps(live, client_id: str) -> pd.DataFrame:
    """Advance to ``DECIDED`` and ``SECOND``; the service's audited commands."""
    lakehouse = live.settings.lakehouse()
    for n, step in enumerate([DECIDED, SECOND]):
        live.advance(step)
        wait_until(
            lambda n=n: len(set(audit_rows(lakehouse, client_id).get("bin_start", []))) > n,
            f"the commands of step {n}",
        )
    return audit_rows(lakehouse, client_id)


@pytest.fixture(scope="module")
def estimating(batch_building, mosquitto):
    """The live building's service, its observations as simulated, for two steps."""
    live = actuating(batch_building, mosquitto, client_id=CLIENT_ID)
    lakehouse = live.settings.lakehouse()
    try:
        time.sleep(0.5)  # subscribed before the first decision
        audit = run_two_steps(live, CLIENT_ID)
        wait_until(lambda: lakehouse.exists(TABLE), "live_room_forecasts")
        yield live, audit, sorted(live.settings.registry().rooms["room_id"])
    finally:
        live.stop()


@pytest.fixture(scope="module")
def sitting_still(co2_building, mosquitto):
    """The CO2 building's service, the office's people sitting still, the office enabled."""
    live = actuating(co2_building, mosquitto, client_id=SEATED_CLIENT_ID)
    try:
        time.sleep(0.5)
        assert enable(live, SEATED, "pilot room of the estimate tests")["action"] == "enable"
        live.observations = seated(live.observations, live.settings.registry())
        yield live, run_two_steps(live, SEATED_CLIENT_ID)
    finally:
        live.stop()


def test_the_service_trains_the_estimator_on_the_counter_room(estimating):
    live, _, _ = estimating
    config = live.service.configs[live.building]
    assert config.counter_rooms == frozenset({COUNTER_ROOM})
    assert config.estimator is not None, config.estimator_note
    assert f"counter rooms {COUNTER_ROOM}" in config.estimator_note
    assert f"the run of {PARITY_DAY - dt.timedelta(days=1)}" in config.estimator_note


def test_the_live_estimator_is_the_batch_runs(batch_building, estimating):
    """The estimator the service refitted is the one ``occupancy_estimate``'s run of the day
    before trains: the same probabilities on that run's rows."""
    live, _, _ = estimating
    settings = building_copy(batch_building.settings)  # the stage writes its table there
    result = estimate_days(settings, [PARITY_DAY - dt.timedelta(days=1)])
    assert result.taught.estimator is not None
    features = result.taught.features
    assert len(features) > 200
    refitted = live.service.configs[live.building].estimator
    assert np.array_equal(
        refitted.predict_proba(features), result.taught.estimator.predict_proba(features)
    )


def test_seated_people_are_not_switched_off(sitting_still):
    """No motion for 35 minutes and no forecast (no model): on the motion alone the lights
    go off (the reactive fallback); the office's CO2 says people are in, so the estimate keeps
    it lit and at comfort, and the command says the estimate decided."""
    live, audit = sitting_still
    assert live.service.configs[live.building].estimator is not None
    row = audit[(audit["room_id"] == SEATED) & (audit["bin_start"] == DECIDED.isoformat())]
    assert len(row) == 1
    row = row.iloc[0]
    presence = json.loads(row["payload"])["presence"]
    assert presence["source"] == "estimator" and presence["motion_label"] == 0.0
    assert presence["estimate"] >= 0.5
    assert (row["lights"], row["hvac_mode"], row["sent"]) == (True, "comfort", True)
    assert row["reason"] == "presence now (occupancy estimate)"
    # the same bin decided on the motion alone, as before the estimate: switched off
    control = live.service.controls[live.building]
    rooms = live.service.states[live.building].rooms
    states = rooms[rooms["bin_start"] <= DECIDED - pd.Timedelta("5min")]
    motion_only = live_situation(
        states, pd.DataFrame(), room_ids=control.plant.room_ids, freq="5min"
    )
    at = control.plant.room_ids.index(SEATED)
    assert motion_only.bin_start == DECIDED
    assert motion_only.motion[at] == 0 and motion_only.idle_minutes[at] >= 20
    by_motion = control.policy(motion_only, control.plant)
    assert not by_motion.lights[at]
    assert by_motion.reason[at] == "no forecast: reactive lights, schedule HVAC"


def test_the_forecast_table_has_the_estimate_beside_the_motion_label(estimating):
    """Every forecast row carries its anchor bin's estimate and motion label; the estimate is
    the one control decided on (the command's ``presence``), from the counter in the counter
    room and from the estimator elsewhere."""
    live, audit, rooms = estimating
    uri = live.settings.lakehouse().table_uri(TABLE)
    wait_until(lambda: len(DeltaTable(uri).to_pandas()), "rows in live_room_forecasts")
    table = DeltaTable(uri).to_pandas()
    assert {"estimate_now", "estimate_source", "motion_label_now"} <= set(table.columns)
    assert table["estimate_now"].between(0, 1).all()
    assert set(table["estimate_source"]) == {"estimator"}  # forecast rooms: no counter
    # the motion label is the room's, as the batch's motion_label (occupancy above 0)
    states = live.service.states[live.building].rooms.set_index(["room_id", "bin_start"])
    for row in table.itertuples():
        occupancy = states.loc[(row.room_id, row.anchor_bin_start), "occupancy"]
        assert row.motion_label_now == float(occupancy > 0)
    # what control decided on at the last anchor
    last = table["anchor_bin_start"].max()
    decided = audit[audit["bin_start"] == (last + pd.Timedelta("5min")).isoformat()]
    presence = {
        r: json.loads(p)["presence"]
        for r, p in zip(decided["room_id"], decided["payload"], strict=True)
    }
    assert sorted(presence) == rooms
    assert {r: p["source"] for r, p in presence.items()} == {
        r: "counter" if r == COUNTER_ROOM else "estimator" for r in rooms
    }
    at_last = table[table["anchor_bin_start"] == last].drop_duplicates("room_id")
    for row in at_last.itertuples():
        assert presence[row.room_id]["estimate"] == round(row.estimate_now, 4)
        assert presence[row.room_id]["motion_label"] == row.motion_label_now


def test_without_an_estimator_the_motion_label_decides_and_says_so(batch_building):
    """A building whose estimator could not be trained (no counter room): the estimate is
    the motion label, each forecast row and each command says that source decided, and the
    decisions are the motion's."""
    settings = building_copy(batch_building.settings)
    config = dataclasses.replace(
        building_config(settings, PARITY_DAY), counter_rooms=frozenset(), estimator=None
    )
    observations = batch_building.observations
    ts = observations["ts"]
    state = BuildingState()
    fed_from = DAY + pd.Timedelta(hours=6)
    for now in (
        DAY + pd.Timedelta(hours=8, seconds=30),
        DAY + pd.Timedelta(hours=8, minutes=5, seconds=30),
    ):
        new = (ts >= fed_from) & (ts < now)
        result = live_step(state, arrivals(observations[new]), now, config)
        state, fed_from = result.state, now
    estimates = result.estimates
    assert set(estimates["source"]) <= {"motion label", "no input"}
    labelled = estimates["source"] == "motion label"
    assert labelled.any()
    assert (estimates["estimate"][labelled] == estimates["motion_label"][labelled]).all()
    assert len(result.forecasts)
    assert set(result.forecasts["estimate_source"]) <= {"motion label", "no input"}

    registry = settings.registry()
    lakehouse = settings.lakehouse()
    control = LiveControl.for_building(
        registry,
        lakehouse,
        actuation=Actuation(lakehouse, registry.building_id),
        freq=config.freq,
        actuate=False,
        max_switches_per_hour=4,
        now=now,
    )
    audit = control.decide(result, now, publish=lambda *_: None).to_pandas()
    presence = [json.loads(p)["presence"] for p in audit["payload"]]
    assert {p["source"] for p in presence} == {"motion label"}
    assert all(p["estimate"] == p["motion_label"] for p in presence)
    assert not audit["reason"].str.contains("occupancy estimate").any()
    situation = live_situation(
        result.room_states, result.forecasts, room_ids=control.plant.room_ids, freq=config.freq
    )
    by_motion = control.policy(situation, control.plant)
    assert audit["lights"].tolist() == by_motion.lights.tolist()
    assert audit["hvac_mode"].tolist() == by_motion.hvac_mode.tolist()
