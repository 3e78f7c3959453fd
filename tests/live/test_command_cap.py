"""The switch cap holds on the live path: an enabled room's switches beyond it are not sent.

A service of its own (its decisions start with the first bins of the morning), actuating with
a cap of 0 switches per hour: a room's first command is a switch, so the room an admin enabled
gets its decisions audited as refused by the cap and nothing on its command topic.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest
from running import DAY, Commands, actuating, audit_rows, enable, get, wait_until

CLIENT_ID = "snuk-live-capped"
ENABLED = "7104"


@pytest.fixture(scope="module")
def capped(batch_building, mosquitto):
    live = actuating(batch_building, mosquitto, client_id=CLIENT_ID, max_switches_per_hour=0)
    commands = Commands(live.broker, live.building)
    time.sleep(0.5)  # subscribed before the first decision
    enable(live, ENABLED, "cap test")
    lakehouse = live.settings.lakehouse()
    try:
        for n, step in enumerate([DAY + pd.Timedelta(hours=6, minutes=m) for m in (30, 35)]):
            live.advance(step)
            wait_until(
                lambda n=n: len(audit_rows(lakehouse, CLIENT_ID)) >= 3 * (n + 1),
                f"the commands of step {n}",
            )
        yield live, commands, audit_rows(lakehouse, CLIENT_ID)
    finally:
        commands.close()
        live.stop()


def test_the_cap_refuses_the_enabled_rooms_switches(capped):
    live, commands, audit = capped
    mine = audit[audit["room_id"] == ENABLED]
    assert len(mine) == 2  # decided for 06:30 and 06:35
    assert not mine["sent"].any()
    assert set(mine["not_sent_because"]) == {"switch limit: 0 switches in the last hour"}
    topic = f"snuk/{live.building}/rooms/{ENABLED}/command"
    assert topic not in {t for t, _ in commands.received()}
    counted = get(f"{live.url}/health", None)["commands"]
    assert counted["refused_switch_limit"] == len(mine) and counted["sent"] == 0
