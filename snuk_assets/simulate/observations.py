"""Simulate the whole building day by day: ground truth, then each day's observations.

``simulate_observations`` yields one Arrow table per UTC measurement day and holds nothing
else in memory but per-sensor carry-over state, so 90 days stream in constant memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from snuk_assets.registry import BuildingRegistry
from snuk_assets.simulate import air, counters, environment, gateways, pir, sensors
from snuk_assets.simulate.occupancy import simulate_occupancy
from snuk_assets.simulate.workdays import is_working_day, utc_midnight_s

# Independent random streams, so changing one aspect does not reshuffle the others (6 is the
# writer's, simulation.py).
_MOTION, _PERIODIC, _CLIMATE, _UPLOADS, _OFFLINE = 1, 2, 3, 4, 5
_CO2, _COUNTERS, _PLACEMENT = 7, 8, 9
PERIODIC_TYPES = ("temperature", "humidity", "luminosity")
OBSERVATION_SCHEMA = pa.schema(
    [
        ("sensor_id", pa.dictionary(pa.int32(), pa.string())),
        ("timestamp_ms", pa.int64()),
        ("value", pa.float64()),
        ("gateway", pa.int8()),
        ("arrival_ms", pa.int64()),
        ("arrival_date", pa.date32()),
    ]
)


@dataclass(frozen=True)
class SimulationPlan:
    """Everything drawn once for the whole run: the truth and the offline spans."""

    registry: BuildingRegistry
    start: dt.date
    days: int
    seed: int
    period_s: float
    jitter_s: float
    truth: pd.DataFrame  # room_id, start, end (UTC), people
    offline: pd.DataFrame  # sensor_id, start_s, end_s


def plan_simulation(
    *,
    registry: BuildingRegistry,
    start: dt.date,
    days: int,
    seed: int,
    period_s: float = 60.0,
    jitter_s: float = 2.0,
    holidays: frozenset[dt.date] | None = None,
) -> SimulationPlan:
    """Draw the ground truth and the offline spans (the registry's public holidays by default:
    its ``country`` and ``subdivision``)."""
    if holidays is None:
        years = range(start.year - 1, start.year + days // 365 + 2)
        holidays = registry.holiday_calendar().dates(years)
    truth = simulate_occupancy(
        registry.rooms,
        timezone=registry.timezone,
        start=start,
        days=days,
        seed=seed,
        holidays=holidays,
    )
    span_start_s = utc_midnight_s(start)
    offline = sensors.offline_spans(
        list(registry.sensors["sensor_id"]),
        span_start_s=span_start_s,
        span_end_s=span_start_s + days * sensors.DAY_S,
        rng=np.random.default_rng([seed, _OFFLINE]),
    )
    return SimulationPlan(registry, start, days, seed, period_s, jitter_s, truth, offline)


def simulate_observations(
    *,
    registry: BuildingRegistry,
    start: dt.date,
    days: int,
    seed: int,
    period_s: float = 60.0,
    plan: SimulationPlan | None = None,
) -> Iterator[pa.Table]:
    """Yield each UTC day's observations, without writing them.

    Yields
    ------
    pyarrow.Table
        Schema ``OBSERVATION_SCHEMA``: ``sensor_id``, ``timestamp_ms`` (measurement, epoch ms
        UTC), ``value`` (the sensor type's unit, one decimal), ``gateway`` (index),
        ``arrival_ms`` and ``arrival_date`` (when and on which UTC day the upload holding the
        row lands). Sorted by arrival, gateway, then measurement time.
    """
    plan = plan or plan_simulation(
        registry=registry, start=start, days=days, seed=seed, period_s=period_s
    )
    day_sim = _DaySimulator(plan)
    for offset in range(plan.days):
        yield day_sim.run(plan.start + dt.timedelta(days=offset))


def periodic_rng(seed: int, day: dt.date) -> np.random.Generator:
    """The random stream of one day's climate and periodic sensors (weather first)."""
    return np.random.default_rng([seed, _PERIODIC, day.toordinal()])


@dataclass
class _Carry:
    """Per-sensor state that continues across midnight."""

    motion_state: np.ndarray
    motion_reported: np.ndarray  # last reported value, -1 before the first report
    motion_on_until_s: np.ndarray  # seconds after the day's start at which a held ON ends
    next_sample_s: np.ndarray
    next_co2_s: np.ndarray
    co2_ppm: np.ndarray  # per room, at the end of the day before
    climate: environment.ClimateState
    sensor_offsets: dict[str, np.ndarray] = field(default_factory=dict)


class _DaySimulator:
    """Turns the plan into one day of observations at a time."""

    def __init__(self, plan: SimulationPlan):
        self.plan = plan
        reg = plan.registry
        self.room_ids = list(reg.rooms["room_id"])
        room_index = {r: i for i, r in enumerate(self.room_ids)}
        self.sensor_ids = list(reg.sensors["sensor_id"])
        self.sensor_room = reg.sensors["room_id"].map(room_index).to_numpy()
        types = reg.sensors["sensor_type"].to_numpy()
        self.motion_idx = np.flatnonzero(types == "motion")
        self.periodic_idx = np.flatnonzero(np.isin(types, PERIODIC_TYPES))
        self.periodic_type = types[self.periodic_idx]
        self.co2_idx = np.flatnonzero(types == "co2")
        self.counter_idx = np.flatnonzero(types == "people_count")
        self.room_gateway = gateways.gateway_of_rooms(len(self.room_ids))
        kinds = reg.rooms["kind"].to_numpy()
        self.kinds, self.area = kinds, reg.rooms["area_m2"].to_numpy(dtype=float)
        self.timezone = reg.timezone
        years = range(plan.start.year - 1, plan.start.year + plan.days // 365 + 2)
        self.holidays = reg.holiday_calendar().dates(years)
        placement = np.random.default_rng([plan.seed, _PLACEMENT])
        motion_rooms = self.sensor_room[self.motion_idx]
        self.activity = [
            pir.ACTIVITY_BY_KIND.get(kinds[r], pir.DEFAULT_ACTIVITY) for r in motion_rooms
        ]
        self.seated_view = [
            pir.seats_in_view(kinds[r], self.area[r], placement) for r in motion_rooms
        ]
        seats = np.array([pir.seats_of(k, a) for k, a in zip(kinds, self.area, strict=True)])
        self.ventilation_m3_s = air.design_ventilation_m3_s(self.area, seats) * np.exp(
            placement.normal(0, air.VENTILATION_SPREAD, len(self.room_ids))
        )
        self.co2_offset = placement.normal(0, air.SENSOR_OFFSET_PPM, len(self.co2_idx))
        truth = plan.truth
        self.truth_room = truth["room_id"].map(room_index).to_numpy()
        self.truth_start = truth["start"].dt.as_unit("s").astype("int64").to_numpy()
        self.truth_end = truth["end"].dt.as_unit("s").astype("int64").to_numpy()
        self.truth_people = truth["people"].to_numpy()
        sensor_index = {s: i for i, s in enumerate(self.sensor_ids)}
        self.offline = {
            sensor_index[s]: g[["start_s", "end_s"]].to_numpy()
            for s, g in plan.offline.groupby("sensor_id")
        }
        rng = np.random.default_rng([plan.seed, _CLIMATE])
        start_s = utc_midnight_s(plan.start)
        self.carry = _Carry(
            motion_state=np.zeros(len(self.motion_idx), dtype=bool),
            motion_reported=np.full(len(self.motion_idx), -1, dtype=np.int8),
            motion_on_until_s=np.zeros(len(self.motion_idx), dtype=np.int64),
            next_sample_s=start_s + rng.uniform(0, plan.period_s, len(self.periodic_idx)),
            next_co2_s=start_s + placement.uniform(0, plan.period_s, len(self.co2_idx)),
            co2_ppm=np.full(len(self.room_ids), air.OUTDOOR_PPM),
            climate=environment.ClimateState.initial(len(self.room_ids), rng),
            sensor_offsets={
                "temperature": rng.normal(0, 0.3, len(self.periodic_idx)),
                "humidity": rng.normal(0, 1.5, len(self.periodic_idx)),
                "luminosity": rng.normal(1, 0.08, len(self.periodic_idx)),
            },
        )

    def run(self, day: dt.date) -> pa.Table:
        day_start_s = utc_midnight_s(day)
        headcount = sensors.headcount_grid(
            self.truth_start,
            self.truth_end,
            self.truth_people,
            self.truth_room,
            n_rooms=len(self.room_ids),
            day_start_s=day_start_s,
        )
        parts = self._motion(headcount, day, day_start_s)
        parts += self._periodic(headcount, day, day_start_s)
        parts += self._co2(headcount, day, day_start_s)
        parts += self._counters(headcount, day, day_start_s)
        sensor = np.concatenate([p[0] for p in parts])
        ts_ms = np.concatenate([p[1] for p in parts])
        value = np.concatenate([p[2] for p in parts])
        return self._with_arrival(sensor, ts_ms, value, day, day_start_s)

    def _motion(self, headcount: np.ndarray, day: dt.date, day_start_s: int) -> list:
        rng = np.random.default_rng([self.plan.seed, _MOTION, day.toordinal()])
        carry, parts = self.carry, []
        present, walking = pir.room_minutes(headcount, rng)
        for k, sensor in enumerate(self.motion_idx):
            room = self.sensor_room[sensor]
            probability = pir.detection_probability(
                present[room],
                walking[room],
                activity=self.activity[k],
                seated_view=self.seated_view[k],
                area_m2=self.area[room],
            )
            states, on_until_s = pir.pir_states(
                probability, on_until_s=int(carry.motion_on_until_s[k]), rng=rng
            )
            carry.motion_on_until_s[k] = on_until_s - sensors.DAY_S
            seconds = sensors.state_changes(states, carry.motion_state[k])
            carry.motion_state[k] = states[-1]
            times_s = day_start_s + seconds
            values = states[seconds].astype(np.int8)
            online = self._online(sensor, times_s)
            times_s, values = times_s[online], values[online]
            # A sensor that was offline reports the state it finds, only if it differs.
            previous = np.concatenate([[carry.motion_reported[k]], values[:-1]])
            changed = values != previous
            times_s, values = times_s[changed], values[changed]
            if len(values):
                carry.motion_reported[k] = values[-1]
            ts_ms = times_s * 1000 + rng.integers(0, 1000, len(times_s))
            parts.append((np.full(len(ts_ms), sensor), ts_ms, values.astype(np.float64)))
        return parts

    def _periodic(self, headcount: np.ndarray, day: dt.date, day_start_s: int) -> list:
        rng = periodic_rng(self.plan.seed, day)
        people_per_min = headcount.reshape(len(self.room_ids), -1, 60).mean(axis=2)
        climate = environment.room_climate(
            people_per_min,
            area_m2=self.area,
            kinds=self.kinds,
            day_start_s=day_start_s,
            state=self.carry.climate,
            rng=rng,
        )
        times, self.carry.next_sample_s = sensors.periodic_times(
            self.carry.next_sample_s,
            day_end_s=day_start_s + sensors.DAY_S,
            period_s=self.plan.period_s,
            jitter_s=self.plan.jitter_s,
            rng=rng,
        )
        minute_s = day_start_s + 60 * np.arange(environment.MINUTES) + 30
        offsets, parts = self.carry.sensor_offsets, []
        for k, sensor in enumerate(self.periodic_idx):
            kind = self.periodic_type[k]
            t = times[k][self._online(sensor, times[k])]
            clean = np.interp(t, minute_s, climate[kind][self.sensor_room[sensor]])
            if kind == "temperature":
                value = clean + offsets[kind][k] + rng.normal(0, 0.05, len(t))
            elif kind == "humidity":
                value = np.clip(clean + offsets[kind][k] + rng.normal(0, 0.3, len(t)), 0, 100)
            else:
                value = np.maximum(clean * offsets[kind][k] * rng.normal(1, 0.02, len(t)), 0)
            ts_ms = np.floor(t * 1000).astype(np.int64)
            parts.append((np.full(len(t), sensor), ts_ms, np.round(value, 1)))
        return parts

    def _co2(self, headcount: np.ndarray, day: dt.date, day_start_s: int) -> list:
        """CO2 sensors: the room's mass balance, sampled like the climate sensors."""
        if not len(self.co2_idx):
            return []
        rng = np.random.default_rng([self.plan.seed, _CO2, day.toordinal()])
        minute_end_s = day_start_s + 60 * np.arange(1, environment.MINUTES + 1)
        local = pd.to_datetime(minute_end_s - 30, unit="s", utc=True).tz_convert(self.timezone)
        working = np.array([is_working_day(d, self.holidays) for d in local.date])
        first_hour, last_hour = air.VENTILATION_HOURS
        ventilation_on = working & (local.hour >= first_hour) & (local.hour < last_hour)
        people_per_min = headcount.reshape(len(self.room_ids), -1, 60).mean(axis=2)
        co2 = air.room_co2(
            people_per_min,
            area_m2=self.area,
            ventilation_m3_s=self.ventilation_m3_s,
            ventilation_on=np.asarray(ventilation_on),
            start_ppm=self.carry.co2_ppm,
        )
        start_ppm = self.carry.co2_ppm
        self.carry.co2_ppm = co2[:, -1]
        times, self.carry.next_co2_s = sensors.periodic_times(
            self.carry.next_co2_s,
            day_end_s=day_start_s + sensors.DAY_S,
            period_s=self.plan.period_s,
            jitter_s=self.plan.jitter_s,
            rng=rng,
        )
        parts = []
        for k, sensor in enumerate(self.co2_idx):
            room = self.sensor_room[sensor]
            t = times[k][self._online(sensor, times[k])]
            clean = np.interp(
                t,
                np.concatenate([[day_start_s], minute_end_s]),
                np.append(start_ppm[room], co2[room]),
            )
            value = clean + self.co2_offset[k] + rng.normal(0, air.SENSOR_NOISE_PPM, len(t))
            ts_ms = np.floor(t * 1000).astype(np.int64)
            parts.append((np.full(len(t), sensor), ts_ms, np.round(np.maximum(value, 0), 1)))
        return parts

    def _counters(self, headcount: np.ndarray, day: dt.date, day_start_s: int) -> list:
        """People counters at the doors: entries minus exits on change, reset at midnight."""
        rng = np.random.default_rng([self.plan.seed, _COUNTERS, day.toordinal()])
        parts = []
        for sensor in self.counter_idx:
            seconds, counts = counters.counter_reports(headcount[self.sensor_room[sensor]], rng)
            times_s = day_start_s + seconds
            online = self._online(sensor, times_s)
            ts_ms = times_s[online] * 1000 + rng.integers(0, 1000, int(online.sum()))
            parts.append((np.full(len(ts_ms), sensor), ts_ms, counts[online]))
        return parts

    def _online(self, sensor: int, times_s: np.ndarray) -> np.ndarray:
        online = np.ones(len(times_s), dtype=bool)
        for span_start, span_end in self.offline.get(sensor, ()):
            online &= (times_s < span_start) | (times_s >= span_end)
        return online

    def _with_arrival(self, sensor, ts_ms, value, day: dt.date, day_start_s: int) -> pa.Table:
        rng = np.random.default_rng([self.plan.seed, _UPLOADS, day.toordinal()])
        uploads = gateways.upload_times_s(
            day_start_s=day_start_s, n_gateways=gateways.N_GATEWAYS, rng=rng
        )
        gateway = self.room_gateway[self.sensor_room[sensor]]
        window = (ts_ms // 1000 - day_start_s) // gateways.WINDOW_S
        arrival_ms = uploads[gateway, window] * 1000
        order = np.lexsort((ts_ms, gateway, arrival_ms))
        arrival_ms = arrival_ms[order]
        return pa.table(
            {
                "sensor_id": pa.DictionaryArray.from_arrays(
                    pa.array(sensor[order], pa.int32()), pa.array(self.sensor_ids, pa.string())
                ),
                "timestamp_ms": ts_ms[order],
                "value": value[order],
                "gateway": pa.array(gateway[order], pa.int8()),
                "arrival_ms": arrival_ms,
                "arrival_date": pa.array(arrival_ms // 86_400_000, pa.int32()).cast(pa.date32()),
            },
            schema=OBSERVATION_SCHEMA,
        )
