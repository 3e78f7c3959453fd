"""Live commands: each closed bin, the forecast policy decides the next one for every room.

The service runs with ``control="actuate"`` against a real Mosquitto, on the batch building's
models, driven by a clock the test sets (``running.Running``). An admin enables one room
through the API; only that room's command topic gets messages, every room's decisions are
audited in ``control_commands``, presence now keeps a room on, and the decisions are the
closed-loop evaluation's own on the batch tables' inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pandas as pd
import pytest
from live_building import PARITY_DAY
from running import DAY, Commands, actuating, audit_rows, enable, get, wait_until

from snuk_assets.control.evaluation import FORECAST_HORIZONS
from snuk_assets.control.forecasts import rolling_forecasts
from snuk_assets.control.policies import Situation
from snuk_assets.stages.forecasts import latest_models

CLIENT_ID = "snuk-live-commands"
ENABLED = "7103"  # an office with two motion sensors
PRESENCE_SENSOR = "8374-273-127-250-m"  # one of them
PRESENCE_AT = DAY + pd.Timedelta(hours=8, minutes=5, seconds=40)  # in the 08:05 bin
# Steps: the first closes 06:00 .. 07:55 at once, then 08:00 and 08:05 close one at a time.
STEPS = [DAY + pd.Timedelta(hours=8), DAY + pd.Timedelta(hours=8, minutes=5)]
LAST_STEP = DAY + pd.Timedelta(hours=8, minutes=10)
DECIDED = [DAY + pd.Timedelta(hours=8, minutes=m) for m in (0, 5, 10)]


@pytest.fixture(scope="module")
def commanding(batch_building, mosquitto):
    live = actuating(batch_building, mosquitto, client_id=CLIENT_ID)
    rooms = sorted(live.settings.registry().rooms["room_id"])
    lakehouse = live.settings.lakehouse()
    commands = Commands(live.broker, live.building)
    time.sleep(0.5)  # subscribed before the first decision
    enabled = enable(live, ENABLED, "pilot room of the command tests")
    assert enabled["action"] == "enable"
    # Someone in the enabled room in the 08:05 bin, whatever the simulation says.
    presence = pd.DataFrame({"sensor_id": [PRESENCE_SENSOR], "ts": [PRESENCE_AT], "value": [1.0]})
    live.observations = (
        pd.concat([live.observations, presence])
        .sort_values("ts", kind="stable")
        .reset_index(drop=True)
    )
    try:
        for n, step in enumerate([*STEPS, LAST_STEP]):
            live.advance(step)
            wait_until(
                lambda n=n: len(audit_rows(lakehouse, CLIENT_ID)) >= (n + 1) * len(rooms),
                f"the commands of step {n}",
            )
        wait_until(  # every sent command arrived
            lambda: len(commands.received()) >= live.service.command_counts()["sent"],
            "the sent commands on the broker",
        )
        yield live, commands, audit_rows(lakehouse, CLIENT_ID), rooms
    finally:
        commands.close()
        live.stop()


def test_every_closed_bin_decides_the_next_one_for_every_room(commanding):
    live, _, audit, rooms = commanding
    assert [pd.Timestamp(b) for b in sorted(set(audit["bin_start"]))] == DECIDED
    assert all(sorted(ids) == rooms for _, ids in audit.groupby("bin_start")["room_id"])
    assert set(audit["policy"]) == {"forecast"}
    assert not audit["dry_run"].any()  # the service actuates
    # the step's clock is when each was issued: at the bin's start and the allowed delay
    issued = pd.to_datetime(audit["issued_at"], utc=True)
    assert (issued == pd.to_datetime(audit["bin_start"], utc=True) + pd.Timedelta("30s")).all()


def test_only_the_enabled_room_gets_commands_on_the_broker(commanding):
    live, commands, audit, rooms = commanding
    received = commands.received()
    topic = f"snuk/{live.building}/rooms/{ENABLED}/command"
    assert {t for t, _ in received} == {topic}
    mine = audit[audit["room_id"] == ENABLED]
    assert mine["sent"].all() and mine["not_sent_because"].isna().all()  # 3 bins: within the cap
    assert [m["bin_start"] for _, m in received] == mine["bin_start"].tolist()
    for (_, message), row in zip(received, mine.itertuples(), strict=True):
        assert message == json.loads(row.payload)
        assert message["dry_run"] is False and message["policy"] == "forecast"
        assert (message["lights"], message["hvac_mode"]) == (row.lights, row.hvac_mode)
        assert message["forecast"]["bin_minutes"] == 5
        assert len(message["forecast"]["occupied_probability"]) == FORECAST_HORIZONS
    others = audit[audit["room_id"] != ENABLED]
    assert len(others) == 3 * (len(rooms) - 1)
    assert not others["sent"].any()
    assert set(others["not_sent_because"]) == {"actuation not enabled for the room"}
    counted = get(f"{live.url}/health", None)["commands"]
    assert counted == {
        "sent": len(mine),
        "dry_run": 0,
        "refused_not_enabled": len(others),
        "refused_switch_limit": 0,
        "expired": 0,
        "failed": 0,
    }


def test_presence_now_is_never_switched_off(commanding):
    """The policy's rule on the live inputs: motion in the newest closed bin keeps a room lit
    and at comfort (the estimate can add rooms, never take these away: test_live_estimate);
    the injected motion in the enabled room shows it on a bin of its own."""
    live, _, audit, _ = commanding
    rooms = live.service.states[live.building].rooms  # the live room_series rows kept
    seen = rooms.set_index(["room_id", "bin_start"])["occupancy"]
    before = pd.to_datetime(audit["bin_start"], utc=True) - pd.Timedelta("5min")
    motion = np.array(
        [seen.get((r, b), np.nan) for r, b in zip(audit["room_id"], before, strict=True)]
    )
    present = np.nan_to_num(motion) > 0
    assert present.any()
    assert audit["lights"][present].all()
    assert (audit["hvac_mode"][present] == "comfort").all()
    assert (audit["reason"][present] == "presence now").all()
    injected = audit[(audit["room_id"] == ENABLED) & (audit["bin_start"] == LAST_STEP.isoformat())]
    assert injected[["lights", "hvac_mode", "reason", "sent"]].values.tolist() == [
        [True, "comfort", "presence now", True]
    ]


def test_live_decisions_are_the_evaluations_on_the_batch_inputs(commanding):
    """The evaluation's inputs for the same bins (the batch ``room_series``, the rolling
    forecasts of the same models) and the occupancy estimate the live step had (the
    command's ``presence``) through the same policy give the same commands."""
    live, _, audit, _ = commanding
    control = live.service.controls[live.building]
    plant, lakehouse = control.plant, live.settings.lakehouse()
    room_series = lakehouse.read(
        "room_series", dates=[PARITY_DAY - dt.timedelta(days=1), PARITY_DAY]
    ).to_pandas()
    registry = live.settings.registry()
    compared = 0
    for decided in DECIDED[:2]:  # the last one saw the injected motion, which the batch did not
        anchor = decided - pd.Timedelta("5min")
        forecast, _ = rolling_forecasts(
            room_series,
            latest_models(lakehouse, PARITY_DAY),
            room_ids=plant.room_ids,
            anchors=pd.DatetimeIndex([anchor]),
            freq="5min",
            timezone=registry.timezone,
            horizons=FORECAST_HORIZONS,
        )
        assert not np.isnan(forecast[:, 0, 0]).all()  # forecasts decided, not the fallback
        at_anchor = room_series[room_series["bin_start"] == anchor].set_index("room_id")
        at_anchor = at_anchor.reindex(plant.room_ids)
        live_rows = audit[audit["bin_start"] == decided.isoformat()].set_index("room_id")
        live_rows = live_rows.reindex(plant.room_ids)
        presence = [json.loads(p)["presence"]["estimate"] for p in live_rows["payload"]]
        situation = Situation(
            bin_start=decided,
            bin_minutes=5,
            motion=at_anchor["occupancy"].to_numpy(dtype=float),
            idle_minutes=at_anchor["idle_minutes"].to_numpy(dtype=float),
            temperature_c=at_anchor["temperature"].to_numpy(dtype=float),
            forecast=forecast[:, 0, :],
            presence=np.array(presence, dtype=float),  # None: NaN
        )
        expected = control.policy(situation, plant)
        assert live_rows["lights"].tolist() == expected.lights.tolist()
        assert live_rows["hvac_mode"].tolist() == expected.hvac_mode.tolist()
        assert live_rows["reason"].tolist() == expected.reason.tolist()
        compared += len(plant.room_ids)
    assert compared == 2 * len(plant.room_ids)
