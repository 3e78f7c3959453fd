"""The live step under Spark Structured Streaming, for portfolios of buildings' gateway files.

landing zone ``raw_data/**`` -> Spark's built-in ``binaryFile`` file source (every folder below,
at most ``max_files_per_trigger`` new files a micro-batch, oldest first) -> ``foreachBatch``:
the batch's file paths -> read and validated with the batch ingest (``read_gateway_file``, as
the live service follows files) -> per building -> ``live_step`` on that building's event clock
-> ``live_room_forecasts`` (the service's ``ForecastTable``).

The work of a micro-batch runs on the driver: Spark lists the files and remembers in its
checkpoint which it gave to a batch; the driver reads them (they are small), steps and writes.
The live states stay on the driver between micro-batches and are saved beside Spark's checkpoint
after each one, so a query restarted from the checkpoint reads no file twice and resumes its
open bins where it stopped. Each append to the table records its micro-batch as a Delta
application transaction (Delta's idempotent writes), so a batch Spark runs again after a crash
between the append and the commit is not appended twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.exceptions import TableNotFoundError

from snuk_assets.landing import RAW_DATA_DIR, LandingZone
from snuk_assets.live.outputs import ForecastTable, forecast_table
from snuk_assets.live.service import EventClock, read_landed_files
from snuk_assets.live.step import (
    DEFAULT_DELAY,
    BuildingConfig,
    BuildingState,
    building_config,
    live_step,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = logging.getLogger("snuk.live.streaming")
STATE_DIR = "snuk_live_state"  # in the checkpoint folder, beside Spark's offsets and commits
KEEP_STATES = 2
# The binaryFile source's columns; a streaming source is never inferred, so it is spelled out.
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"


def source_uri(landing: LandingZone) -> str:
    """Where the file source looks: the landing zone's ``raw_data/`` (S3 through ``s3a``)."""
    location = landing.location
    if location.is_s3:
        return f"s3a://{location.bucket}/{location.key(RAW_DATA_DIR)}"
    return Path(location.key(RAW_DATA_DIR)).as_uri()


def landing_path(spark_path: str, landing: LandingZone) -> str:
    """The landing zone's relative path (``raw_data/YYYY/MM/DD/name``) of a file Spark listed.

    Spark names files by URI (``file:/tmp/x/raw_data/...``, ``s3a://bucket/key``).
    """
    root = re.sub(r"^[a-z0-9]+:(//[^/]*)?", "", source_uri(landing))
    path = re.sub(r"^[a-z0-9]+:(//[^/]*)?", "", spark_path)
    if not path.startswith(root + "/"):
        raise ValueError(f"{spark_path} is not below the landing zone's {source_uri(landing)}")
    return f"{RAW_DATA_DIR}/{path[len(root) + 1 :]}"


@dataclass
class LiveStream:
    """A streaming query's ``foreachBatch``: the live step per building, every micro-batch.

    Parameters
    ----------
    settings : SnukSettings
        The landing zone read, the lakehouse written, the registry's building and its models.
    checkpoint : str
        A local folder: Spark's checkpoint, and the live states saved after each batch.
    max_files_per_trigger : int
        New landing files per micro-batch at most.
    """

    settings: object  # SnukSettings
    checkpoint: str
    max_files_per_trigger: int = 100
    delay: pd.Timedelta = DEFAULT_DELAY
    write_table: bool = True
    on_report: Callable | None = None  # called with (building_id, delta_version, rows, latest_bin)
    files_read: list[str] = field(default_factory=list)  # by this process, in order

    def __post_init__(self) -> None:
        self.landing = self.settings.landing()
        self.table = ForecastTable(self.settings.lakehouse())
        self.configs: dict[str, BuildingConfig] = {}
        self._config_days: dict[str, dt.date] = {}
        self._appended: dict[str, int | None] = {}  # per building: its last batch in the table
        self.states: dict[str, BuildingState] = {}
        self.clocks: dict[str, EventClock] = {}
        self.last_batch = -1
        self._restore()

    def start(self, spark: SparkSession, *, trigger: dict | None = None) -> StreamingQuery:
        """Start the query (``trigger``: ``DataStreamWriter.trigger``'s keywords; default: a
        micro-batch as soon as the previous one is done)."""
        files = (
            spark.readStream.format("binaryFile")
            .schema(BINARY_FILE_SCHEMA)
            .option("recursiveFileLookup", "true")
            .option("maxFilesPerTrigger", str(self.max_files_per_trigger))
            .load(source_uri(self.landing))
            .select("path")  # the driver reads the files itself: Spark never loads the bytes
        )
        writer = (
            files.writeStream.foreachBatch(self.process_batch)
            .option("checkpointLocation", self.checkpoint)
            .queryName("snuk_live_stream")
        )
        if trigger:
            writer = writer.trigger(**trigger)
        return writer.start()

    def process_batch(self, files: DataFrame, batch_id: int) -> None:
        """One micro-batch: its files -> observations per building -> a live step each."""
        if batch_id <= self.last_batch:
            # Spark runs a batch again when it stopped before committing it; its outputs are
            # written and its state saved already.
            log.info("batch %d was done before the restart", batch_id)
            return
        paths = sorted(landing_path(row.path, self.landing) for row in files.collect())
        for building_id, observations in self._by_building(paths).items():
            if observations.num_rows == 0:
                continue  # every row refused: the event clock does not move, no bin closes
            clock = self.clocks.setdefault(building_id, EventClock())
            clock.observe({building_id: observations})
            self._step(building_id, observations, clock.now(), batch_id)
        self.files_read += paths
        self.last_batch = batch_id
        self._save()

    def _by_building(self, paths: list[str]) -> dict[str, pa.Table]:
        """The files' kept observations per building, the registry read once per batch."""
        catalog = self.settings.registry().catalog()
        return read_landed_files(self.landing, paths, self.settings, catalog)[0]

    def _step(
        self, building_id: str, observations: pa.Table, now: pd.Timestamp, batch_id: int
    ) -> None:
        config = self._config(building_id, now)
        result = live_step(self.states.get(building_id, BuildingState()), observations, now, config)
        self.states[building_id] = result.state
        if result.room_states.empty:
            return
        version = None
        if (
            self.write_table
            and len(result.forecasts)
            and not self._appended_before(building_id, batch_id)
        ):
            batch = Transaction(app_id=self._app_id(building_id), version=batch_id)
            version = self.table.append(
                forecast_table(result, now),
                commit_properties=CommitProperties(app_transactions=[batch]),
            )
            self._appended[building_id] = batch_id
        if self.on_report is not None:
            latest = result.room_states["bin_start"].max()
            self.on_report(building_id, version, len(result.forecasts), latest)

    def _appended_before(self, building_id: str, batch_id: int) -> bool:
        """Whether the table has this batch's rows of the building already (only the first
        batch after a restart can: the table's transactions are read once per building)."""
        if building_id not in self._appended:
            try:
                delta = DeltaTable(
                    self.table.uri, storage_options=self.table.lakehouse.storage_options
                )
                self._appended[building_id] = delta.transaction_version(self._app_id(building_id))
            except TableNotFoundError:
                self._appended[building_id] = None
        appended = self._appended[building_id]
        return appended is not None and batch_id <= appended

    def _app_id(self, building_id: str) -> str:
        """The Delta application id of a building's appends from this query (its checkpoint)."""
        return f"snuk-live-stream:{Path(self.checkpoint).resolve()}:{building_id}"

    def _config(self, building_id: str, now: pd.Timestamp) -> BuildingConfig:
        """The building's models in force on the event clock's day (as the service picks them)."""
        if self._config_days.get(building_id) != now.date():
            self.configs[building_id] = building_config(self.settings, now.date(), delay=self.delay)
            self._config_days[building_id] = now.date()
        return self.configs[building_id]

    # -- the driver's state, beside the checkpoint ------------------------------------------
    def _state_dir(self) -> Path:
        return Path(self.checkpoint) / STATE_DIR

    def _save(self) -> None:
        folder = self._state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        saved = {
            "batch_id": self.last_batch,
            "states": self.states,
            "clocks": {b: c.when for b, c in self.clocks.items()},
        }
        path = folder / f"{self.last_batch}.pickle"
        tmp = folder / f".{self.last_batch}.pickle.partial"
        tmp.write_bytes(pickle.dumps(saved))
        os.replace(tmp, path)  # whole or not at all
        for old in sorted(folder.glob("*.pickle"), key=lambda p: int(p.stem))[:-KEEP_STATES]:
            old.unlink()

    def _restore(self) -> None:
        saved = sorted(self._state_dir().glob("*.pickle"), key=lambda p: int(p.stem))
        if not saved:
            return
        # Written by this class into its own checkpoint folder, never from outside.
        state = pickle.loads(saved[-1].read_bytes())  # noqa: S301
        self.last_batch = state["batch_id"]
        self.states = state["states"]
        self.clocks = {b: EventClock(when) for b, when in state["clocks"].items()}
        log.info("resuming after batch %d from %s", self.last_batch, saved[-1])
