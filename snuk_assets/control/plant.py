"""The plant that control policies are evaluated on: lights and a 1R1C thermal model per room.

Every parameter is fixed here, with its source, before any policy was run on it (the commit that
added this module holds no policy). The model is deliberately simple, as the issue asks: per
room one resistance to the outdoor air and one capacitance (a 1R1C model), an ideal thermostat
whose heating and cooling power is capped, internal gains from people and lamps, the
simulator's outdoor temperature and the simulator's ground-truth headcount. Left out, and the
same for every policy: solar gains, plug loads, heat flow between rooms, fan energy, latent
loads. Absolute kWh are therefore indicative; the comparison between policies on the same
plant, days and people is the point.

Sources of the parameters (``PlantParams``):

- Lighting power density by room kind: ASHRAE/IES Standard 90.1-2007, Table 9.6.1 (space-by-
  space method), in W/ft2 converted with 1 W/ft2 = 10.764 W/m2: office enclosed 1.1, office
  open plan 1.1, conference/meeting 1.3, corridor/transition 0.5, lounge/break room 1.2 (our
  kitchens), storage (active) 0.8. Lamps are on or off (no dimming); all their power ends up
  as heat in the room (ASHRAE Handbook Fundamentals 2017, ch. 18: lighting heat gain equals
  the lighting power, delayed; the delay is neglected).
- People: 75 W sensible heat each, "moderately active office work" (ASHRAE Handbook
  Fundamentals 2017, ch. 18, Table 1: 75 W sensible, 55 W latent).
- Capacitance: 165 kJ/(m2 K) of floor area, the "medium" construction class of EN ISO
  13790:2008, Table 12 (the class to use when the construction is not known).
- Resistance: a heat loss coefficient of 1.0 W/(m2 K) of floor area. Facade transmission:
  0.4 m2 of facade per m2 of floor (3 m storeys, rooms about 7.5 m deep) at a mean U of
  0.79 W/(m2 K) (half wall at 0.28, half window at 1.3: the reference building of the German
  EnEV 2014, Anlage 2) gives 0.32; ventilation: 1.4 l/(s m2) (EN 16798-1:2019, category II,
  low-polluting building, 10 m2 a person) x 1.2 kJ/(m3 K) x (1 - 0.6 heat recovery) gives
  0.67; together 1.0 W/(m2 K). The time constant C/H is 46 h.
- HVAC: heating up to 50 W/m2 (the design heat load of a new German office, EN 12831, lies at
  40-60 W/m2) and cooling up to 60 W/m2 (VDI 2078 office cooling loads, 40-80 W/m2), both
  thermal, delivered as an ideal thermostat that keeps the room inside its band within the
  cap. Electric energy = heat / 3.0 (heating COP) or cold / 3.0 (cooling EER): round values
  for a current reversible heat pump (EN 14825 seasonal values of current units lie at 3-5).
- Comfort band 21-24 degC while in ``comfort`` or ``precondition``, setback band 15-30 degC:
  BOPTEST's occupied and unoccupied bands (its test cases, e.g. ``multizone_office_simple_air``
  and ``bestest_air``, use 21/24 and 15/30).
- Every room starts each evaluated span at 22.5 degC (the middle of the comfort band) after
  the simulator's ``WARMUP_DAYS`` of the same policy.

The state moves minute by minute (``MINUTE_S``), exactly integrated over each minute for
constant inputs: with ``a = exp(-dt / (R C))`` and ``T_eq = T_out + R (Q_gain + Q_hvac)``,
``T(t + dt) = T_eq + (T(t) - T_eq) a``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

W_PER_FT2 = 10.764  # W/m2 in one W/ft2
MINUTE_S = 60
MINUTES_PER_DAY = 1440
J_PER_KWH = 3.6e6

# ASHRAE/IES 90.1-2007 Table 9.6.1, W/ft2 (see the module docstring).
LIGHTING_W_PER_FT2 = {
    "office": 1.1,
    "open_space": 1.1,
    "meeting": 1.3,
    "corridor": 0.5,
    "kitchen": 1.2,
    "storage": 0.8,
}


@dataclass(frozen=True)
class PlantParams:
    """The plant's physical parameters; the module docstring gives the source of each."""

    lighting_w_per_m2: dict[str, float] = field(
        default_factory=lambda: {k: v * W_PER_FT2 for k, v in LIGHTING_W_PER_FT2.items()}
    )
    default_kind: str = "office"  # a kind not in the table lights like an office
    sensible_w_per_person: float = 75.0
    capacitance_j_per_m2k: float = 165_000.0
    loss_w_per_m2k: float = 1.0
    heating_w_per_m2: float = 50.0
    cooling_w_per_m2: float = 60.0
    heating_cop: float = 3.0
    cooling_eer: float = 3.0
    comfort_band_c: tuple[float, float] = (21.0, 24.0)
    setback_band_c: tuple[float, float] = (15.0, 30.0)
    initial_temperature_c: float = 22.5


@dataclass(frozen=True)
class RoomPlant:
    """Per-room constants of the plant, one entry per room, in ``room_ids`` order.

    ``lighting_w`` (W), ``resistance_k_per_w`` (K/W), ``capacitance_j_per_k`` (J/K),
    ``heating_w`` and ``cooling_w`` (thermal W, caps).
    """

    room_ids: list[str]
    kinds: list[str]
    area_m2: np.ndarray
    lighting_w: np.ndarray
    resistance_k_per_w: np.ndarray
    capacitance_j_per_k: np.ndarray
    heating_w: np.ndarray
    cooling_w: np.ndarray
    params: PlantParams

    @classmethod
    def from_rooms(cls, rooms: pd.DataFrame, params: PlantParams | None = None) -> RoomPlant:
        """From registry rooms (``room_id``, ``kind``, ``area_m2``)."""
        params = params or PlantParams()
        area = rooms["area_m2"].to_numpy(dtype=float)
        kinds = [str(k) for k in rooms["kind"]]
        default = params.lighting_w_per_m2[params.default_kind]
        density = np.array([params.lighting_w_per_m2.get(k, default) for k in kinds])
        return cls(
            room_ids=[str(r) for r in rooms["room_id"]],
            kinds=kinds,
            area_m2=area,
            lighting_w=density * area,
            resistance_k_per_w=1.0 / (params.loss_w_per_m2k * area),
            capacitance_j_per_k=params.capacitance_j_per_m2k * area,
            heating_w=params.heating_w_per_m2 * area,
            cooling_w=params.cooling_w_per_m2 * area,
            params=params,
        )

    def recovery_k_per_h(self) -> tuple[np.ndarray, np.ndarray]:
        """How fast full heating and full cooling move each room, K/h, losses neglected."""
        return (
            self.heating_w / self.capacitance_j_per_k * 3600,
            self.cooling_w / self.capacitance_j_per_k * 3600,
        )


@dataclass
class MinuteStep:
    """One minute of every room: end temperature (degC), thermal HVAC heat (J, + heating,
    - cooling) and its electric energy (J)."""

    temperature_c: np.ndarray
    hvac_heat_j: np.ndarray
    hvac_electric_j: np.ndarray


def step_minute(
    plant: RoomPlant,
    temperature_c: np.ndarray,
    *,
    outdoor_c: float,
    people: np.ndarray,
    lights_on: np.ndarray,
    band_low_c: np.ndarray,
    band_high_c: np.ndarray,
) -> MinuteStep:
    """Advance every room by one minute under an ideal, power-capped thermostat.

    The thermostat adds the least heat (or cold) that keeps the end-of-minute temperature
    inside ``[band_low_c, band_high_c]``, within the room's caps.
    """
    r, c = plant.resistance_k_per_w, plant.capacitance_j_per_k
    a = np.exp(-MINUTE_S / (r * c))
    gains_w = people * plant.params.sensible_w_per_person + lights_on * plant.lighting_w
    equilibrium = outdoor_c + r * gains_w
    free = equilibrium + (temperature_c - equilibrium) * a
    per_watt = r * (1 - a)  # end-temperature change per W held over the minute
    need_w = np.where(
        free < band_low_c,
        (band_low_c - free) / per_watt,
        np.where(free > band_high_c, (band_high_c - free) / per_watt, 0.0),
    )
    hvac_w = np.clip(need_w, -plant.cooling_w, plant.heating_w)
    end = free + hvac_w * per_watt
    heat_j = hvac_w * MINUTE_S
    electric_j = np.where(
        heat_j > 0, heat_j / plant.params.heating_cop, -heat_j / plant.params.cooling_eer
    )
    return MinuteStep(end, heat_j, electric_j)


def outdoor_temperature(start: dt.date, days: int, *, seed: int) -> np.ndarray:
    """The simulator's outdoor temperature (degC) of each minute of ``days`` UTC days."""
    from snuk_assets.simulate.environment import outdoor_temperature as of_day
    from snuk_assets.simulate.observations import periodic_rng
    from snuk_assets.simulate.workdays import utc_midnight_s

    return np.concatenate(
        [
            of_day(utc_midnight_s(day), periodic_rng(seed, day))
            for day in (start + dt.timedelta(days=n) for n in range(days))
        ]
    )


def people_per_minute(
    truth: pd.DataFrame, room_ids: list[str], *, start: dt.date, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean headcount and occupied share of each room (rows) and minute (columns).

    ``truth`` is the simulator's ground truth (``room_id``, ``start``, ``end`` UTC,
    ``people``); the span is ``days`` UTC days from ``start``. Exact to the second.
    """
    origin_s = int(pd.Timestamp(start, tz="UTC").timestamp())
    edges = origin_s + MINUTE_S * np.arange(days * MINUTES_PER_DAY + 1)
    people = np.zeros((len(room_ids), len(edges) - 1))
    occupied = np.zeros_like(people)
    by_room = dict(tuple(truth.groupby("room_id", sort=False)))
    for row, room_id in enumerate(room_ids):
        intervals = by_room.get(room_id)
        if intervals is None or intervals.empty:
            continue
        s = intervals["start"].dt.as_unit("s").astype("int64").to_numpy()
        e = intervals["end"].dt.as_unit("s").astype("int64").to_numpy()
        n = intervals["people"].to_numpy(dtype=float)
        occupied_s = _weighted_before(edges, s, e, np.ones_like(n))
        person_s = _weighted_before(edges, s, e, n)
        occupied[row] = np.diff(occupied_s) / MINUTE_S
        people[row] = np.diff(person_s) / MINUTE_S
    return people, occupied


def _weighted_before(t: np.ndarray, starts, ends, weights) -> np.ndarray:
    """Sum over non-overlapping intervals of weight x (seconds of the interval before ``t``)."""
    order = np.argsort(starts)
    starts, ends, weights = starts[order], ends[order], weights[order]
    full = np.concatenate([[0.0], np.cumsum((ends - starts) * weights)])
    started = np.searchsorted(starts, t, side="right")
    last = np.maximum(started - 1, 0)
    partial = np.where(
        started > 0, np.clip(t - starts[last], 0, ends[last] - starts[last]) * weights[last], 0.0
    )
    return full[last] + partial
