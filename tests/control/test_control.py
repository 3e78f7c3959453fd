"""The plant, the KPIs, the policies and the live commands, on small hand-made inputs."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

from snuk_assets.control.commands import (
    AUDIT_TABLE,
    CommandIssuer,
    command_payload,
    command_topic,
    forecast_message,
)
from snuk_assets.control.kpis import room_day_kpis
from snuk_assets.control.plant import (
    MINUTES_PER_DAY,
    RoomPlant,
    outdoor_temperature,
    people_per_minute,
    step_minute,
)
from snuk_assets.control.policies import (
    FixedSchedule,
    ForecastPolicy,
    Oracle,
    Reactive,
    Situation,
)
from snuk_assets.control.safety import Actuation
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.transforms.holidays import HolidayCalendar

ROOMS = pd.DataFrame(
    {"room_id": ["o1", "c1"], "kind": ["office", "corridor"], "area_m2": [20.0, 100.0]}
)


@pytest.fixture
def plant() -> RoomPlant:
    return RoomPlant.from_rooms(ROOMS)


def test_plant_parameters_follow_floor_area_and_kind(plant):
    # ASHRAE 90.1-2007: office 1.1 W/ft2, corridor 0.5 W/ft2.
    assert plant.lighting_w == pytest.approx([20 * 1.1 * 10.764, 100 * 0.5 * 10.764])
    assert plant.capacitance_j_per_k / plant.area_m2 == pytest.approx([165_000, 165_000])
    # Time constant R C = 165 kJ/(m2 K) / 1 W/(m2 K) = 45.8 h, whatever the area.
    assert plant.resistance_k_per_w * plant.capacitance_j_per_k == pytest.approx([165_000] * 2)


def test_a_free_room_relaxes_to_outdoor_as_the_exact_exponential(plant):
    temperature = np.array([22.0, 22.0])
    for _ in range(600):
        step = step_minute(
            plant,
            temperature,
            outdoor_c=12.0,
            people=np.zeros(2),
            lights_on=np.zeros(2, bool),
            band_low_c=np.full(2, -50.0),
            band_high_c=np.full(2, 50.0),
        )
        temperature = step.temperature_c
        assert (step.hvac_heat_j == 0).all()
    expected = 12 + 10 * np.exp(-600 * 60 / 165_000)
    assert temperature == pytest.approx([expected, expected])


def test_the_thermostat_holds_the_band_within_its_power(plant):
    step = step_minute(
        plant,
        np.array([20.99, 15.0]),
        outdoor_c=15.0,
        people=np.zeros(2),
        lights_on=np.zeros(2, bool),
        band_low_c=np.full(2, 21.0),
        band_high_c=np.full(2, 24.0),
    )
    # The first room reaches 21 exactly; the second heats at full power and stays below.
    assert step.temperature_c[0] == pytest.approx(21.0)
    assert step.temperature_c[1] < 21.0
    assert step.hvac_heat_j[1] == pytest.approx(plant.heating_w[1] * 60)
    assert step.hvac_electric_j == pytest.approx(step.hvac_heat_j / 3.0)


def test_people_per_minute_is_exact_to_the_second():
    truth = pd.DataFrame(
        {
            "room_id": ["o1", "o1"],
            "start": pd.to_datetime(["2016-06-27 08:00:30", "2016-06-27 08:02:00"], utc=True),
            "end": pd.to_datetime(["2016-06-27 08:01:00", "2016-06-27 08:03:00"], utc=True),
            "people": [1, 3],
        }
    )
    people, occupied = people_per_minute(truth, ["o1", "c1"], start=dt.date(2016, 6, 27), days=1)
    minute = 8 * 60
    assert occupied[0, minute : minute + 4].tolist() == [0.5, 0.0, 1.0, 0.0]
    assert people[0, minute : minute + 4].tolist() == [0.5, 0.0, 3.0, 0.0]
    assert occupied[1].sum() == 0 and occupied.shape == (2, MINUTES_PER_DAY)


def test_outdoor_temperature_is_the_simulators():
    from snuk_assets.simulate import environment
    from snuk_assets.simulate.observations import periodic_rng

    day = dt.date(2016, 6, 27)
    ours = outdoor_temperature(day, 1, seed=42)
    rng = periodic_rng(42, day)
    midnight_s = int(pd.Timestamp(day, tz="UTC").timestamp())
    assert ours == pytest.approx(environment.outdoor_temperature(midnight_s, rng))
    assert len(ours) == MINUTES_PER_DAY


def test_kpis_count_discomfort_miss_and_dark_minutes_while_occupied():
    minutes = MINUTES_PER_DAY
    temperature = np.full((1, minutes), 22.0)
    temperature[0, :60] = 20.0  # 1 K below the band for an hour
    occupied = np.zeros((1, minutes))
    occupied[0, 30:90] = 1.0  # 30 of the cold minutes occupied
    lights = np.ones((1, minutes), dtype=bool)
    lights[0, 80:90] = False
    kpis = room_day_kpis(
        room_ids=["o1"],
        start=dt.date(2016, 6, 27),
        temperature_c=temperature,
        occupied=occupied,
        lights_on=lights,
        lighting_j=np.full((1, minutes), 3.6e6 / minutes),
        hvac_electric_j=np.zeros((1, minutes)),
        comfort_band_c=(21.0, 24.0),
    ).iloc[0]
    assert kpis["discomfort_kh"] == pytest.approx(0.5)  # 1 K x 30 min
    assert kpis["miss_minutes"] == 30
    assert kpis["dark_occupied_minutes"] == 10
    assert kpis["energy_kwh"] == pytest.approx(1.0)


def situation(bin_start="2016-06-27 05:00", **values) -> Situation:
    defaults = {
        "motion": np.zeros(2),
        "idle_minutes": np.full(2, 60.0),
        "temperature_c": np.full(2, 22.0),
        "forecast": np.zeros((2, 12)),
        "minutes_to_arrival": np.full(2, np.inf),
    }
    return Situation(pd.Timestamp(bin_start, tz="UTC"), 5, **(defaults | values))


def test_fixed_schedule_follows_local_working_hours(plant):
    policy = FixedSchedule("Europe/Berlin")
    # 05:00 UTC is 07:00 in Berlin in summer; 2016-06-27 is a Monday, 07-02 a Saturday.
    assert policy(situation("2016-06-27 05:00"), plant).lights.all()
    assert not policy(situation("2016-06-27 04:55"), plant).lights.any()
    assert not policy(situation("2016-06-27 17:00"), plant).lights.any()
    off = policy(situation("2016-07-02 10:00"), plant)
    assert not off.lights.any() and (off.hvac_mode == "setback").all()


def test_fixed_schedule_keeps_the_buildings_public_holidays(plant):
    # 10:00 UTC on Friday 2025-10-03: German Unity Day in Berlin, a working day in New York;
    # Friday 2025-07-04 the other way round.
    berlin = FixedSchedule("Europe/Berlin")
    new_york = FixedSchedule("America/New_York", holidays=HolidayCalendar("US"))
    assert not berlin(situation("2025-10-03 10:00"), plant).lights.any()
    assert new_york(situation("2025-10-03 14:00"), plant).lights.all()
    assert berlin(situation("2025-07-04 10:00"), plant).lights.all()
    assert not new_york(situation("2025-07-04 14:00"), plant).lights.any()


def test_reactive_switches_off_20_minutes_after_the_last_motion(plant):
    commands = Reactive()(situation(idle_minutes=np.array([19.0, 20.0])), plant)
    assert commands.lights.tolist() == [True, False]
    assert commands.hvac_mode.tolist() == ["comfort", "setback"]
    unknown = Reactive()(situation(idle_minutes=np.array([np.nan, 30.0])), plant)
    assert unknown.lights.tolist() == [True, False]


def test_the_forecast_policy_never_switches_off_a_room_with_presence_now(plant):
    policy = ForecastPolicy("Europe/Berlin", threshold=0.3, lead_bins=12)
    commands = policy(situation(motion=np.array([0.2, 0.0])), plant)
    assert commands.lights.tolist() == [True, False]
    assert commands.hvac_mode.tolist() == ["comfort", "setback"]
    assert commands.reason[0] == "presence now"


def test_the_forecast_policy_preconditions_ahead_of_a_forecast_arrival(plant):
    policy = ForecastPolicy("Europe/Berlin", threshold=0.3, lead_bins=6)
    forecast = np.zeros((2, 12))
    forecast[0, 5] = 0.9  # the office: an arrival 25 minutes ahead, inside the lead time
    forecast[1, 8] = 0.9  # the corridor: 40 minutes ahead, beyond it
    commands = policy(situation(forecast=forecast), plant)
    assert commands.hvac_mode.tolist() == ["precondition", "setback"]
    assert (commands.band_low_c[0], commands.band_high_c[0]) == (21.0, 24.0)
    # A room set back stays within what full power recovers in the lead time (30 min).
    heat, cool = plant.recovery_k_per_h()
    assert commands.band_low_c[1] == pytest.approx(21.0 - heat[1] * 0.5)
    assert commands.band_high_c[1] == pytest.approx(24.0 + cool[1] * 0.5)


def test_the_forecast_policy_lights_by_the_price_of_a_dark_minute(plant):
    policy = ForecastPolicy("Europe/Berlin")
    cut = policy.prices.light_cut(plant, 5)
    # Office: 237 W for 5 min at 0.30 EUR/kWh against 5 dark minutes at 0.017 EUR.
    assert cut[0] == pytest.approx(20 * 1.1 * 10.764 * 5 / 60 / 1000 * 0.30 / (5 * 0.017))
    forecast = np.zeros((2, 12))
    forecast[:, 0] = cut * 1.01
    assert policy(situation(forecast=forecast), plant).lights.all()


def test_without_a_forecast_the_policy_falls_back_to_reactive_and_schedule(plant):
    policy = ForecastPolicy("Europe/Berlin")
    forecast = np.zeros((2, 12))
    forecast[1] = np.nan
    commands = policy(situation("2016-06-27 10:00", forecast=forecast), plant)
    assert commands.reason[1].startswith("no forecast")
    assert commands.hvac_mode[1] == "comfort"  # 12:00 in Berlin on a Monday


def test_without_a_forecast_presence_now_still_keeps_the_room_on(plant):
    """Outside the schedule's hours the fallback would set the HVAC back: not while someone
    is there."""
    policy = ForecastPolicy("Europe/Berlin")
    forecast = np.full((2, 12), np.nan)
    night = situation("2016-06-27 22:00", motion=np.array([0.4, 0.0]), forecast=forecast)
    commands = policy(night, plant)
    assert commands.lights.tolist() == [True, False]
    assert commands.hvac_mode.tolist() == ["comfort", "setback"]
    assert commands.reason[0] == "presence now"
    assert commands.reason[1].startswith("no forecast")


def test_the_oracle_preconditions_by_the_time_the_room_needs(plant):
    cold = np.array([20.0, 22.0])
    heat, _ = plant.recovery_k_per_h()
    need = 60 * 1.0 / heat[0]  # minutes to heat 1 K
    arriving = np.array([need + 5, need + 5])
    commands = Oracle()(situation(temperature_c=cold, minutes_to_arrival=arriving), plant)
    assert commands.hvac_mode.tolist() == ["precondition", "setback"]
    assert Oracle()(situation(minutes_to_arrival=np.array([4.0, 5.0])), plant).lights.tolist() == [
        True,
        False,
    ]


def test_the_command_payload_and_topic():
    issued = dt.datetime(2016, 6, 27, 5, 0, tzinfo=dt.UTC)
    payload = command_payload(
        room_id="7103",
        issued_at=issued,
        lights=True,
        hvac_mode="precondition",
        reason="forecast arrival within lead time",
        policy="forecast",
        forecast=forecast_message("2016-06-27 04:55:00+00:00", 5, [0.1, np.nan, 0.8]),
        dry_run=True,
    )
    assert json.loads(json.dumps(payload))["forecast"]["occupied_probability"] == [0.1, None, 0.8]
    assert command_topic("snuk-reference-office", "7103") == (
        "snuk/snuk-reference-office/rooms/7103/command"
    )
    with pytest.raises(ValueError, match="topic level"):
        command_topic("b", "71/#")
    with pytest.raises(ValueError, match="hvac_mode"):
        command_payload(**{**payload, "issued_at": issued, "hvac_mode": "off"})


def test_commands_are_dry_run_by_default_and_every_one_is_audited(tmp_path, plant):
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    sent = []
    commands = ForecastPolicy("Europe/Berlin")(situation(motion=np.array([1.0, 0.0])), plant)
    issued = dt.datetime(2016, 6, 27, 5, 0, tzinfo=dt.UTC)
    issuer = CommandIssuer("b", lakehouse, publisher=lambda t, p, _valid_for_s: sent.append((t, p)))
    issuer.issue(commands, plant.room_ids, issued_at=issued, policy="forecast")
    assert sent == []
    actuation = Actuation(lakehouse, "b")
    actuation.set("o1", True, by="alice", role="admin", reason="pilot room", when=issued)
    live = CommandIssuer(
        "b",
        lakehouse,
        publisher=lambda t, p, _valid_for_s: sent.append((t, p)),
        actuation=actuation,
        dry_run=False,
    )
    live.issue(commands, plant.room_ids, issued_at=issued, policy="forecast")
    assert [t for t, _ in sent] == ["snuk/b/rooms/o1/command"]
    assert json.loads(sent[0][1])["lights"] is True
    audit = DeltaTable(lakehouse.table_uri(AUDIT_TABLE)).to_pandas()
    audit = audit[audit["action"] == "command"].sort_values("dry_run")
    assert len(audit) == 4  # two rooms, twice: appended, never replaced
    assert audit["sent"].tolist().count(True) == 1
    assert set(audit["not_sent_because"].dropna()) == {
        "dry run",
        "actuation not enabled for the room",
    }
