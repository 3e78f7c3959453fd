"""Live commands: a policy's decision as an MQTT message, sent only where actuation is enabled.

``command_payload`` builds the JSON for ``snuk/<building_id>/rooms/<room_id>/command``;
``CommandIssuer`` decides, per room, whether it is sent (never in dry-run, the default; only
for rooms enabled for actuation) and appends every command, sent or not, to the Delta audit
table ``control_commands`` with who issued it and why it was or was not sent. Authentication,
per-room enabling by an admin and a switch-rate cap are issue 26's; the issuer takes the
enabled rooms as given and leaves room for them (``issued_by``, ``not_sent_because``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from snuk_assets.control.policies import HVAC_MODES, Commands

AUDIT_TABLE = "control_commands"
AUDIT_SCHEMA = pa.schema(
    [
        ("issued_at", pa.timestamp("us", tz="UTC")),
        ("building_id", pa.string()),
        ("room_id", pa.string()),
        ("topic", pa.string()),
        ("payload", pa.string()),
        ("lights", pa.bool_()),
        ("hvac_mode", pa.string()),
        ("reason", pa.string()),
        ("policy", pa.string()),
        ("issued_by", pa.string()),
        ("dry_run", pa.bool_()),
        ("sent", pa.bool_()),
        ("not_sent_because", pa.string()),
        ("date", pa.date32()),
    ]
)


def command_topic(building_id: str, room_id: str) -> str:
    """``snuk/<building_id>/rooms/<room_id>/command``; ids must not hold MQTT wildcards."""
    for name, value in (("building_id", building_id), ("room_id", room_id)):
        if not value or any(ch in value for ch in "/+#\0"):
            raise ValueError(f"{name} {value!r} cannot be an MQTT topic level (no / + # or NUL)")
    return f"snuk/{building_id}/rooms/{room_id}/command"


def command_payload(
    *,
    room_id: str,
    issued_at: dt.datetime,
    lights: bool,
    hvac_mode: str,
    reason: str,
    policy: str,
    forecast: dict | None,
    dry_run: bool,
) -> dict:
    """The command message: ``lights`` (bool), ``hvac_mode``, ``reason``, the ``forecast`` it
    used (``{"anchor_bin_start", "bin_minutes", "occupied_probability": [...]}`` or null)."""
    if hvac_mode not in HVAC_MODES:
        raise ValueError(f"hvac_mode {hvac_mode!r} is not one of {HVAC_MODES}")
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware (UTC)")
    return {
        "room_id": room_id,
        "issued_at": issued_at.astimezone(dt.UTC).isoformat(),
        "lights": bool(lights),
        "hvac_mode": hvac_mode,
        "reason": reason,
        "policy": policy,
        "forecast": forecast,
        "dry_run": bool(dry_run),
    }


Publisher = Callable[[str, str], None]  # (topic, JSON payload): e.g. paho's client.publish


@dataclass
class CommandIssuer:
    """Turns a bin's ``Commands`` into messages; dry-run unless told otherwise.

    ``enabled_rooms``: the rooms whose actuators SNUK may switch. ``publisher`` sends one
    message (QoS and retain are the publisher's); without one nothing is sent. ``lakehouse``
    receives the audit rows (``AUDIT_TABLE``, appended, partitioned by the UTC ``date``).
    """

    building_id: str
    lakehouse: object
    publisher: Publisher | None = None
    enabled_rooms: frozenset[str] = field(default_factory=frozenset)
    dry_run: bool = True
    issued_by: str = "snuk"

    def issue(
        self,
        commands: Commands,
        room_ids: list[str],
        *,
        issued_at: dt.datetime,
        policy: str,
        forecasts: dict[str, dict] | None = None,
    ) -> pa.Table:
        """Publish what may be published, audit everything; returns the audit rows."""
        rows = []
        for i, room_id in enumerate(room_ids):
            topic = command_topic(self.building_id, room_id)
            payload = command_payload(
                room_id=room_id,
                issued_at=issued_at,
                lights=bool(commands.lights[i]),
                hvac_mode=str(commands.hvac_mode[i]),
                reason=str(commands.reason[i]),
                policy=policy,
                forecast=(forecasts or {}).get(room_id),
                dry_run=self.dry_run,
            )
            text = json.dumps(payload, sort_keys=True, default=_json_default)
            why_not = self._why_not(room_id)
            if why_not is None:
                self.publisher(topic, text)
            rows.append(
                {
                    "issued_at": issued_at,
                    "building_id": self.building_id,
                    "room_id": room_id,
                    "topic": topic,
                    "payload": text,
                    "lights": payload["lights"],
                    "hvac_mode": payload["hvac_mode"],
                    "reason": payload["reason"],
                    "policy": policy,
                    "issued_by": self.issued_by,
                    "dry_run": self.dry_run,
                    "sent": why_not is None,
                    "not_sent_because": why_not,
                    "date": issued_at.astimezone(dt.UTC).date(),
                }
            )
        table = pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
        append_audit(self.lakehouse, table)
        return table

    def _why_not(self, room_id: str) -> str | None:
        if self.dry_run:
            return "dry run"
        if room_id not in self.enabled_rooms:
            return "actuation not enabled for the room"
        if self.publisher is None:
            return "no publisher"
        return None


def append_audit(lakehouse, table: pa.Table) -> None:
    """Append audit rows to ``AUDIT_TABLE`` (created, partitioned by ``date``, on first use).

    Appended, never replaced: an audit log keeps every row it was given.
    """
    from deltalake import write_deltalake

    uri = lakehouse.table_uri(AUDIT_TABLE)

    def write() -> None:
        write_deltalake(
            uri,
            table,
            mode="append",
            partition_by=["date"],
            storage_options=lakehouse.storage_options,
        )

    lakehouse.commit_with_retries(write, uri)


def forecast_message(anchor, bin_minutes: int, probabilities) -> dict | None:
    """The ``forecast`` field of a payload (None when there is no forecast)."""
    values = np.asarray(probabilities, dtype=float)
    if values.size == 0 or np.isnan(values).all():
        return None
    return {
        "anchor_bin_start": str(anchor),
        "bin_minutes": int(bin_minutes),
        "occupied_probability": [None if np.isnan(v) else round(float(v), 4) for v in values],
    }


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
