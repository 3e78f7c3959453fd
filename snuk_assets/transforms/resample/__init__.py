"""Resample: each sensor's irregular observations to regular, exact, gap-aware bins.

``arrivals`` resolves redeliveries (the latest arrival wins), ``sorted_input`` orders the
observations per sensor, ``exact`` holds the numeric kernels and ``bins`` the entry point,
``resample_observations``.
"""

from snuk_assets.transforms.resample.bins import (
    DEFAULT_FREQ,
    DEFAULT_MAX_GAP,
    DEFAULT_MAX_ON,
    STATUSES,
    resample_observations,
)

__all__ = ["DEFAULT_FREQ", "DEFAULT_MAX_GAP", "DEFAULT_MAX_ON", "STATUSES", "resample_observations"]
