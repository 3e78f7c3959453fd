"""Closed loop: a policy decides every bin, the plant moves every minute, the KPIs are counted.

Every policy runs on the same days, the same people (the simulator's truth), the same weather
and the same sensor data (SNUK's ``room_series``: what the motion sensors reported, offline
spans included), from the same start: ``WARMUP_DAYS`` of the same policy before the first
evaluated day, from ``PlantParams.initial_temperature_c``, not counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from snuk_assets.control.kpis import room_day_kpis
from snuk_assets.control.plant import (
    MINUTE_S,
    MINUTES_PER_DAY,
    RoomPlant,
    outdoor_temperature,
    people_per_minute,
    step_minute,
)
from snuk_assets.control.policies import Commands, Situation

WARMUP_DAYS = 1

Policy = Callable[[Situation, RoomPlant], Commands]


@dataclass(frozen=True)
class LoopInputs:
    """What every policy runs on, over ``WARMUP_DAYS`` + ``days`` from ``start - WARMUP_DAYS``.

    Arrays are per room (rows, ``plant.room_ids`` order): ``motion`` and ``idle_minutes`` per
    bin (the sensors' view; NaN unknown), ``forecast`` (rooms, bins, horizons) made at the end
    of the bin before each bin, ``people`` and ``occupied`` per minute (truth), ``outdoor_c``
    per minute.
    """

    plant: RoomPlant
    start: dt.date
    days: int
    bin_minutes: int
    bins: pd.DatetimeIndex
    motion: np.ndarray
    idle_minutes: np.ndarray
    forecast: np.ndarray
    people: np.ndarray
    occupied: np.ndarray
    outdoor_c: np.ndarray

    @property
    def first_day(self) -> dt.date:
        return self.start - dt.timedelta(days=WARMUP_DAYS)


def loop_inputs(
    plant: RoomPlant,
    *,
    rooms: pd.DataFrame,
    forecast: np.ndarray,
    truth: pd.DataFrame,
    start: dt.date,
    days: int,
    seed: int,
    freq: str = "5min",
) -> LoopInputs:
    """Align the sensor view, forecasts, truth and weather on the loop's bins and minutes.

    ``rooms`` are ``room_series`` rows covering the bin before the first loop bin onwards;
    ``forecast`` is ``rolling_forecasts`` over the anchors ``bins - 1 bin``.
    """
    first = start - dt.timedelta(days=WARMUP_DAYS)
    total_days = days + WARMUP_DAYS
    bins = loop_bins(first, total_days, freq)
    step = pd.Timedelta(freq)
    previous = bins - step  # the latest complete bin at each decision
    motion = _pivot(rooms, "occupancy", plant.room_ids, previous)
    idle = _pivot(rooms, "idle_minutes", plant.room_ids, previous)
    people, occupied = people_per_minute(truth, plant.room_ids, start=first, days=total_days)
    return LoopInputs(
        plant=plant,
        start=start,
        days=days,
        bin_minutes=int(step / pd.Timedelta(minutes=1)),
        bins=bins,
        motion=motion,
        idle_minutes=idle,
        forecast=forecast,
        people=people,
        occupied=occupied,
        outdoor_c=outdoor_temperature(first, total_days, seed=seed),
    )


def loop_bins(first: dt.date, days: int, freq: str) -> pd.DatetimeIndex:
    return pd.date_range(
        pd.Timestamp(first, tz="UTC"),
        periods=days * 86400 // int(pd.Timedelta(freq).total_seconds()),
        freq=freq,
    )


def _pivot(rooms: pd.DataFrame, column: str, room_ids, bins: pd.DatetimeIndex) -> np.ndarray:
    if rooms.empty:
        return np.full((len(room_ids), len(bins)), np.nan)
    grid = rooms.pivot_table(index="room_id", columns="bin_start", values=column, dropna=False)
    grid.columns = pd.DatetimeIndex(grid.columns).tz_convert("UTC")
    return grid.reindex(index=room_ids, columns=bins).to_numpy(dtype=float)


@dataclass(frozen=True)
class LoopResult:
    """A policy's run: per room and evaluated day the KPIs; per room and bin the commands."""

    kpis: pd.DataFrame
    controls: pd.DataFrame


def run_policy(name: str, policy: Policy, inputs: LoopInputs) -> LoopResult:
    """Drive the plant with ``policy`` over the inputs' span; KPIs skip the warm-up days."""
    plant, n_bins, bin_m = inputs.plant, len(inputs.bins), inputs.bin_minutes
    n_rooms, minutes = len(plant.room_ids), inputs.occupied.shape[1]
    temperature = np.full(n_rooms, plant.params.initial_temperature_c)
    arrival = _minutes_to_arrival(inputs.occupied, bin_m)
    out = {
        "temperature_c": np.empty((n_rooms, minutes)),
        "lights_on": np.empty((n_rooms, minutes), dtype=bool),
        "lighting_j": np.empty((n_rooms, minutes)),
        "hvac_electric_j": np.empty((n_rooms, minutes)),
    }
    commands: list[Commands] = []
    for b in range(n_bins):
        situation = Situation(
            bin_start=inputs.bins[b],
            bin_minutes=bin_m,
            motion=inputs.motion[:, b],
            idle_minutes=inputs.idle_minutes[:, b],
            temperature_c=temperature,
            forecast=inputs.forecast[:, b, :],
            minutes_to_arrival=arrival[:, b],
        )
        command = policy(situation, plant)
        commands.append(command)
        for m in range(b * bin_m, (b + 1) * bin_m):
            step = step_minute(
                plant,
                temperature,
                outdoor_c=inputs.outdoor_c[m],
                people=inputs.people[:, m],
                lights_on=command.lights,
                band_low_c=command.band_low_c,
                band_high_c=command.band_high_c,
            )
            temperature = step.temperature_c
            out["temperature_c"][:, m] = temperature
            out["lights_on"][:, m] = command.lights
            out["lighting_j"][:, m] = command.lights * plant.lighting_w * MINUTE_S
            out["hvac_electric_j"][:, m] = step.hvac_electric_j
    skip = WARMUP_DAYS * MINUTES_PER_DAY
    kpis = room_day_kpis(
        room_ids=plant.room_ids,
        start=inputs.start,
        occupied=inputs.occupied[:, skip:],
        comfort_band_c=plant.params.comfort_band_c,
        **{key: values[:, skip:] for key, values in out.items()},
    ).assign(policy=name)
    skip_bins = WARMUP_DAYS * (MINUTES_PER_DAY // bin_m)
    return LoopResult(kpis, _controls_frame(name, inputs, commands[skip_bins:], skip_bins))


def _minutes_to_arrival(occupied: np.ndarray, bin_minutes: int) -> np.ndarray:
    """Per room and bin, minutes from the bin's start to the next occupied minute (inf: none)."""
    n_rooms, minutes = occupied.shape
    index = np.arange(minutes)
    next_occupied = np.where(occupied > 0, index, minutes)
    next_occupied = np.minimum.accumulate(next_occupied[:, ::-1], axis=1)[:, ::-1]
    starts = index[::bin_minutes]
    found = next_occupied[:, starts]
    return np.where(found < minutes, found - starts, np.inf).astype(float)


def _controls_frame(name: str, inputs: LoopInputs, commands: list[Commands], skip: int):
    n_rooms = len(inputs.plant.room_ids)
    bins = inputs.bins[skip:]

    def stacked(attribute: str) -> np.ndarray:
        return np.stack([getattr(c, attribute) for c in commands], axis=1).ravel()

    return pd.DataFrame(
        {
            "policy": name,
            "room_id": np.repeat(inputs.plant.room_ids, len(bins)),
            "bin_start": np.tile(bins, n_rooms),
            "lights": stacked("lights"),
            "hvac_mode": stacked("hvac_mode"),
            "band_low_c": stacked("band_low_c"),
            "band_high_c": stacked("band_high_c"),
            "reason": stacked("reason").astype(str),
            "forecast_now": stacked("forecast_now"),
            "forecast_ahead": stacked("forecast_ahead"),
            "motion": inputs.motion[:, skip:].ravel(),
            "date": np.tile(bins.date, n_rooms),
        }
    )
