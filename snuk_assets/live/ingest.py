"""MQTT messages to validated observations, archived in the landing zone exactly once.

A message on ``snuk/<building_id>/sensors/<sensor_id>`` carries ``{"timestamp": <ms>, "value":
<number>}`` or one gateway line. Each is turned into one landing-format line and run through the
batch ingest's own parser and validator (``parse_landing_file``, ``validate_observations``) with
the arrival day and the building registry's sensor types (``Archive.catalog``), so the live
service accepts and refuses exactly what the batch pipeline would.

Archive and acknowledgement (QoS 1, manual acks): a batch of messages is written first (one small
JSON-lines file in the arrival day's ``raw_data`` folder for the accepted ones, one in
``quarantine/live/`` for the refused ones, each with its reason), and only then acknowledged.
Killed between the two, the broker redelivers the batch to the persistent session; the archive
remembers the keys of its most recent files (``(sensor_id, timestamp, value)`` for an
observation, a digest of topic and payload for a refused message) and reads them back on start,
so a redelivered message is acknowledged without being archived again. Files are written
atomically (``LandingZone.write_bytes``: a hidden partial file renamed into place).
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

import pyarrow as pa

from snuk_assets.landing import LandingZone, day_folder
from snuk_assets.live.step import OBSERVATION_SCHEMA
from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.transforms.ingest.parse import PARSED_SCHEMA, parse_landing_file
from snuk_assets.transforms.ingest.validate import validate_observations

TOPIC_RE = re.compile(r"^snuk/(?P<building>[^/]+)/sensors/(?P<sensor>[^/]+)$")
SENSOR_TOPICS = "snuk/+/sensors/+"
QUARANTINE_DIR = "quarantine/live"
# Archive files are named mqtt-<client id>-<arrival ms>-<sequence>.jsonl; the file follower
# (service.py) leaves them alone, since their observations came in over MQTT.
ARCHIVE_PREFIX = "mqtt-"
# How many recent archive files are remembered (and read back on start) to drop redeliveries:
# the broker redelivers only what was not acknowledged, i.e. the last batch or two.
RECENT_FILES = 16


@dataclass(frozen=True)
class Message:
    """One MQTT message as received: ``mid`` for the acknowledgement."""

    topic: str
    payload: bytes
    arrival_ms: int
    mid: int = 0


@dataclass
class IngestCounts:
    """Messages received = accepted + quarantined + redelivered (already archived)."""

    received: int = 0
    accepted: int = 0
    quarantined: int = 0
    redelivered: int = 0
    files: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class IngestBatch:
    """What one batch of messages became."""

    observations: dict[str, pa.Table]  # building_id -> OBSERVATION_SCHEMA rows
    quarantined: list[dict]
    redelivered: int
    files: list[str]


def message_line(message: Message) -> tuple[str | None, str, str | None]:
    """``(building_id, landing line, reason)``: the line in the batch ingest's format, and why
    the message is refused before parsing (bad topic, payload not a JSON object or a line)."""
    match = TOPIC_RE.match(message.topic)
    try:
        text = message.payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, repr(message.payload[:200]), "payload: not UTF-8"
    if match is None:
        return None, text, f"topic: {message.topic!r} is not snuk/<building_id>/sensors/<sensor_id>"
    building, sensor = match["building"], match["sensor"]
    if "\n" in text:
        return building, text, "payload: more than one line"
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError as error:
            return building, text, f"payload: not JSON ({error})"
        if not isinstance(record, dict):
            return building, text, "payload: not a JSON object"
        if "sensor_id" in record and record["sensor_id"] != sensor:
            return building, text, f"payload: sensor_id {record['sensor_id']!r} is not the topic's"
        record = {"sensor_id": sensor, **{k: v for k, v in record.items() if k != "sensor_id"}}
        return building, json.dumps(record), None
    # A gateway line names its sensor; it must be the topic's.
    named = re.search(r"sensor_id\s*=\s*'([^']*)'", text)
    if named is not None and named[1] != sensor:
        return building, text, f"payload: sensor_id {named[1]!r} is not the topic's"
    return building, text, None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


def observation_key(sensor_id: str, ts_ms: int, value: float) -> str:
    return f"{sensor_id}|{ts_ms}|{value!r}"


@dataclass
class Archive:
    """Writes message batches into the landing zone and remembers what it wrote recently."""

    landing: LandingZone
    name: str = "live"  # file name prefix: one per service instance (its MQTT client id)
    known_buildings: frozenset[str] | None = None
    known_sensor_ids: frozenset[str] | None = None
    # The registry's types and sensors (``BuildingRegistry.catalog``), as the batch ingest
    # validates with; None: the built-in types, typed by the gateway id's letter.
    catalog: SensorCatalog | None = None
    max_lateness: dt.timedelta = dt.timedelta(days=3)
    counts: IngestCounts = field(default_factory=IngestCounts)
    _recent: collections.deque = field(
        default_factory=lambda: collections.deque(maxlen=RECENT_FILES)
    )
    _seq: int = 0

    def __post_init__(self) -> None:
        self._recent.extend(self._read_recent())

    def _seen(self, key: str) -> bool:
        return any(key in keys for keys in self._recent)

    def measured_ms(self, messages: list[Message]) -> list[int | None]:
        """Each message's measurement time in ms, parsed as ``ingest`` parses it; ``None``
        where the message is refused before parsing or its timestamp does not parse."""
        lines = [message_line(message) for message in messages]
        readable = [i for i, (_building, _line, reason) in enumerate(lines) if reason is None]
        parsed = self._parse([lines[i][1] for i in readable])
        measured: list[int | None] = [None] * len(messages)
        for number, ts in zip(
            parsed["line_number"].to_pylist(), parsed["ts_ms"].to_pylist(), strict=True
        ):
            measured[readable[number - 1]] = ts
        return measured

    def ingest(self, messages: list[Message]) -> IngestBatch:
        """Archive ``messages`` (all of one arrival day or several) and return what to process.

        Call ``ack`` for every message only after this returns: then each message is in the
        landing zone (or was already).
        """
        observations: dict[str, list[pa.Table]] = collections.defaultdict(list)
        quarantined, files, redelivered = [], [], 0
        by_day: dict[dt.date, list[Message]] = collections.defaultdict(list)
        for message in messages:
            day = dt.datetime.fromtimestamp(message.arrival_ms / 1000, dt.UTC).date()
            by_day[day].append(message)
        for day, day_messages in sorted(by_day.items()):
            kept_lines, kept_keys, bad, bad_keys = [], set(), [], set()
            lines, owners, refused = [], [], []
            for message in day_messages:
                building, line, reason = message_line(message)
                known = self.known_buildings
                if reason is None and known is not None and building not in known:
                    reason = f"topic: unknown building {building!r}"
                if reason is not None:
                    refused.append((message, reason))
                    continue
                lines.append(line)
                owners.append((message, building))
            parsed = self._parse(lines)
            result = validate_observations(
                parsed, arrival_day=day, max_lateness=self.max_lateness, catalog=self.catalog
            )
            # validate_observations keeps rows in sensor/time order; map them back by line.
            reasons = dict(
                zip(
                    result.quarantined["line_number"].to_pylist(),
                    result.quarantined["reason"].to_pylist(),
                    strict=True,
                )
            )
            kept_by_key = {}
            for number, (_line, (message, building)) in enumerate(
                zip(lines, owners, strict=True), start=1
            ):
                if number in reasons:
                    refused.append((message, reasons[number]))
                    continue
                row = parsed.slice(number - 1, 1).to_pylist()[0]
                key = observation_key(row["sensor_id"], row["ts_ms"], row["value"])
                if self._seen(key) or key in kept_keys:
                    redelivered += 1
                    continue
                kept_keys.add(key)
                # One format in the archive, whatever the message's: the parsed row as JSON
                # (floats as their shortest exact repr, so the batch reads the same numbers).
                record = {"sensor_id": row["sensor_id"], "timestamp": row["ts_ms"]}
                kept_lines.append(json.dumps({**record, "value": row["value"]}))
                kept_by_key[key] = (row, building)
            for message, reason in refused:
                record = self._bad_record(message, reason)
                key = _digest(record["topic"], record["payload"])
                if self._seen(key) or key in bad_keys:
                    redelivered += 1
                    continue
                bad_keys.add(key)
                bad.append(record)
            stamp = f"{day_messages[0].arrival_ms:013d}-{self._seq:06d}"
            self._seq += 1
            if kept_lines:
                path = f"{day_folder(day)}/{ARCHIVE_PREFIX}{self.name}-{stamp}.jsonl"
                self.landing.write_bytes(path, ("\n".join(kept_lines) + "\n").encode())
                files.append(path)
                for row, building in kept_by_key.values():
                    observations[building].append(
                        (row["sensor_id"], row["ts_ms"], row["value"], day, path)
                    )
            if bad:
                path = f"{QUARANTINE_DIR}/{day:%Y/%m/%d}/{ARCHIVE_PREFIX}{self.name}-{stamp}.jsonl"
                self.landing.write_bytes(
                    path, ("\n".join(json.dumps(r) for r in bad) + "\n").encode()
                )
                files.append(path)
                quarantined += bad
            self._recent.append(kept_keys | bad_keys)
        self.counts.received += len(messages)
        self.counts.accepted += sum(len(rows) for rows in observations.values())
        self.counts.quarantined += len(quarantined)
        self.counts.redelivered += redelivered
        self.counts.files += len(files)
        return IngestBatch(
            observations={b: _observation_table(rows) for b, rows in observations.items()},
            quarantined=quarantined,
            redelivered=redelivered,
            files=files,
        )

    @staticmethod
    def _parse(lines: list[str]) -> pa.Table:
        if not lines:
            return PARSED_SCHEMA.empty_table()
        # JSON objects and gateway lines are two formats of the batch parser: parse each kind
        # as its own file, then restore the message order (line numbers are positions).
        kinds = ["jsonl" if line.startswith("{") else "txt" for line in lines]
        tables = []
        for kind in ("jsonl", "txt"):
            index = [i for i, k in enumerate(kinds) if k == kind]
            if not index:
                continue
            data = ("\n".join(lines[i] for i in index) + "\n").encode()
            table = parse_landing_file(f"mqtt.{kind}", data).select(PARSED_SCHEMA.names)
            numbers = pa.array([index[n - 1] + 1 for n in table["line_number"].to_pylist()])
            tables.append(table.set_column(3, "line_number", numbers))
        table = pa.concat_tables(tables).sort_by("line_number")
        return table.cast(PARSED_SCHEMA)

    @staticmethod
    def _bad_record(message: Message, reason: str) -> dict:
        """The quarantine record: the message as received (undecodable bytes replaced)."""
        return {
            "topic": message.topic,
            "payload": message.payload.decode("utf-8", errors="replace"),
            "arrival_ms": message.arrival_ms,
            "reason": reason,
        }

    def _read_recent(self) -> list[set[str]]:
        """Keys of this archive's newest files (today's and yesterday's), oldest first."""
        today = dt.datetime.now(dt.UTC).date()
        paths = []
        for day in (today - dt.timedelta(days=1), today):
            for prefix in (day_folder(day), f"{QUARANTINE_DIR}/{day:%Y/%m/%d}"):
                try:
                    files = self.landing.list_files(prefix)
                except Exception:  # a landing zone not created yet
                    files = []
                mine = f"{ARCHIVE_PREFIX}{self.name}-"
                paths += [f.path for f in files if f.path.rsplit("/", 1)[-1].startswith(mine)]
        paths = sorted(paths, key=lambda p: p.rsplit("/", 1)[-1])[-RECENT_FILES:]
        recent = []
        for path in paths:
            text = self.landing.read_bytes(path).decode()
            if path.startswith(QUARANTINE_DIR):
                records = [json.loads(line) for line in text.splitlines() if line]
                keys = {_digest(r["topic"], r["payload"]) for r in records}
            else:
                parsed = parse_landing_file(path, text.encode())
                keys = {
                    observation_key(s, t, v)
                    for s, t, v in zip(
                        parsed["sensor_id"].to_pylist(),
                        parsed["ts_ms"].to_pylist(),
                        parsed["value"].to_pylist(),
                        strict=True,
                    )
                }
            recent.append(keys)
            self._seq = max(self._seq, int(path.rsplit("-", 1)[-1].split(".")[0]) + 1)
        return recent


def _observation_table(rows: list[tuple]) -> pa.Table:
    sensor, ts, value, date, source = zip(*rows, strict=True) if rows else ([],) * 5
    return pa.table(
        {
            "sensor_id": pa.array(sensor, pa.string()),
            "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "value": pa.array(value, pa.float64()),
            "date": pa.array(date, pa.date32()),
            "source_file": pa.array(source, pa.string()),
        },
        schema=OBSERVATION_SCHEMA,
    )
