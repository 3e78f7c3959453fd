"""Control and the live table cannot take the service down; a sent command is always audited.

A service of its own, actuating, with one room an admin enabled, against a real Mosquitto:

- 08:00, all well: every room's decision audited, the enabled room's command on the broker.
- 08:05, the audit and ``live_room_forecasts`` point at a lakehouse that cannot be written (its
  root below a regular file): the bin's states still reach the API, no command is sent (none
  could be audited first), the failure is logged with the bin and the rooms and counted on
  ``/health``, and the forecast rows are kept.
- 08:10, both writable again: commands as before, and the new table gets the kept rows too.
- 08:15, the service's MQTT client disconnected: the enabled room's command is audited as sent
  and then as ``publish_failed``, never a silent gap.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import pandas as pd
import pytest
from deltalake import DeltaTable
from running import DAY, Commands, actuating, audit_rows, enable, get, wait_until

from snuk_assets.lakehouse import Lakehouse
from snuk_assets.live.outputs import ForecastTable

CLIENT_ID = "snuk-live-failures"
ENABLED = "7103"
# The first step closes 06:00 .. 07:55 at once: the forecasts need an hour of windows.
WELL, BROKEN, MENDED, OFFLINE = (DAY + pd.Timedelta(hours=8, minutes=m) for m in (0, 5, 10, 15))


class Records(logging.Handler):
    """The log records of the service's thread, kept for the test."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, logger: str) -> list[str]:
        return [r.getMessage() for r in self.records if r.name == logger]


def health(live) -> dict:
    return get(f"{live.url}/health", None)


@pytest.fixture(scope="module")
def failing(batch_building, mosquitto, tmp_path_factory):
    root = tmp_path_factory.mktemp("failing")
    (root / "a-file").write_text("not a folder\n")
    unwritable = Lakehouse(str(root / "a-file" / "lakehouse"))
    mended_table = ForecastTable(Lakehouse(str(root / "mended")))
    records = Records()
    logging.getLogger("snuk").addHandler(records)
    live = actuating(batch_building, mosquitto, client_id=CLIENT_ID)
    rooms = sorted(live.settings.registry().rooms["room_id"])
    lakehouse = live.settings.lakehouse()
    control = live.service.controls[live.building]
    commands = Commands(live.broker, live.building)
    time.sleep(0.5)  # subscribed before the first decision
    enable(live, ENABLED, "failure tests")
    seen = {}
    try:
        live.advance(WELL)
        wait_until(lambda: len(audit_rows(lakehouse, CLIENT_ID)) >= len(rooms), "the first rows")
        wait_until(lambda: commands.received(), "the first command on the broker")

        control.lakehouse, live.service.table = unwritable, ForecastTable(unwritable)
        live.advance(BROKEN)
        wait_until(lambda: health(live)["forecast_table"]["failures"] == 1, "the failed append")
        seen["broken"] = health(live)
        seen["rooms_broken"] = live.wait_for_bin(BROKEN - pd.Timedelta("5min"))

        control.lakehouse, live.service.table = lakehouse, mended_table
        live.advance(MENDED)
        wait_until(
            lambda: len(audit_rows(lakehouse, CLIENT_ID)) >= 2 * len(rooms), "the mended rows"
        )
        wait_until(lambda: len(commands.received()) >= 2, "the mended command on the broker")
        seen["mended"] = health(live)

        gone = threading.Event()
        client = live.service.client
        client.on_disconnect = lambda *_: gone.set()
        client.disconnect()
        assert gone.wait(timeout=30)
        client.loop_stop()  # its network thread has closed the socket: publish finds none
        live.clock.when = OFFLINE + pd.Timedelta("30s")  # nothing can arrive: the clock alone
        wait_until(
            lambda: "publish_failed" in set(all_rows(lakehouse)["action"]), "the publish_failed row"
        )
        seen["offline"] = live.service.health()
    finally:
        live.stop()
        commands.close()
        logging.getLogger("snuk").removeHandler(records)
    yield live, rooms, commands.received(), all_rows(lakehouse), mended_table, records, seen


def all_rows(lakehouse) -> pd.DataFrame:
    """Every row this service audited, publish_failed ones included, with their bin."""
    rows = DeltaTable(lakehouse.table_uri("control_commands")).to_pandas()
    rows = rows[rows["issued_by"] == CLIENT_ID]
    return rows.assign(bin_start=[json.loads(p)["bin_start"] for p in rows["payload"]])


def test_a_bin_whose_audit_fails_sends_nothing_and_the_service_goes_on(failing):
    live, rooms, received, audit, _, records, seen = failing
    commands = audit[audit["action"] == "command"]
    assert sorted(set(commands["bin_start"])) == [
        b.isoformat() for b in (WELL, MENDED, OFFLINE)
    ]  # 08:05 could not be audited
    assert [m["bin_start"] for _, m in received] == [WELL.isoformat(), MENDED.isoformat()]
    # the states of the failed step reached the API, and the next steps ran
    assert {r["bin_start"] for r in seen["rooms_broken"]} == {
        (BROKEN - pd.Timedelta("5min")).isoformat()
    }
    assert seen["broken"]["commands"]["failed"] == len(rooms)
    assert seen["mended"]["commands"]["failed"] == len(rooms)
    assert seen["mended"]["commands"]["sent"] == 2
    logged = records.messages("snuk.live.control")
    assert any(BROKEN.isoformat() in m and ENABLED in m for m in logged), logged


def test_forecast_rows_of_a_failed_append_are_written_with_the_next(failing):
    live, _, _, _, mended_table, records, seen = failing
    assert seen["broken"]["forecast_table"]["rows_unwritten"] > 0
    assert seen["mended"]["forecast_table"] == {
        "failures": 1,
        "rows_unwritten": 0,
        "rows_dropped": 0,
    }
    first = DeltaTable(
        mended_table.uri, version=0
    ).to_pandas()  # 08:10: the first append that worked
    published = pd.to_datetime(first["published_at"], utc=True)
    assert set(published) == {BROKEN + pd.Timedelta("30s"), MENDED + pd.Timedelta("30s")}
    assert set(pd.to_datetime(first["anchor_bin_start"], utc=True)) == {
        BROKEN - pd.Timedelta("5min"),
        MENDED - pd.Timedelta("5min"),
    }
    assert any("live_room_forecasts" in m for m in records.messages("snuk.live"))


def test_a_failed_publish_is_audited_after_its_command(failing):
    live, rooms, received, audit, _, records, seen = failing
    offline = audit[(audit["bin_start"] == OFFLINE.isoformat()) & (audit["room_id"] == ENABLED)]
    assert offline.sort_values("action")[["action", "sent"]].values.tolist() == [
        ["command", True],
        ["publish_failed", False],
    ]
    why = offline[offline["action"] == "publish_failed"]["not_sent_because"].item()
    assert why.startswith("publish failed:") and "rc 4" in why  # paho's MQTT_ERR_NO_CONN
    assert OFFLINE.isoformat() not in {m["bin_start"] for _, m in received}
    assert seen["offline"]["commands"]["sent"] == 2
    assert seen["offline"]["commands"]["failed"] == len(rooms) + 1
    logged = records.messages("snuk.live.control")
    assert any(OFFLINE.isoformat() in m and ENABLED in m and "not published" in m for m in logged)
