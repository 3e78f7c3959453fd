"""The live service: MQTT in, the live step every tick, every closed bin out.

One process: paho-mqtt's network thread queues messages (QoS 1, persistent session, manual
acknowledgement); the main loop archives each batch (``ingest.Archive``), acknowledges it, runs
the live step for every building and publishes what closed (``outputs``) and the forecast
policy's commands for the next bin (``control``: dry-run unless told); uvicorn serves the HTTP
API from a thread. Neither control nor the ``live_room_forecasts`` table can stop the loop: a
failed bin of commands is logged and counted (``live/control.py``), a failed table append is
logged and counted and its rows written with the next append, while MQTT and the API go on
serving from memory. Stop it with SIGINT or SIGTERM; killed with SIGKILL, nothing the broker
delivered is lost (unacknowledged messages are redelivered) and nothing is archived twice.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.control.safety import Actuation
from snuk_assets.environment import (
    DEFAULT_LIVE_CONTROL,
    DEFAULT_MAX_SWITCHES_PER_HOUR,
    LIVE_CONTROL_MODES,
    live_crash_after_files,
)
from snuk_assets.live.aggregates import room_workplaces
from snuk_assets.live.broker import (  # noqa: F401 (MqttConnection, parse_broker re-exported)
    MqttConnection,
    parse_broker,
    persistent_session,
)
from snuk_assets.live.control import OUTCOMES, LiveControl, mqtt_publisher
from snuk_assets.live.ingest import ARCHIVE_PREFIX, SENSOR_TOPICS, Archive, Message
from snuk_assets.live.outputs import (
    TABLE,
    ForecastTable,
    LiveView,
    forecast_table,
    mqtt_payloads,
    room_states,
)
from snuk_assets.live.step import (
    OBSERVATION_SCHEMA,
    BuildingConfig,
    BuildingState,
    building_config,
    live_step,
)

if TYPE_CHECKING:
    from snuk_assets.sensor_types import SensorCatalog
    from snuk_assets.transforms.ingest.validate import ValidationResult

log = logging.getLogger("snuk.live")
BATCH_MAX = 5000  # messages archived per file at most
TICK_S = 0.2
FOLLOW_S = 5.0  # how often the landing zone is listed for gateways' uploaded files
# Appends of live_room_forecasts kept for a retry while the table cannot be written: a day's
# bins; older ones are dropped, logged (the batch's occupancy_forecasts can be recomputed).
UNWRITTEN_MAX = 288


def parse_http(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, loopback) for the HTTP API."""
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def read_gateway_file(
    landing, path: str, settings, catalog: SensorCatalog | None = None
) -> tuple[pa.Table, ValidationResult]:
    """One landing file's observations, read and validated as ``raw_observations`` does, with
    the registry's sensor types (``catalog``: the settings' registry's when not given).

    Returns the kept rows as the live step takes them (``OBSERVATION_SCHEMA``) and the
    validation result (its counts); the quarantined rows are left to the batch run.
    """
    from snuk_assets.landing import arrival_day_of
    from snuk_assets.stages.ingest import read_and_parse
    from snuk_assets.transforms.ingest.validate import validate_observations

    parsed, _records = read_and_parse(landing, path, settings.parse_limits)
    result = validate_observations(
        parsed,
        arrival_day=arrival_day_of(path),
        max_lateness=settings.max_lateness,
        catalog=catalog if catalog is not None else settings.registry().catalog(),
    )
    return result.kept.select(OBSERVATION_SCHEMA.names).cast(OBSERVATION_SCHEMA), result


def read_landed_files(
    landing, paths: list[str], settings, catalog: SensorCatalog, *, verb: str = "read"
) -> tuple[dict[str, pa.Table], int]:
    """Landing files' kept observations per building (``read_gateway_file`` each, one log line
    a file: "<verb> <path>: ..."), and how many rows were kept.

    Every file is the deployment's one building's today; with a portfolio (issue 22) the
    landing folder says whose it is, here, for the service and the streaming job alike.
    """
    tables = []
    for path in paths:
        kept, result = read_gateway_file(landing, path, settings, catalog)
        tables.append(kept)
        log.info(
            "%s %s: %d observations kept, %d quarantined",
            verb,
            path,
            result.rows_kept,
            result.rows_quarantined,
        )
    if not tables:
        return {}, 0
    observations = pa.concat_tables(tables)
    return {settings.registry().building_id: observations}, observations.num_rows


class Clock:
    """Real time; ``ReplayClock`` runs from a start at N times real time."""

    def now(self) -> pd.Timestamp:
        return pd.Timestamp.now(tz="UTC")


@dataclass
class SetClock(Clock):
    """A clock that says what it was last set to (tests, and replays driven step by step)."""

    when: pd.Timestamp

    def now(self) -> pd.Timestamp:
        return self.when


@dataclass
class EventClock(Clock):
    """Event time: the newest measurement seen (for replays as fast as the service goes)."""

    when: pd.Timestamp = pd.Timestamp(0, tz="UTC")

    def now(self) -> pd.Timestamp:
        return self.when

    def stamp(self, messages: list[Message], measured: list[int | None]) -> list[Message]:
        """In event time a message arrives at its own measurement when that is later than the
        clock: the arrival day then follows the events, so the first message after midnight
        is not refused as measured after its arrival day (and the clock can pass midnight)."""
        now_ms = self.when.value // 1_000_000
        return [
            dataclasses.replace(message, arrival_ms=max(now_ms, ms, message.arrival_ms))
            if ms is not None
            else message
            for message, ms in zip(messages, measured, strict=True)
        ]

    def observe(self, observations: dict) -> None:
        for table in observations.values():
            if table.num_rows:
                newest = pd.Timestamp(pc.max(table["ts"]).as_py())
                self.when = max(self.when, newest)


@dataclass
class ReplayClock(Clock):
    start: pd.Timestamp
    speed: float
    wall0: float = field(default_factory=time.monotonic)

    def now(self) -> pd.Timestamp:
        elapsed = (time.monotonic() - self.wall0) * self.speed
        return self.start + pd.Timedelta(seconds=elapsed)


@dataclass
class LiveService:
    settings: object  # SnukSettings
    broker: tuple[str, int]
    client_id: str = "snuk-live"
    clock: Clock = field(default_factory=Clock)
    view: LiveView = field(default_factory=LiveView)
    delay: pd.Timedelta = pd.Timedelta(seconds=30)
    flush: pd.Timedelta = pd.Timedelta(seconds=10)  # archive a file at most this often
    write_table: bool = True
    on_report: object = None  # called with (building_id, delta_version, rows, latest_bin)
    # Credentials and TLS (SNUK_MQTT_*); anonymous and plain by default, as on a dev broker.
    connection: MqttConnection = field(default_factory=MqttConnection)
    # What the forecast policy's decisions do (``live/control.py``): ``off``, ``dry-run``
    # (audited, nothing sent) or ``actuate`` (sent to admin-enabled rooms, within the cap).
    control: str = DEFAULT_LIVE_CONTROL
    max_switches_per_hour: int = DEFAULT_MAX_SWITCHES_PER_HOUR

    def __post_init__(self) -> None:
        self._queue: queue.Queue[Message] = queue.Queue()
        self._pending: list[Message] = []
        self._pending_since = time.monotonic()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self.configs: dict[str, BuildingConfig] = {}
        self.states: dict[str, BuildingState] = {}
        self._config_day: dt.date | None = None
        self._crash_after = live_crash_after_files()
        registry = self.settings.registry()
        self.view.add_building(
            registry.building_id,
            dict(zip(registry.rooms["room_id"], registry.rooms["floor"].astype(int), strict=True)),
            dict(zip(registry.rooms["room_id"], registry.rooms["name"], strict=True)),
        )
        self.view.workplaces[registry.building_id] = room_workplaces(registry.rooms)
        # Which rooms an admin enabled for actuation (the API's admin endpoints change it).
        self.actuation = {
            registry.building_id: Actuation(self.settings.lakehouse(), registry.building_id)
        }
        if self.control not in LIVE_CONTROL_MODES:
            raise ValueError(f"control {self.control!r} is not one of {LIVE_CONTROL_MODES}")
        self.controls: dict[str, LiveControl] = {}
        if self.control != "off":
            self.controls[registry.building_id] = LiveControl.for_building(
                registry,
                self.settings.lakehouse(),
                actuation=self.actuation[registry.building_id],
                freq=self.settings.bin_freq,
                actuate=self.control == "actuate",
                max_switches_per_hour=self.max_switches_per_hour,
                now=self.clock.now(),
                issued_by=self.client_id,
            )
        self.archive = Archive(
            self.settings.landing(),
            name=self.client_id,
            known_buildings=frozenset([registry.building_id]),
            known_sensor_ids=registry.sensor_ids(),
            catalog=registry.catalog(),
            max_lateness=self.settings.max_lateness,
        )
        self.table = ForecastTable(self.settings.lakehouse())
        if self.on_report is None:
            from snuk_assets.live.dagster_assets import Reporter

            self.on_report = Reporter(self.table.uri)
        self._seen_files = self._landing_files(self.clock.now().date())  # there before the start
        self._followed_at = 0.0
        self.stats = {
            "steps": 0,
            "bins_closed": 0,
            "published": 0,
            "latency_s": [],
            "files_followed": 0,
            "observations_followed": 0,
            "forecast_table_failures": 0,
            "forecast_rows_dropped": 0,
        }
        self._unwritten: list[pa.Table] = []  # forecast rows a failed append left for the next

    # -- MQTT ----------------------------------------------------------------------------
    def _client(self):
        # MQTT 5, for the commands' message expiry (live/control.py: mqtt_publisher); the
        # session persists (broker.persistent_session, at connect): the broker queues while we
        # are down.
        client = self.connection.client(
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,  # acknowledged only once archived
        )
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)

        def on_connect(client, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                log.error("broker refused the connection: %s", reason_code)
                return
            client.subscribe(SENSOR_TOPICS, qos=1)
            self._connected.set()

        def on_message(client, userdata, msg):
            arrival = self.clock.now()
            self._queue.put(Message(msg.topic, msg.payload, arrival.value // 1_000_000, msg.mid))

        client.on_connect = on_connect
        client.on_message = on_message
        return client

    def health(self) -> dict:
        """Counts and latencies for /health."""
        latency = sorted(self.stats["latency_s"])

        def pct(q: float):
            return round(latency[int(q * (len(latency) - 1))], 4) if latency else None

        return {
            "ingest": self.archive.counts.as_dict(),
            "steps": self.stats["steps"],
            "bins_closed": self.stats["bins_closed"],
            "published": self.stats["published"],
            "files_followed": self.stats["files_followed"],
            "observations_followed": self.stats["observations_followed"],
            "forecast_table": {
                "failures": self.stats["forecast_table_failures"],
                "rows_unwritten": sum(t.num_rows for t in self._unwritten),
                "rows_dropped": self.stats["forecast_rows_dropped"],
            },
            "control": self.control,
            "commands": self.command_counts(),
            "latency_p50_s": pct(0.5),
            "latency_p95_s": pct(0.95),
            "clock": self.clock.now().isoformat(),
        }

    def command_counts(self) -> dict[str, int]:
        """Every building's commands by outcome (``live.control.OUTCOMES``), rooms x bins."""
        total = collections.Counter(dict.fromkeys(OUTCOMES, 0))
        for control in self.controls.values():
            total.update(control.counts)
        return {outcome: total[outcome] for outcome in OUTCOMES}

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Until ``stop()`` (or SIGINT/SIGTERM in the main thread)."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stop())
        client = self._client()
        host, port = self.broker
        client.connect(host, port, keepalive=30, **persistent_session())
        client.loop_start()
        self.client = client
        try:
            while not self._stop.is_set():
                self.tick(client)
        finally:
            client.loop_stop()
            client.disconnect()

    def _drain(self) -> list[Message]:
        """The messages to archive now: every ``flush`` of clock time (a real clock's 10 s is
        a file per 10 s, not one per tick), or ``BATCH_MAX`` of them, whichever comes first."""
        try:
            self._pending.append(self._queue.get(timeout=TICK_S))
            while len(self._pending) < BATCH_MAX:
                self._pending.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        if not self._pending:
            return []
        speed = getattr(self.clock, "speed", None)
        wait_s = self.flush.total_seconds() / speed if speed else 0.0
        if len(self._pending) < BATCH_MAX and time.monotonic() - self._pending_since < wait_s:
            return []
        messages, self._pending = self._pending, []
        self._pending_since = time.monotonic()
        return messages

    def tick(self, client) -> None:
        messages = self._drain()
        observations = {}
        if messages and isinstance(self.clock, EventClock):
            messages = self.clock.stamp(messages, self.archive.measured_ms(messages))
        if messages:
            batch = self.archive.ingest(messages)
            if self.archive.counts.files >= self._crash_after > 0:
                # Crash injection for the restart test: archived, not yet acknowledged.
                os.kill(os.getpid(), signal.SIGKILL)
            for message in messages:  # only now: every message is in the landing zone
                client.ack(message.mid, 1)
            observations = batch.observations
            if isinstance(self.clock, EventClock):
                self.clock.observe(observations)
        for building_id, table in self.follow_files().items():
            if building_id in observations:
                table = pa.concat_tables([observations[building_id], table])
            observations = {**observations, building_id: table}
        now = self.clock.now()
        self._refresh_configs(now.date())
        for building_id, config in self.configs.items():
            result = live_step(
                self.states.get(building_id, BuildingState()),
                observations.get(building_id),
                now,
                config,
            )
            self.states[building_id] = result.state
            self.stats["steps"] += 1
            if not result.room_states.empty:
                self._publish(client, building_id, result, now)

    # -- files too -------------------------------------------------------------------------
    def _landing_files(self, day: dt.date) -> set[str]:
        """Today's and yesterday's gateway files (not this service's MQTT archive)."""
        landing = self.settings.landing()
        paths = set()
        for d in (day - dt.timedelta(days=1), day):
            try:
                files = landing.list_day(d)
            except Exception:  # the landing zone does not exist yet
                files = []
            paths |= {
                f.path for f in files if not f.path.rsplit("/", 1)[-1].startswith(ARCHIVE_PREFIX)
            }
        return paths

    def follow_files(self, force: bool = False) -> dict[str, pa.Table]:
        """Observations of gateway files that landed since the last look (every FOLLOW_S).

        Read and validated as ``raw_observations`` does; they are in the landing zone already,
        so nothing is archived. Files there before the service started are left to the batch.
        """
        if not force and time.monotonic() - self._followed_at < FOLLOW_S:
            return {}
        self._followed_at = time.monotonic()
        new = sorted(self._landing_files(self.clock.now().date()) - self._seen_files)
        observations, kept = read_landed_files(
            self.settings.landing(), new, self.settings, self.archive.catalog, verb="followed"
        )
        self._seen_files.update(new)
        self.stats["files_followed"] += len(new)
        self.stats["observations_followed"] += kept
        return observations

    def _refresh_configs(self, day: dt.date) -> None:
        if day == self._config_day:
            return
        config = building_config(self.settings, day, delay=self.delay)
        self.configs[config.building_id] = config
        self._config_day = day
        log.info("models for %s: %d rooms", day, len(config.models))

    def _publish(self, client, building_id: str, result, now: pd.Timestamp) -> None:
        states = room_states(result)
        self.view.update(building_id, states)
        for topic, payload in mqtt_payloads(building_id, states):
            client.publish(topic, payload, qos=1, retain=True)
        if building_id in self.controls:  # the next bin's commands: audited, then sent if allowed
            self.controls[building_id].decide(result, now, mqtt_publisher(client))  # never raises
        version = self._append_forecasts(building_id, result, now)
        latest = result.room_states["bin_start"].max()
        bins = result.room_states["bin_start"].nunique()
        self.stats["bins_closed"] += bins
        self.stats["published"] += 1
        # latency: from the bin's close (its end + the allowed delay) to published, in wall
        # seconds (a replay clock's seconds divided by its speed; none in event time)
        speed = getattr(self.clock, "speed", None if isinstance(self.clock, EventClock) else 1)
        if speed and bins == 1:  # steady state: a backlog closing many bins is not latency
            close = latest + pd.Timedelta(self.configs[building_id].freq) + self.delay
            wall = (self.clock.now() - close).total_seconds() / speed
            self.stats["latency_s"] = [*self.stats["latency_s"][-9_999:], wall]
        if self.on_report is not None:
            self.on_report(building_id, version, len(result.forecasts), latest)

    def _append_forecasts(self, building_id: str, result, now: pd.Timestamp) -> int | None:
        """Append the step's forecast rows to ``live_room_forecasts``; its Delta version.

        A failed append does not stop the service: the table records what was published, it
        is not where MQTT or the API read from. It is logged and counted (``/health``), and
        its rows are written with the next append that succeeds (a day's at most)."""
        if not self.write_table or not len(result.forecasts):
            return None
        self._unwritten.append(forecast_table(result, now))
        if len(self._unwritten) > UNWRITTEN_MAX:
            dropped = self._unwritten.pop(0)
            self.stats["forecast_rows_dropped"] += dropped.num_rows
            log.error("%s: %d unwritten forecast rows dropped", TABLE, dropped.num_rows)
        rows = pa.concat_tables(self._unwritten)
        try:
            version = self.table.append(rows)
        except Exception:
            self.stats["forecast_table_failures"] += 1
            log.exception(
                "%s at %s: appending %d rows (building %s, bins up to %s) failed; kept for the "
                "next append, MQTT and the API go on",
                TABLE,
                self.table.uri,
                rows.num_rows,
                building_id,
                result.room_states["bin_start"].max().isoformat(),
            )
            return None
        self._unwritten = []
        return version
