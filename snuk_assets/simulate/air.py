"""Indoor CO2 from the room's mass balance, minute by minute.

``V dC/dt = n G + Q (C_out - C)``: ``n`` people each emit ``G`` of CO2 into the room's volume
``V``, and the ventilation ``Q`` replaces room air by outdoor air. Over one minute with constant
``n`` and ``Q`` the exact solution is used, so no step size matters. Parameters, fixed before
any result was seen:

===============================  ==========  ======================================================
parameter                        value       source
===============================  ==========  ======================================================
``CO2_PER_PERSON_L_S``           0.005       Persily & de Jonge, Indoor Air 27 (2017) 868-879:
                                             0.0052 l/s for an adult at 1.2 met (office work)
``OUTDOOR_PPM``                  420         NOAA global annual mean 2023: 419.3 ppm
``CEILING_HEIGHT_M``             2.8         assumption: office floor-to-ceiling 2.7-3.0 m; the
                                             registry gives the floor area, volume = area * height
``PER_PERSON_L_S``,              7, 0.7      EN 16798-1:2019 Annex B, category II, very low
``PER_M2_L_S``                               polluting building: design outdoor air per person
                                             and per m2 of floor
``VENTILATION_SPREAD``           0.3         assumption: each room's delivered air is the design
                                             rate times a log-normal factor (sigma 0.3; balancing,
                                             dampers), drawn once per run
``VENTILATION_HOURS``            6-20 h      assumption: the air handling runs 06:00-20:00 local
                                             time on working days
``INFILTRATION_ACH``             0.15        assumption: air changes per hour through the envelope
                                             while the ventilation is off (0.1-0.2 for modern
                                             offices)
``SENSOR_OFFSET_PPM``,           15, 5       Sensirion SCD30 datasheet: accuracy +-(30 ppm + 3 %),
``SENSOR_NOISE_PPM``                         repeatability +-10 ppm; a fixed offset per sensor and
                                             noise per reading inside those bounds
===============================  ==========  ======================================================
"""

from __future__ import annotations

import numpy as np

MINUTES = 1440
CO2_PER_PERSON_L_S = 0.005
OUTDOOR_PPM = 420.0
CEILING_HEIGHT_M = 2.8
PER_PERSON_L_S = 7.0
PER_M2_L_S = 0.7
VENTILATION_SPREAD = 0.3
VENTILATION_HOURS = (6, 20)
INFILTRATION_ACH = 0.15
SENSOR_OFFSET_PPM = 15.0
SENSOR_NOISE_PPM = 5.0


def design_ventilation_m3_s(area_m2: np.ndarray, seats: np.ndarray) -> np.ndarray:
    """EN 16798-1 category II design outdoor air of each room, m3/s."""
    return (PER_PERSON_L_S * seats + PER_M2_L_S * area_m2) / 1000.0


def room_co2(
    people_per_min: np.ndarray,
    *,
    area_m2: np.ndarray,
    ventilation_m3_s: np.ndarray,
    ventilation_on: np.ndarray,
    start_ppm: np.ndarray,
) -> np.ndarray:
    """CO2 (ppm) of each room (rows) at the end of each minute of a day (columns).

    Parameters
    ----------
    people_per_min : numpy.ndarray
        Mean headcount per room and minute.
    area_m2 : numpy.ndarray
        Floor area per room; the volume is ``area_m2 * CEILING_HEIGHT_M``.
    ventilation_m3_s : numpy.ndarray
        Outdoor air per room while the ventilation runs.
    ventilation_on : numpy.ndarray
        Bool per minute: the air handling runs (else infiltration only).
    start_ppm : numpy.ndarray
        Each room's CO2 at the day's start (the previous day's last value).
    """
    volume_m3 = area_m2 * CEILING_HEIGHT_M
    infiltration_m3_s = INFILTRATION_ACH * volume_m3 / 3600.0
    airflow = np.where(
        ventilation_on[None, :], ventilation_m3_s[:, None], infiltration_m3_s[:, None]
    )
    source_ppm_m3_s = people_per_min * CO2_PER_PERSON_L_S / 1000.0 * 1e6
    equilibrium = OUTDOOR_PPM + source_ppm_m3_s / airflow
    decay = np.exp(-airflow * 60.0 / volume_m3[:, None])
    co2 = np.empty_like(people_per_min, dtype=float)
    level = np.asarray(start_ppm, dtype=float)
    for minute in range(people_per_min.shape[1]):
        level = equilibrium[:, minute] + (level - equilibrium[:, minute]) * decay[:, minute]
        co2[:, minute] = level
    return co2
