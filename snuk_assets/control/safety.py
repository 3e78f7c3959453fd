"""What stands between a policy and a room's actuators: an admin's consent and a switch cap.

``Actuation`` knows which rooms an admin enabled; nothing else can enable one. Each enable or
disable is a row of the audit table (``control_commands``, ``action`` ``enable``/``disable``,
with who and why), and the state is read back from those rows on start, so a restarted
service keeps exactly what the admins decided. ``SwitchLimiter`` allows at most
``max_per_hour`` switches (a sent command that changes the lights or the HVAC mode) per room
in any 60 minutes, whatever the policy asks; its memory is the audit table's sent commands.
``SNUK_MAX_SWITCHES_PER_HOUR`` (default 4, read in ``environment.py``) sets the live cap.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from dataclasses import dataclass, field

import pyarrow as pa

from snuk_assets.environment import DEFAULT_MAX_SWITCHES_PER_HOUR

WINDOW = dt.timedelta(hours=1)


def read_audit(lakehouse, *, since: dt.date | None = None) -> pa.Table | None:
    """The audit table's rows (from ``since``'s partition on), or None before the first row."""
    from snuk_assets.control.audit import AUDIT_TABLE

    if not lakehouse.exists(AUDIT_TABLE):
        return None
    table = lakehouse.table(AUDIT_TABLE)
    filters = [("date", ">=", since)] if since else None
    return table.to_pyarrow_table(filters=filters)


@dataclass
class Actuation:
    """Rooms enabled for actuation by an admin, per building; every change audited."""

    lakehouse: object
    building_id: str
    _enabled: dict[str, bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        audit = read_audit(self.lakehouse)
        if audit is None or "action" not in audit.column_names:
            return
        rows = audit.filter(
            pa.compute.and_(
                pa.compute.is_in(audit["action"], pa.array(["enable", "disable"])),
                pa.compute.equal(audit["building_id"], self.building_id),
            )
        ).sort_by("issued_at")
        for room_id, action in zip(
            rows["room_id"].to_pylist(), rows["action"].to_pylist(), strict=True
        ):
            self._enabled[room_id] = action == "enable"

    def is_enabled(self, room_id: str) -> bool:
        with self._lock:
            return self._enabled.get(room_id, False)

    def enabled_rooms(self) -> frozenset[str]:
        with self._lock:
            return frozenset(room for room, on in self._enabled.items() if on)

    def set(
        self,
        room_id: str,
        enabled: bool,
        *,
        by: str,
        role: str,
        reason: str,
        when: dt.datetime | None = None,
    ) -> dict:
        """Enable or disable ``room_id`` as ``by`` (who must hold the ``admin`` role), for
        ``reason``; the audit row is written before the change takes effect."""
        from snuk_assets.control.audit import AUDIT_SCHEMA, append_audit, command_topic

        if role != "admin":
            raise PermissionError(f"only an admin may enable or disable actuation, not {by!r}")
        if not reason or not reason.strip():
            raise ValueError("enabling or disabling actuation needs a reason")
        when = when or dt.datetime.now(dt.UTC)
        row = {
            "issued_at": when,
            "action": "enable" if enabled else "disable",
            "building_id": self.building_id,
            "room_id": room_id,
            "topic": command_topic(self.building_id, room_id),
            "reason": reason.strip(),
            "issued_by": by,
            "date": when.astimezone(dt.UTC).date(),
        }
        append_audit(self.lakehouse, pa.Table.from_pylist([row], schema=AUDIT_SCHEMA))
        with self._lock:
            self._enabled[room_id] = enabled
        return row


@dataclass
class SwitchLimiter:
    """At most ``max_per_hour`` switches per room in any 60 minutes.

    A switch is a sent command whose lights or HVAC mode differ from the room's last sent
    command (the first command a room gets counts as one). ``from_audit`` remembers the last
    hour's sent commands of a building, so a restart does not reset the count.
    """

    max_per_hour: int = DEFAULT_MAX_SWITCHES_PER_HOUR
    _last: dict[str, tuple[bool, str]] = field(default_factory=dict)
    _switches: dict[str, collections.deque] = field(
        default_factory=lambda: collections.defaultdict(collections.deque)
    )

    @classmethod
    def from_audit(cls, lakehouse, building_id: str, *, max_per_hour: int, now: dt.datetime):
        limiter = cls(max_per_hour=max_per_hour)
        audit = read_audit(lakehouse, since=(now - WINDOW).date() - dt.timedelta(days=1))
        if audit is None:
            return limiter
        frame = audit.to_pandas()
        if "action" in frame:
            frame = frame[frame["action"].fillna("command") == "command"]
        frame = frame[(frame["building_id"] == building_id) & frame["sent"].fillna(False)]
        for row in frame.sort_values("issued_at").itertuples():
            limiter.record(row.room_id, bool(row.lights), row.hvac_mode, row.issued_at)
        return limiter

    def _recent(self, room_id: str, when: dt.datetime) -> collections.deque:
        switches = self._switches[room_id]
        while switches and switches[0] <= when - WINDOW:
            switches.popleft()
        return switches

    def refuse(self, room_id: str, lights: bool, hvac_mode: str, when: dt.datetime) -> str | None:
        """Why this command may not be sent now (None: it may)."""
        if self._last.get(room_id) == (lights, hvac_mode):
            return None  # no switch: the actuators already are in this state
        if len(self._recent(room_id, when)) >= self.max_per_hour:
            return f"switch limit: {self.max_per_hour} switches in the last hour"
        return None

    def record(self, room_id: str, lights: bool, hvac_mode: str, when: dt.datetime) -> None:
        """A command was sent."""
        if self._last.get(room_id) != (lights, hvac_mode):
            self._recent(room_id, when).append(when)
        self._last[room_id] = (lights, hvac_mode)
