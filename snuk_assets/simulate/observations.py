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
from snuk_assets.simulate import environment, gateways, sensors
from snuk_assets.simulate.occupancy import simulate_occupancy
from snuk_assets.simulate.workdays import utc_midnight_s

# Independent random streams, so changing one aspect does not reshuffle the others.
_MOTION, _PERIODIC, _CLIMATE, _UPLOADS, _OFFLINE = 1, 2, 3, 4, 5
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
    next_sample_s: np.ndarray
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
        self.room_gateway = gateways.gateway_of_rooms(len(self.room_ids))
        kinds = reg.rooms["kind"].to_numpy()
        self.kinds, self.area = kinds, reg.rooms["area_m2"].to_numpy(dtype=float)
        self.behaviour = [
            sensors.MOTION_BY_KIND.get(kinds[self.sensor_room[i]], sensors.DEFAULT_MOTION)
            for i in self.motion_idx
        ]
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
            next_sample_s=start_s + rng.uniform(0, plan.period_s, len(self.periodic_idx)),
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
        parts = self._motion(headcount > 0, day, day_start_s)
        parts += self._periodic(headcount, day, day_start_s)
        sensor = np.concatenate([p[0] for p in parts])
        ts_ms = np.concatenate([p[1] for p in parts])
        value = np.concatenate([p[2] for p in parts])
        return self._with_arrival(sensor, ts_ms, value, day, day_start_s)

    def _motion(self, occupied: np.ndarray, day: dt.date, day_start_s: int) -> list:
        rng = np.random.default_rng([self.plan.seed, _MOTION, day.toordinal()])
        carry, parts = self.carry, []
        for k, sensor in enumerate(self.motion_idx):
            states = sensors.motion_states(
                occupied[self.sensor_room[sensor]], self.behaviour[k], rng
            )
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
