"""An event-time service (``--clock event``, replays as fast as they go) passes midnight.

The arrival of a message was the clock before it: the newest measurement seen so far. The
first message after midnight then arrived on the previous day, was quarantined as measured
after the end of its arrival day, never reached the clock, and the clock stayed at 23:59 for
good (found by benchmarks/live_benchmark.py: 41,603 of a primed day's next 6 h quarantined).
"""

from __future__ import annotations

import json

import pandas as pd
from live_building import ROOMS

from snuk_assets.landing import LandingZone
from snuk_assets.live.ingest import Archive, Message
from snuk_assets.live.service import EventClock
from snuk_assets.registry import load_registry


def test_event_time_arrivals_follow_the_measurements_past_midnight(tmp_path, small_registry):
    registry = load_registry(small_registry(tmp_path / "b.yaml", ROOMS))
    (tmp_path / "landing").mkdir()
    archive = Archive(
        LandingZone.from_uri(str(tmp_path / "landing")),
        known_buildings=frozenset([registry.building_id]),
    )
    sensor = sorted(registry.sensor_ids())[0]
    topic = f"snuk/{registry.building_id}/sensors/{sensor}"
    clock = EventClock(pd.Timestamp("2016-07-05 23:59:30", tz="UTC"))
    arrival = clock.now().value // 1_000_000  # what on_message stamps: the clock
    times = pd.to_datetime(["2016-07-05 23:59:50", "2016-07-06 00:00:10"], utc=True)
    messages = [
        Message(
            topic, json.dumps({"timestamp": t.value // 1_000_000, "value": 1.0}).encode(), arrival
        )
        for t in times
    ]
    messages.append(Message(topic, b"not a reading", arrival))
    measured = archive.measured_ms(messages)
    assert measured == [t.value // 1_000_000 for t in times] + [None]

    stamped = clock.stamp(messages, measured)
    assert [m.arrival_ms for m in stamped] == [*measured[:2], arrival]  # never earlier
    batch = archive.ingest(stamped)
    assert archive.counts.accepted == 2 and archive.counts.quarantined == 1
    assert not any("in the future" in r["reason"] for r in batch.quarantined)
    clock.observe(batch.observations)
    assert clock.now() == times[1]  # past midnight

    # Unstamped, as before the fix: the message after midnight is refused.
    fresh = Archive(
        LandingZone.from_uri(str(tmp_path / "other")),
        known_buildings=frozenset([registry.building_id]),
    )
    (tmp_path / "other").mkdir()
    refused = fresh.ingest(messages[1:2]).quarantined
    assert len(refused) == 1 and "in the future" in refused[0]["reason"]
