"""One settings resource: where the landing zone and the lakehouse are, and the pipeline's knobs.

Defaults come from environment variables (read once, in ``definitions.py``), so the same code
runs on local folders with no cloud account or on S3:

==========================  ===================================  ================================
variable                    default                              meaning
==========================  ===================================  ================================
``SNUK_LANDING_URI``        ``./data/landing``                   raw files, folder or s3://b/p
``SNUK_LAKEHOUSE_URI``      ``./data/lakehouse``                 Delta tables, folder or s3://b/p
``SNUK_REGISTRY``           ``resources/buildings/reference_office.yaml``  building registry YAML
``SNUK_MAX_LATENESS_DAYS``  ``3``                                how late an observation may land
``SNUK_BIN_FREQ``           ``5min``                             resampling bin width
==========================  ===================================  ================================

``SNUK_START_DATE`` (first daily partition) lives in ``partitions.py``: partitions are fixed when
the asset graph is built. S3 access uses the standard AWS variables (``AWS_ENDPOINT_URL`` ...).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field, model_validator

from snuk_assets.lakehouse import Lakehouse
from snuk_assets.landing import LandingZone
from snuk_assets.partitions import LOOKBACK_DAYS, MAX_LATENESS_DAYS
from snuk_assets.registry import BuildingRegistry, default_registry_path, load_registry
from snuk_assets.transforms.resample.bins import max_gap_with_defaults, positive_duration


def _absolute(uri: str) -> str:
    # Runs launched from the UI start in other processes; pin relative folders to where the
    # settings were read so every process sees the same tables.
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())


class SnukSettings(ConfigurableResource):
    """Where SNUK reads raw files and keeps its Delta tables, and the pipeline's parameters."""

    landing_uri: str = Field(
        default="./data/landing",
        description="Landing zone root: local folder or s3://bucket/prefix (SNUK_LANDING_URI).",
    )
    lakehouse_uri: str = Field(
        default="./data/lakehouse",
        description="Lakehouse root; each asset's Delta table is <root>/<asset name> "
        "(SNUK_LAKEHOUSE_URI).",
    )
    registry_path: str = Field(
        default="",
        description="Building registry YAML (SNUK_REGISTRY); empty means the reference office "
        "in resources/buildings/.",
    )
    max_lateness_days: int = Field(
        default=3,
        description="Observations measured more than this many days before their arrival day "
        "are quarantined (SNUK_MAX_LATENESS_DAYS).",
    )
    bin_freq: str = Field(default="5min", description="Resampling bin width (SNUK_BIN_FREQ).")
    max_offline_share: float = Field(
        default=0.5,
        description="The resampled_series coverage check warns when a sensor is offline for "
        "more than this share of a day.",
    )
    max_gap: dict[str, str] = Field(
        default={},
        description="Per sensor type, the longest silence before a sensor counts as offline, "
        'e.g. {"motion": "24h", "temperature": "30min"}; unset types keep the defaults '
        "(72 h for motion, a quiet weekend; 30 min for the others).",
    )
    max_on: str = Field(
        default="12h",
        description="The longest motion ON holds without a report before the sensor counts as "
        "offline (a sensor that died while ON); raise it for sensors that stay ON while a room "
        "is in use and report only when it empties.",
    )

    @model_validator(mode="after")
    def _durations_fit_the_calendar(self) -> SnukSettings:
        """Refuse bad durations when the settings are built, not at the first resampling run.

        A ``max_gap`` longer than the ``LOOKBACK_DAYS`` that ``resampled_series`` reads before
        each day would make a day computed alone differ from the same day computed in a range.
        """
        pd.Timedelta(self.bin_freq)
        positive_duration(self.max_on, "max_on")
        gaps = max_gap_with_defaults(self.max_gap_by_type)  # unknown types, gaps <= 0
        lookback = pd.Timedelta(days=LOOKBACK_DAYS)
        too_long = {name: str(gap) for name, gap in gaps.items() if gap > lookback}
        if too_long:
            raise ValueError(
                f"max_gap {too_long} is longer than the {LOOKBACK_DAYS} days of observations "
                "resampled_series reads before each day (partitions.LOOKBACK_DAYS)"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SnukSettings:
        """Settings with every field taken from its environment variable, if set."""
        env = os.environ if environ is None else environ
        return cls(
            landing_uri=_absolute(env.get("SNUK_LANDING_URI", "./data/landing")),
            lakehouse_uri=_absolute(env.get("SNUK_LAKEHOUSE_URI", "./data/lakehouse")),
            registry_path=env.get("SNUK_REGISTRY", ""),
            max_lateness_days=MAX_LATENESS_DAYS,
            bin_freq=env.get("SNUK_BIN_FREQ", "5min"),
        )

    @property
    def max_lateness(self) -> dt.timedelta:
        return dt.timedelta(days=self.max_lateness_days)

    @property
    def max_gap_by_type(self) -> dict[str, pd.Timedelta]:
        return {sensor_type: pd.Timedelta(gap) for sensor_type, gap in self.max_gap.items()}

    def landing(self) -> LandingZone:
        return LandingZone.from_uri(self.landing_uri)

    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.lakehouse_uri)

    def registry(self) -> BuildingRegistry:
        return load_registry(self.registry_path or default_registry_path())
