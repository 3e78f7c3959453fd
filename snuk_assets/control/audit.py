"""The audit table of live control: every command, sent or not, and every enable or disable.

Appended, never replaced (``append_audit``); ``commands.CommandIssuer`` writes the commands
(and a ``publish_failed`` row for each one the publisher could not send), ``safety.Actuation``
the enables and disables, with who and why.
"""

from __future__ import annotations

import pyarrow as pa

AUDIT_TABLE = "control_commands"
AUDIT_SCHEMA = pa.schema(
    [
        ("issued_at", pa.timestamp("us", tz="UTC")),
        ("action", pa.string()),  # command, publish_failed (its second row), enable, disable
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


def append_audit(lakehouse, table: pa.Table) -> None:
    """Append audit rows to ``AUDIT_TABLE`` (created, partitioned by ``building_id`` and
    ``date``, on first use; ``Lakehouse.append_partition_columns``).

    Appended, never replaced: an audit log keeps every row it was given.
    """
    from deltalake import write_deltalake

    uri = lakehouse.table_uri(AUDIT_TABLE)
    partition_by = lakehouse.append_partition_columns(AUDIT_TABLE)

    def write() -> None:
        write_deltalake(
            uri,
            table,
            mode="append",
            partition_by=partition_by,
            schema_mode="merge",  # a table from before the action column gets it
            storage_options=lakehouse.storage_options,
        )

    lakehouse.commit_with_retries(write, uri)
