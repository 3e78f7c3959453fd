"""Live commands: a policy's decision as an MQTT message, sent only where actuation is enabled.

``command_payload`` builds the JSON for ``snuk/<building_id>/rooms/<room_id>/command``;
``CommandIssuer`` decides, per room, whether it is sent (never in dry-run, the default; only
for rooms an admin enabled, ``safety.Actuation``, and within the switch cap,
``safety.SwitchLimiter``) and appends every command, sent or not, to the Delta audit table
``control_commands`` with who issued it and why it was or was not sent, before it sends any:
a message on a command topic always has its row, and a publish that fails gets a second
(``action`` ``publish_failed``). The same table holds every enable and disable (``action``),
with the admin and the reason.

Every command carries ``valid_until`` (ISO, UTC): the end of the bin it is for, when the next
bin's command supersedes it. A receiver must ignore a command past it: a QoS 1 message can
arrive late (a broker that kept it for an actuator offline, a resend after a reconnect), and a
stale "lights off" must not act on a room that is occupied by then.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from snuk_assets.control.audit import AUDIT_SCHEMA, AUDIT_TABLE, append_audit, command_topic
from snuk_assets.control.policies import HVAC_MODES, Commands
from snuk_assets.control.safety import Actuation, SwitchLimiter

log = logging.getLogger("snuk.control")

# The audit's table and topic helpers live in audit.py; importable from here as before.
__all__ = [
    "AUDIT_SCHEMA",
    "AUDIT_TABLE",
    "COMMAND_VALIDITY",
    "DRY_RUN",
    "EXPIRED",
    "NOT_ENABLED",
    "CommandIssuer",
    "append_audit",
    "command_payload",
    "command_topic",
    "forecast_message",
    "presence_message",
]


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
    bin_start: str | None = None,
    valid_until: dt.datetime | None = None,
    presence: dict | None = None,
) -> dict:
    """The command message: ``lights`` (bool), ``hvac_mode``, ``reason``, the ``forecast`` it
    used (``{"anchor_bin_start", "bin_minutes", "occupied_probability": [...]}`` or null), the
    ``bin_start`` of the bin it is for (ISO, UTC; null when not given), ``valid_until``
    (ISO, UTC; default ``issued_at`` + ``COMMAND_VALIDITY``): a receiver ignores it after, and
    the ``presence`` now it used (live control: ``{"source", "estimate", "motion_label"}``,
    ``presence_message``; null when not given)."""
    if hvac_mode not in HVAC_MODES:
        raise ValueError(f"hvac_mode {hvac_mode!r} is not one of {HVAC_MODES}")
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware (UTC)")
    valid_until = valid_until or issued_at + COMMAND_VALIDITY
    if valid_until.tzinfo is None:
        raise ValueError("valid_until must be timezone-aware (UTC)")
    return {
        "room_id": room_id,
        "issued_at": issued_at.astimezone(dt.UTC).isoformat(),
        "valid_until": valid_until.astimezone(dt.UTC).isoformat(),
        "bin_start": bin_start,
        "lights": bool(lights),
        "hvac_mode": hvac_mode,
        "reason": reason,
        "policy": policy,
        "forecast": forecast,
        "presence": presence,
        "dry_run": bool(dry_run),
    }


# (topic, JSON payload, whole seconds the command stays valid from its issue), e.g.
# live/control.py's mqtt_publisher, which makes the seconds the MQTT 5 message expiry.
Publisher = Callable[[str, str, int], None]
# A command's validity without a bin to end it: one 5-minute bin, the default.
COMMAND_VALIDITY = dt.timedelta(minutes=5)
# Why a command was not sent (``not_sent_because``); the switch cap's says its limit.
DRY_RUN = "dry run"
NOT_ENABLED = "actuation not enabled for the room"
# A decision for a bin already over when it was made (a step that ran late): audited, not sent.
EXPIRED = "expired before it was sent"


@dataclass
class CommandIssuer:
    """Turns a bin's ``Commands`` into messages; dry-run unless told otherwise.

    ``actuation``: which rooms an admin enabled (none without it). ``limiter``: the switch
    cap per room and hour (the default cap without it). ``publisher`` sends one message (QoS
    and retain are the publisher's); without one nothing is sent. ``lakehouse`` receives the
    audit rows (``AUDIT_TABLE``, appended, partitioned by the UTC ``date``).
    """

    building_id: str
    lakehouse: object
    publisher: Publisher | None = None
    actuation: Actuation | None = None
    limiter: SwitchLimiter = field(default_factory=SwitchLimiter)
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
        bin_start: str | None = None,
        valid_until: dt.datetime | None = None,
        presences: dict[str, dict] | None = None,
    ) -> pa.Table:
        """Audit everything, then publish what may be published; returns the audit rows.

        The commands' rows are appended before anything is sent: if the audit cannot be
        written this raises and nothing is sent, so every message on a command topic has its
        row (``sent`` true: handed to the publisher). A publish that then fails gets a second
        row, ``action`` ``publish_failed``, with the error in ``not_sent_because``; it is in
        the returned table too. ``bin_start``: the bin the commands are for (ISO, UTC),
        carried in each payload; ``valid_until``: that bin's end (default: ``issued_at`` +
        ``COMMAND_VALIDITY``), after which a receiver ignores the command; ``presences``: per
        room, the presence now the decision used (``presence_message``)."""
        valid_until = valid_until or issued_at + COMMAND_VALIDITY
        context = (issued_at, policy, forecasts or {}, bin_start, valid_until, presences or {})
        rows = [self._row(commands, i, room_id, *context) for i, room_id in enumerate(room_ids)]
        table = pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
        append_audit(self.lakehouse, table)  # raises: nothing sent
        # what is left of the validity at issue (a sent command has some), in whole seconds
        valid_for_s = max(1, math.ceil((valid_until - issued_at).total_seconds()))
        failed = []
        for row in rows:
            if not row["sent"]:
                continue
            # counted as a switch once audited as sent, whatever the broker does next: the
            # cap errs on the side of fewer switches, and a restart reads it back the same
            self.limiter.record(row["room_id"], row["lights"], row["hvac_mode"], issued_at)
            try:
                self.publisher(row["topic"], row["payload"], valid_for_s)
            except Exception as error:  # the broker's or the client's: audited, not raised
                why = f"publish failed: {error}"
                failed.append(
                    {**row, "action": "publish_failed", "sent": False, "not_sent_because": why}
                )
        if not failed:
            return table
        failures = pa.Table.from_pylist(failed, schema=AUDIT_SCHEMA)
        try:
            append_audit(self.lakehouse, failures)
        except Exception:  # not raised: the other rooms' commands did go out
            log.exception(
                "publish_failed rows of rooms %s could not be audited: their rows say sent",
                ", ".join(row["room_id"] for row in failed),
            )
        return pa.concat_tables([table, failures])

    def _row(
        self, commands, i, room_id, issued_at, policy, forecasts, bin_start, valid_until, presences
    ) -> dict:
        """The audit row of room ``i``'s command, with why it is not sent (None: it is)."""
        topic = command_topic(self.building_id, room_id)
        payload = command_payload(
            room_id=room_id,
            issued_at=issued_at,
            lights=bool(commands.lights[i]),
            hvac_mode=str(commands.hvac_mode[i]),
            reason=str(commands.reason[i]),
            policy=policy,
            forecast=forecasts.get(room_id),
            dry_run=self.dry_run,
            bin_start=bin_start,
            valid_until=valid_until,
            presence=presences.get(room_id),
        )
        why_not = self._why_not(room_id, payload, issued_at, valid_until)
        return {
            "issued_at": issued_at,
            "action": "command",
            "building_id": self.building_id,
            "room_id": room_id,
            "topic": topic,
            "payload": json.dumps(payload, sort_keys=True, default=_json_default),
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

    def _why_not(
        self, room_id: str, payload: dict, issued_at: dt.datetime, valid_until: dt.datetime
    ) -> str | None:
        if self.dry_run:
            return DRY_RUN
        if valid_until <= issued_at:
            return f"{EXPIRED}: valid until {valid_until.astimezone(dt.UTC).isoformat()}"
        if self.actuation is None or not self.actuation.is_enabled(room_id):
            return NOT_ENABLED
        if self.publisher is None:
            return "no publisher"
        return self.limiter.refuse(room_id, payload["lights"], payload["hvac_mode"], issued_at)


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


def presence_message(source: str, estimate: float, motion_label: float) -> dict:
    """The ``presence`` field of a payload: which input said whether somebody is there now
    (the estimate's ``source``: ``counter``, ``estimator``, ``motion label``; ``motion label``
    too where the room has no estimate), the estimate (0..1) and the motion label (0 or 1),
    None where unknown."""

    def number(value: float):
        return None if np.isnan(value) else round(float(value), 4)

    return {"source": source, "estimate": number(estimate), "motion_label": number(motion_label)}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
