"""Gateways: which rooms upload together, and when each upload reaches the landing zone.

Every gateway buffers four hours of observations and uploads them a few minutes after the
window closes, so the evening window arrives in the next UTC day's folder. Some uploads fail
and are retried a day or two later; a very few arrive more than three days late.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 4 * 3600
WINDOWS_PER_DAY = 24 * 3600 // WINDOW_S
N_GATEWAYS = 8
RETRY_SHARE = 0.03  # uploads retried 20-48 h later
LOST_SHARE = 0.004  # uploads that only get through after 3.5-6 days
TOO_LATE_DAYS = 3  # arrival day minus measurement day beyond which the pipeline quarantines


def gateway_of_rooms(n_rooms: int, n_gateways: int = N_GATEWAYS) -> np.ndarray:
    """Gateway index per room: neighbouring rooms (registry order) share a gateway."""
    return np.arange(n_rooms) * n_gateways // n_rooms


def gateway_name(index: int) -> str:
    """``gw01``, ``gw02``, ... as in the upload file names."""
    return f"gw{index + 1:02d}"


def upload_times_s(*, day_start_s: int, n_gateways: int, rng: np.random.Generator) -> np.ndarray:
    """Epoch second at which each gateway's upload of each window of the day arrives.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_gateways, WINDOWS_PER_DAY)``; window ``k`` covers
        ``[day_start_s + k * WINDOW_S, day_start_s + (k + 1) * WINDOW_S)``.
    """
    window_end_s = day_start_s + WINDOW_S * np.arange(1, WINDOWS_PER_DAY + 1)
    # Each gateway has its own slot a few minutes after the window, so files do not collide.
    slot_s = (
        120
        + 150 * np.arange(n_gateways)[:, None]
        + rng.integers(0, 90, (n_gateways, WINDOWS_PER_DAY))
    )
    fate = rng.random((n_gateways, WINDOWS_PER_DAY))
    retry_s = np.where(
        fate < LOST_SHARE,
        rng.uniform(3.5 * 86400, 6 * 86400, fate.shape),
        np.where(fate < LOST_SHARE + RETRY_SHARE, rng.uniform(20 * 3600, 48 * 3600, fate.shape), 0),
    )
    return window_end_s[None, :] + slot_s + retry_s.astype(np.int64)
