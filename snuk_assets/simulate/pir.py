"""Passive-infrared motion sensors as real devices see people: seated people hardly move.

A PIR sees a person only while the person is in its field of view and moves. Each minute, each
sensor detects each person in view with a probability that depends on what the person does:
sitting at a desk or in a meeting (low), standing at the kitchen counter, walking in, out or
around (high). A sensor covers part of the room: a share of the seats (drawn once per run, since
desks and ceiling sensors stay put) for seated people and a larger area for walking ones. Like
the devices, a sensor reports ON at its first detection and OFF after ``HOLD_S`` seconds
without one (every detection restarts the hold), and only changes are reported.

Parameters, all fixed before any result was seen (also in ``PIR_PARAMETERS``):

==========================  =====  ===============================================================
parameter                   value  source
==========================  =====  ===============================================================
``SEATED_DETECT_PER_MIN``   0.045  issue 21's measurement on a public three-office dataset with a
                                   ceiling camera: the PIR saw about half of the camera's occupied
                                   15-min bins; a seated person in view, missed in a 15-min bin
                                   with probability 0.5, is seen in a minute with 1 - 0.5 ** (1/15)
``STANDING_DETECT_PER_MIN`` 0.3    assumption: people at a counter shift and reach, between the
                                   seated and walking cases
``WALKING_DETECT_PER_MIN``  0.95   PIR lenses are designed for walking across zones (datasheets'
                                   "walking" or "tangential" range); assumed near-sure
``SEATED_RANGE_M2``         20     assumption: ceiling PIR datasheets give a seated ("presence")
                                   range of about a quarter of the walking range
``WALKING_RANGE_M2``        80     assumption, as above (a circle about 10 m across)
``WALK_AROUND_PER_HOUR``    1.0    assumption: a seated person gets up within the room (printer,
                                   shelf, a colleague) about once an hour; leaving the room is in
                                   the truth itself
``HOLD_S``                  120    the low end of PIR occupancy hold times (datasheets: 1-30 min,
                                   adjustable), so the device pads the label little
``FALSE_TRIGGERS_PER_DAY``  0.3    kept from the former simulator (heat sources, sun on a wall)
==========================  =====  ===============================================================

People are placed independently of each other; a person who walks is in the walking range of a
sensor with probability ``WALKING_RANGE_M2 / area`` (at most 1) in that minute.
"""

from __future__ import annotations

import numpy as np

DAY_S = 86400
MINUTES = 1440
SEATED_DETECT_PER_MIN = 0.045
STANDING_DETECT_PER_MIN = 0.3
WALKING_DETECT_PER_MIN = 0.95
SEATED_RANGE_M2 = 20.0
WALKING_RANGE_M2 = 80.0
WALK_AROUND_PER_HOUR = 1.0
HOLD_S = 120
FALSE_TRIGGERS_PER_DAY = 0.3
# What the people present in a room of each kind do between arrivals and departures.
ACTIVITY_BY_KIND = {
    "office": "seated",
    "open_space": "seated",
    "meeting": "seated",
    "kitchen": "standing",
    "corridor": "walking",
    "storage": "walking",
}
DEFAULT_ACTIVITY = "standing"
DETECT_PER_MIN = {
    "seated": SEATED_DETECT_PER_MIN,
    "standing": STANDING_DETECT_PER_MIN,
    "walking": WALKING_DETECT_PER_MIN,
}
PIR_PARAMETERS = {
    "SEATED_DETECT_PER_MIN": SEATED_DETECT_PER_MIN,
    "STANDING_DETECT_PER_MIN": STANDING_DETECT_PER_MIN,
    "WALKING_DETECT_PER_MIN": WALKING_DETECT_PER_MIN,
    "SEATED_RANGE_M2": SEATED_RANGE_M2,
    "WALKING_RANGE_M2": WALKING_RANGE_M2,
    "WALK_AROUND_PER_HOUR": WALK_AROUND_PER_HOUR,
    "HOLD_S": HOLD_S,
    "FALSE_TRIGGERS_PER_DAY": FALSE_TRIGGERS_PER_DAY,
}


def seats_of(kind: str, area_m2: float) -> int:
    """Seats of a room: as many as the simulator's schedules put people in it."""
    if kind == "office":
        return max(1, round(area_m2 / 12.0))
    if kind == "open_space":
        return max(1, round(area_m2 / 18.0))
    if kind == "meeting":
        return max(2, int(area_m2 / 2.5))
    return 1


def seats_in_view(kind: str, area_m2: float, rng: np.random.Generator) -> float:
    """Share of a room's seats that one sensor sees, drawn once for the sensor's life."""
    seats = seats_of(kind, area_m2)
    return float(rng.binomial(seats, min(1.0, SEATED_RANGE_M2 / area_m2)) / seats)


def room_minutes(headcount: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """People present and people walking, per room (rows) and minute of the day (1440 columns).

    ``headcount`` is per room and second (86,400 columns). A person walks in the minute they
    enter or leave, and those present get up within the room at ``WALK_AROUND_PER_HOUR``.
    """
    n_rooms = headcount.shape[0]
    present = headcount.reshape(n_rooms, MINUTES, 60).mean(axis=2)
    changes = np.abs(np.diff(headcount.astype(np.int32), axis=1, prepend=headcount[:, :1]))
    crossing = changes.reshape(n_rooms, MINUTES, 60).sum(axis=2)
    walking_around = rng.poisson(present * WALK_AROUND_PER_HOUR / 60)
    return present, crossing + walking_around


def detection_probability(
    present: np.ndarray,
    walking: np.ndarray,
    *,
    activity: str,
    seated_view: float,
    area_m2: float,
) -> np.ndarray:
    """Probability per minute that one sensor detects somebody, from its room's minutes."""
    walk_view = min(1.0, WALKING_RANGE_M2 / area_m2)
    if activity == "seated":
        still = np.maximum(present - walking, 0) * seated_view
        miss = (1 - SEATED_DETECT_PER_MIN) ** still
    elif activity == "standing":
        miss = (1 - STANDING_DETECT_PER_MIN * walk_view) ** present
    else:  # everybody present walks
        miss = (1 - WALKING_DETECT_PER_MIN * walk_view) ** present
    miss = miss * (1 - WALKING_DETECT_PER_MIN * walk_view) ** walking
    return np.where(present > 0, 1 - miss, 0.0)


def pir_states(
    probability: np.ndarray, *, on_until_s: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Per-second ON state of one sensor over a day, and when its current ON ends.

    Parameters
    ----------
    probability : numpy.ndarray
        Detection probability of each minute of the day (1440 values).
    on_until_s : int
        Second of the day (may be negative) before which the sensor is still ON from the day
        before: its last detection plus ``HOLD_S``.

    Returns
    -------
    states : numpy.ndarray
        Bool per second (86,400): ON from a detection until ``HOLD_S`` seconds after the last.
    on_until_s : int
        Seconds after this day's start at which the last ON ends (carry to the next day by
        subtracting ``DAY_S``).
    """
    detected_minutes = np.flatnonzero(rng.random(MINUTES) < probability)
    seconds = detected_minutes * 60 + rng.integers(0, 60, len(detected_minutes))
    false_triggers = rng.integers(0, DAY_S, rng.poisson(FALSE_TRIGGERS_PER_DAY))
    seconds = np.sort(np.concatenate([seconds, false_triggers]))
    events = np.zeros(DAY_S + 1, dtype=np.int32)
    np.add.at(events, seconds + 1, 1)
    seen = np.cumsum(events)  # detections in [0, t]
    shifted = np.concatenate([np.zeros(HOLD_S, dtype=np.int32), seen[: DAY_S + 1 - HOLD_S]])
    states = (seen - shifted)[1:] > 0  # a detection in (t - HOLD_S, t]
    states |= np.arange(DAY_S) < on_until_s
    if len(seconds):
        on_until_s = max(on_until_s, int(seconds[-1]) + HOLD_S)
    return states, on_until_s
