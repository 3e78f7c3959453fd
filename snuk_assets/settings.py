"""One settings resource: where the landing zone and the lakehouse are, and the pipeline's knobs.

Every field can be set from an environment variable (``environment.SETTINGS_VARIABLES`` maps
each field to its variable; the README's configuration table lists them all), read once where
definitions are built, so the same code runs on local folders with no cloud account or on S3.

``SNUK_START_DATE`` (first daily partition) and ``SNUK_MAX_LATENESS_DAYS`` also shape the asset
graph (``partitions.py``, at import): settings whose lateness disagrees with the graph's are
refused where definitions are built. A run that leaves this process (a spark-submit step)
carries the settings whole, as ``to_json``'s text. S3 access uses the standard AWS variables.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from collections.abc import Mapping

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field, model_validator

from snuk_assets.building_ids import DEFAULT_BUILDING
from snuk_assets.days import LOOKBACK_DAYS, MAX_ESTIMATE_HISTORY_DAYS, MAX_LATENESS_DAYS
from snuk_assets.environment import settings_values
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.landing import LandingZone
from snuk_assets.registry import (
    BuildingRegistry,
    default_registry_path,
    load_building_registry,
    load_registry,
    registry_files,
)
from snuk_assets.transforms.ingest.parse import DEFAULT_LIMITS, ParseLimits
from snuk_assets.transforms.resample.bins import (
    DEFAULT_FREQ,
    max_gap_with_defaults,
    positive_duration,
)


class SnukSettings(ConfigurableResource):
    """Where SNUK reads raw files and keeps its Delta tables, and the pipeline's parameters."""

    landing_uri: str = Field(
        default="./data/landing",
        description="Landing zone root: local folder or s3://bucket/prefix (SNUK_LANDING_URI).",
    )
    landing_queue_url: str = Field(
        default="",
        description="SQS queue that the landing bucket notifies on s3:ObjectCreated:* under "
        "raw_data/ (SNUK_LANDING_QUEUE_URL); empty: the sensor lists the recent day folders.",
    )
    landing_queue_wait_seconds: int = Field(
        default=10,
        ge=0,
        le=20,
        description="Long polling: how long a tick's first receive waits for a message (SQS "
        "allows 0-20 s).",
    )
    landing_queue_max_batches: int = Field(
        default=10,
        ge=1,
        description="At most this many receives of 10 messages per tick.",
    )
    landing_repair_interval_minutes: int = Field(
        default=60,
        ge=0,
        description="With a queue, how often the recent day folders are also listed, to find "
        "files whose events were lost.",
    )
    lakehouse_uri: str = Field(
        default="./data/lakehouse",
        description="Lakehouse root; each asset's Delta table is <root>/<asset name> "
        "(SNUK_LAKEHOUSE_URI).",
    )
    registry_path: str = Field(
        default="",
        description="Building registry YAML (SNUK_REGISTRY), the one building 'default'; empty "
        "means the reference office in resources/buildings/.",
    )
    registries_path: str = Field(
        default="",
        description="Folder of building registries, one YAML or Brick file per building named "
        "after its building_id (SNUK_REGISTRIES); set, it replaces registry_path.",
    )
    max_lateness_days: int = Field(
        default=MAX_LATENESS_DAYS,
        description="Observations measured more than this many days before their arrival day "
        "are quarantined (SNUK_MAX_LATENESS_DAYS).",
    )
    bin_freq: str = Field(default=DEFAULT_FREQ, description="Resampling bin width (SNUK_BIN_FREQ).")
    max_line_bytes: int = Field(
        default=DEFAULT_LIMITS.max_line_bytes,
        gt=0,
        description="A longer landing line is quarantined as too long, with its length and "
        "prefix (SNUK_MAX_LINE_BYTES).",
    )
    max_file_bytes: int = Field(
        default=DEFAULT_LIMITS.max_file_bytes,
        gt=0,
        description="At most this many bytes of a landing file are read, after decompression; "
        "the rest is one quarantine row (SNUK_MAX_FILE_BYTES).",
    )
    max_offline_share: float = Field(
        default=0.5,
        description="The resampled_series coverage check warns when a sensor is offline for "
        "more than this share of a day (SNUK_MAX_OFFLINE_SHARE).",
    )
    max_gap: dict[str, str] = Field(
        default={},
        description="Per sensor type, the longest silence before a sensor counts as offline, "
        'e.g. {"motion": "24h", "temperature": "30min"}; unset types keep the defaults '
        "(72 h for motion, a quiet weekend; 30 min for the others). SNUK_MAX_GAP: "
        '"motion=24h,temperature=30min".',
    )
    truth_dir: str = Field(
        default="./data/ground_truth",
        description="Folder of the simulator's occupancy_truth.parquet, which the control "
        "evaluation reads (SNUK_TRUTH_DIR).",
    )
    max_on: str = Field(
        default="12h",
        description="The longest motion ON holds without a report before the sensor counts as "
        "offline (a sensor that died while ON); raise it for sensors that stay ON while a room "
        "is in use and report only when it empties (SNUK_MAX_ON).",
    )
    building: str = Field(
        default="",
        description="The one building of a registries folder these settings are scoped to "
        "(``for_building``): its landing folder, registry and table rows. Set by the pipeline "
        "per (building, day) partition, never from the environment; empty outside a portfolio.",
    )
    estimate_history_days: int = Field(
        default=14,
        ge=0,
        le=MAX_ESTIMATE_HISTORY_DAYS,
        description="occupancy_estimate trains on the counter rooms' bins of a run's days and "
        "of up to this many days before them (SNUK_ESTIMATE_HISTORY_DAYS).",
    )

    @model_validator(mode="after")
    def _one_source_of_buildings(self) -> SnukSettings:
        if self.registry_path and self.registries_path:
            raise ValueError(
                f"both SNUK_REGISTRY ({self.registry_path}) and SNUK_REGISTRIES "
                f"({self.registries_path}) are set: keep one (a registry of SNUK_REGISTRY is "
                "the building 'default'; in a SNUK_REGISTRIES folder, name it default.yaml)"
            )
        return self

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
        return cls(**settings_values(environ))

    def values(self) -> dict[str, object]:
        """Every field's value, by field name (what ``to_json`` writes)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def to_json(self) -> str:
        """The settings whole, as JSON text: how they reach a process started elsewhere (a
        spark-submit step), so no field is dropped on the way (``from_json`` reads it)."""
        return json.dumps(self.values(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SnukSettings:
        """Settings from ``to_json``'s text (validated again, as when they were built)."""
        return cls(**json.loads(text))

    def replaced(self, **changes: object) -> SnukSettings:
        """A copy with ``changes`` (field name to value), validated."""
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"SnukSettings has no fields {unknown}")
        return type(self)(**{**self.values(), **changes})

    @property
    def max_lateness(self) -> dt.timedelta:
        return dt.timedelta(days=self.max_lateness_days)

    @property
    def parse_limits(self) -> ParseLimits:
        return ParseLimits(max_line_bytes=self.max_line_bytes, max_file_bytes=self.max_file_bytes)

    @property
    def max_gap_by_type(self) -> dict[str, pd.Timedelta]:
        return {sensor_type: pd.Timedelta(gap) for sensor_type, gap in self.max_gap.items()}

    def landing(self) -> LandingZone:
        return LandingZone.from_uri(self.landing_uri)

    def lakehouse(self) -> Lakehouse:
        """The lakehouse scoped to the deployment's building (``deployment_building_id``): the
        stages write and read its rows only, in tables partitioned by building and day."""
        return Lakehouse(self.lakehouse_uri, building_id=self.deployment_building_id())

    def registry_files(self) -> dict[str, pathlib.Path]:
        """Each building's registry file by building id: the ``registries_path`` folder's, or
        ``registry_path`` (the reference office if empty) as the one building ``default``."""
        if self.registries_path:
            return registry_files(self.registries_path)
        return {DEFAULT_BUILDING: pathlib.Path(self.registry_path or default_registry_path())}

    def building_ids(self) -> tuple[str, ...]:
        """The buildings of the portfolio, sorted."""
        return tuple(self.registry_files())

    def single_building_id(self) -> str:
        """The one building these settings are about, by its landing key: the scope of
        ``for_building``, a registries folder's only building, or ``default`` for
        ``SNUK_REGISTRY`` (whose tables' key is ``deployment_building_id``).

        Raises
        ------
        ValueError
            If the registries folder holds no building or several and no scope names one.
        """
        return self._single_building_of(self.registry_files())

    def table_building_ids(self) -> tuple[str, ...]:
        """The buildings as the tables (and the ``buildings`` partitions) name them, sorted:
        ``building_ids()``, but a ``SNUK_REGISTRY`` deployment's one building by its
        registry's own id (``snuk-reference-office``), not its landing layout's ``default``."""
        if self.registries_path:
            return self.building_ids()
        return (self.registry().building_id,)

    def deployment_building_id(self) -> str:
        """The ``building_id`` of the deployment's one building in the lakehouse's tables: its
        registry's own id. With ``SNUK_REGISTRY`` that is the registry's ``building_id:``
        (``snuk-reference-office``), the id ``sensors``, ``control_commands`` and the MQTT
        topics carry, while its landing files keep the layout of ``default``
        (``single_building_id``); in a registries folder the file name, which is the id.
        """
        if self.registries_path:
            return self.single_building_id()
        return self.registry().building_id

    def for_building(self, building_id: str) -> SnukSettings:
        """These settings scoped to one building of the registries folder: its landing folder,
        its registry and its rows of every table (``lakehouse()``). A ``SNUK_REGISTRY``
        deployment's one building is itself (its table id or its landing key ``default``)."""
        if not self.registries_path:
            if building_id not in (self.deployment_building_id(), DEFAULT_BUILDING):
                raise ValueError(
                    f"no building {building_id!r}: this deployment has one building, "
                    f"{self.deployment_building_id()} (SNUK_REGISTRY)"
                )
            return self
        if building_id not in self.registry_files():
            raise ValueError(
                f"no registry for building {building_id!r} in SNUK_REGISTRIES "
                f"{self.registries_path}: the buildings are {', '.join(self.building_ids())}"
            )
        return self.replaced(building=building_id)

    def each_building(self) -> list[tuple[str, SnukSettings]]:
        """Each building by its table id with its scoped settings (``for_building``), sorted:
        a portfolio's buildings, or the deployment's one (these settings)."""
        if not self.registries_path:
            return [(self.deployment_building_id(), self)]
        return [(building, self.for_building(building)) for building in self.building_ids()]

    def _single_building_of(self, files: Mapping[str, pathlib.Path]) -> str:
        if self.building:
            if self.building not in files:
                raise ValueError(
                    f"the settings' building {self.building!r} has no registry in "
                    f"SNUK_REGISTRIES {self.registries_path} (its file was removed?)"
                )
            return self.building
        building_ids = tuple(files)
        if len(building_ids) != 1:
            raise ValueError(
                f"SNUK_REGISTRIES {self.registries_path} holds {len(building_ids)} buildings "
                f"({', '.join(building_ids) or 'none'}): name one (SnukSettings.for_building); "
                "the stages run each building of their (building, day) partitions on its own"
            )
        return building_ids[0]

    def registry(self, building_id: str | None = None) -> BuildingRegistry:
        """The registry of ``building_id`` (default: ``single_building_id()``)."""
        files = self.registry_files()  # listed once: a registries folder is read per call
        building_id = building_id or self._single_building_of(files)
        if building_id not in files:
            raise ValueError(
                f"no registry for building {building_id!r}: the buildings are "
                f"{', '.join(files) or 'none'} ({self.registries_path or self.registry_path})"
            )
        if self.registries_path:
            return load_building_registry(files[building_id], building_id)
        return load_registry(files[building_id])
