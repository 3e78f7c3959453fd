"""Control policies: what each room gets for the next bin, as pure functions of what is known.

A policy sees a ``Situation`` (every room at the start of a bin: the latest complete bin's
motion, the room temperature, the forecast made at that bin's end; the oracle also sees the
truth) and returns ``Commands``: lights on or off, an HVAC mode (``comfort``, ``setback`` or
``precondition``), the band the thermostat keeps, and why. The same policies drive the
evaluation plant and the live commands.

- ``fixed_schedule``: comfort and lights 07:00-19:00 on working days, building local time.
- ``reactive``: occupancy-sensor control; lights off and setback 20 minutes after the last
  motion (ASHRAE 90.1's maximum delay).
- ``forecast``: the forecasts and the live motion (``ForecastPolicy``).
- ``oracle``: knows who will be where (the floor of what control can reach).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from snuk_assets.control.plant import RoomPlant
from snuk_assets.simulate.workdays import is_working_day
from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar

HVAC_MODES = ("comfort", "setback", "precondition")
POLICIES = ("fixed_schedule", "reactive", "forecast", "oracle")


@dataclass(frozen=True)
class Situation:
    """Every room (arrays in ``RoomPlant.room_ids`` order) at the start of bin ``bin_start``.

    ``motion`` is the occupied share of the latest complete bin from the motion sensors
    (NaN: no coverage); ``idle_minutes`` how long nobody moved at its end (NaN: unknown);
    ``temperature_c`` the room temperature now; ``forecast`` (rooms, horizons) the probability
    of occupancy of this bin and the next ones, made at the latest bin's end (NaN: none);
    ``minutes_to_arrival`` (oracle only) minutes from the bin's start until the room is next
    occupied (less than ``bin_minutes``: occupied in this bin; inf: not within the span);
    ``presence`` (live control) the occupancy estimate of the latest complete bin, the
    probability somebody is there (NaN: none for the room; None: none at all, as in the
    evaluation).
    """

    bin_start: pd.Timestamp
    bin_minutes: int
    motion: np.ndarray
    idle_minutes: np.ndarray
    temperature_c: np.ndarray
    forecast: np.ndarray
    minutes_to_arrival: np.ndarray | None = None
    presence: np.ndarray | None = None

    def moving_now(self) -> np.ndarray:
        """Per room, whether a motion sensor saw somebody in the latest bin."""
        return np.nan_to_num(self.motion) > 0

    def estimated_now(self) -> np.ndarray:
        """Per room, whether the occupancy estimate of the latest bin is at least 0.5 (False
        without one)."""
        if self.presence is None:
            return np.zeros(len(self.motion), dtype=bool)
        return np.nan_to_num(np.asarray(self.presence, dtype=float)) >= 0.5

    def present_now(self) -> np.ndarray:
        """Per room, whether somebody is there now: motion in the latest bin (somebody was
        there), or the estimate says so (people sitting still, whom motion misses)."""
        return self.moving_now() | self.estimated_now()


@dataclass(frozen=True)
class Commands:
    """One bin's commands: per room ``lights`` (bool), ``hvac_mode``, the band the thermostat
    keeps (degC), ``reason``, and the forecasts the decision used (NaN: none): the probability
    of occupancy of this bin (``forecast_now``) and the largest over the lead time
    (``forecast_ahead``)."""

    lights: np.ndarray
    hvac_mode: np.ndarray
    band_low_c: np.ndarray
    band_high_c: np.ndarray
    reason: np.ndarray
    forecast_now: np.ndarray
    forecast_ahead: np.ndarray


def _commands(plant, lights, comfort, precondition, reason, forecast=(None, None), setback=None):
    """Commands from boolean arrays; ``setback`` overrides the plant's setback band."""
    low_c, high_c = plant.params.comfort_band_c
    back_low, back_high = setback if setback is not None else plant.params.setback_band_c
    conditioned = comfort | precondition
    mode = np.where(comfort, "comfort", np.where(precondition, "precondition", "setback"))
    return Commands(
        lights=np.asarray(lights, dtype=bool),
        hvac_mode=mode,
        band_low_c=np.where(conditioned, low_c, back_low),
        band_high_c=np.where(conditioned, high_c, back_high),
        reason=np.asarray(reason, dtype=object),
        forecast_now=_or_nan(forecast[0], len(plant.room_ids)),
        forecast_ahead=_or_nan(forecast[1], len(plant.room_ids)),
    )


def _or_nan(values, n: int) -> np.ndarray:
    return np.full(n, np.nan) if values is None else np.asarray(values, dtype=float)


@dataclass(frozen=True)
class FixedSchedule:
    """Comfort and lights from ``start_hour`` to ``end_hour`` on working days (Monday to
    Friday except the public holidays of ``holidays``), local time."""

    timezone: str
    start_hour: int = 7
    end_hour: int = 19
    holidays: HolidayCalendar = BERLIN

    def __call__(self, situation: Situation, plant: RoomPlant) -> Commands:
        local = situation.bin_start.tz_convert(self.timezone)
        day: dt.date = local.date()
        on = is_working_day(day, self.holidays.dates([day.year])) and (
            self.start_hour <= local.hour < self.end_hour
        )
        n = len(plant.room_ids)
        flag = np.full(n, on)
        reason = "schedule: working hours" if on else "schedule: off hours"
        return _commands(plant, flag, flag, np.zeros(n, bool), np.full(n, reason))


@dataclass(frozen=True)
class Reactive:
    """Lights and comfort while motion was seen in the last ``delay_minutes``, else setback.

    An unknown motion state (sensors offline) keeps the room on: the sensors cannot say it
    is empty.
    """

    delay_minutes: float = 20.0

    def __call__(self, situation: Situation, plant: RoomPlant) -> Commands:
        idle = situation.idle_minutes
        recent = np.isnan(idle) | (idle < self.delay_minutes)
        reason = np.where(
            np.isnan(idle),
            "motion unknown: kept on",
            np.where(recent, "motion in the last 20 min", "no motion for 20 min"),
        )
        return _commands(plant, recent, recent, np.zeros(len(recent), bool), reason)


@dataclass(frozen=True)
class Prices:
    """What a kWh and a minute of an occupied room in the dark cost, per room kind (EUR).

    The forecast policy lights a room for the next bin when the forecast's expected dark
    minutes cost more than the bin's lighting energy. A kWh costs 0.30 EUR (a German
    commercial tariff). A dark minute was first priced 0.10 EUR in offices, open spaces and
    meeting rooms, 0.05 in kitchens and 0.02 in corridors and storage (a detector's instant
    switch-on is the usual remedy there); tuning on seed 7's building (``tuning.py``) scaled
    these by 0.17, the largest saving that met the comfort criteria there.
    """

    kwh_eur: float = 0.30
    dark_minute_eur: dict[str, float] = field(
        default_factory=lambda: {
            "office": 0.017,
            "open_space": 0.017,
            "meeting": 0.017,
            "kitchen": 0.0085,
            "corridor": 0.0034,
            "storage": 0.0034,
        }
    )
    default_dark_minute_eur: float = 0.017

    def light_cut(self, plant: RoomPlant, bin_minutes: int) -> np.ndarray:
        """Per room, the probability of occupancy above which lighting the bin pays."""
        energy_eur = plant.lighting_w * bin_minutes / 60 / 1000 * self.kwh_eur
        dark_eur = np.array(
            [self.dark_minute_eur.get(k, self.default_dark_minute_eur) for k in plant.kinds]
        )
        return energy_eur / (bin_minutes * dark_eur)


@dataclass(frozen=True)
class ForecastPolicy:
    """Per room, lights and HVAC from the forecast and the live motion.

    - Never off where somebody is there now (``Situation.present_now``): motion in the
      latest bin or, where the situation has one (live control), the occupancy estimate of
      that bin at least 0.5; the reason says which (``presence now``, motion; ``presence now
      (occupancy estimate)``, the estimate alone).
    - Lights: on for the bin when presence now or the forecast for the bin is at least the
      room's price cut (``Prices.light_cut``).
    - HVAC: ``comfort`` while lit or the bin is forecast occupied (probability >=
      ``threshold``); ``precondition`` when a bin within ``lead_bins`` is forecast occupied;
      ``setback`` when every bin of the lead time is forecast free with enough confidence
      (probability < ``threshold``). The setback band is bounded by what full power recovers
      within the lead time (from the room's recovery rate, which a controller learns from
      its rooms), so a room set back is back at comfort by a forecast arrival.
    - Without a forecast (no complete window, no model) the room falls back to reactive
      lights and the fixed schedule's HVAC, unless presence now keeps it lit and at comfort.
    """

    timezone: str
    threshold: float = 0.1
    lead_bins: int = 3
    prices: Prices = field(default_factory=Prices)
    # The fallback schedule's working days.
    holidays: HolidayCalendar = BERLIN

    def __call__(self, situation: Situation, plant: RoomPlant) -> Commands:
        p = situation.forecast[:, : self.lead_bins]
        known = ~np.isnan(p[:, 0])
        now = np.nan_to_num(p[:, 0])
        ahead = np.nan_to_num(np.nanmax(np.where(np.isnan(p), -1.0, p), axis=1), nan=0.0)
        present = situation.present_now()
        lights = present | (now >= self.prices.light_cut(plant, situation.bin_minutes))
        # A room lit for someone expected is kept at comfort too.
        comfort = lights | (now >= self.threshold)
        precondition = ~comfort & (ahead >= self.threshold)
        reason = np.where(
            present,
            np.where(situation.moving_now(), "presence now", "presence now (occupancy estimate)"),
            np.where(
                comfort,
                np.where(now >= self.threshold, "forecast occupied", "forecast may be occupied"),
                np.where(precondition, "forecast arrival within lead time", "forecast free"),
            ),
        )
        lead_h = self.lead_bins * situation.bin_minutes / 60
        heat_rate, cool_rate = plant.recovery_k_per_h()
        low_c, high_c = plant.params.comfort_band_c
        back_low, back_high = plant.params.setback_band_c
        setback = (
            np.maximum(back_low, low_c - heat_rate * lead_h),
            np.minimum(back_high, high_c + cool_rate * lead_h),
        )
        forecast = (np.where(known, now, np.nan), np.where(known, ahead, np.nan))
        commands = _commands(plant, lights, comfort, precondition, reason, forecast, setback)
        # Presence now decides without a forecast too: lit and at comfort, whatever the hour.
        decided = known | present
        if decided.all():
            return commands
        fallback_lights = Reactive()(situation, plant).lights
        fallback = FixedSchedule(self.timezone, holidays=self.holidays)(situation, plant)
        return Commands(
            lights=np.where(decided, commands.lights, fallback_lights),
            hvac_mode=np.where(decided, commands.hvac_mode, fallback.hvac_mode),
            band_low_c=np.where(decided, commands.band_low_c, fallback.band_low_c),
            band_high_c=np.where(decided, commands.band_high_c, fallback.band_high_c),
            reason=np.where(
                decided, commands.reason, "no forecast: reactive lights, schedule HVAC"
            ),
            forecast_now=commands.forecast_now,
            forecast_ahead=commands.forecast_ahead,
        )


@dataclass(frozen=True)
class Oracle:
    """Knows the truth: lights and comfort exactly while occupied, preconditioning by the time
    full power needs from the current temperature (plus ``margin_bins``), setback otherwise."""

    margin_bins: int = 1

    def __call__(self, situation: Situation, plant: RoomPlant) -> Commands:
        arrival = situation.minutes_to_arrival
        occupied = arrival < situation.bin_minutes
        heat_rate, cool_rate = plant.recovery_k_per_h()
        low_c, high_c = plant.params.comfort_band_c
        t = situation.temperature_c
        need_min = 60 * np.maximum((low_c - t) / heat_rate, (t - high_c) / cool_rate).clip(0)
        lead = need_min + (self.margin_bins + 1) * situation.bin_minutes
        precondition = ~occupied & (arrival <= lead)
        reason = np.where(
            occupied, "occupied (truth)", np.where(precondition, "arrival (truth)", "empty (truth)")
        )
        return _commands(plant, occupied, occupied, precondition, reason)
