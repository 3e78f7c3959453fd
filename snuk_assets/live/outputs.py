"""Where every closed bin goes: the live Delta table, retained MQTT topics, the API's view.

``live_room_forecasts`` gets each step's forecast rows appended (partitioned by ``building_id``
and the anchor's UTC ``date``; small files compacted every ``COMPACT_EVERY`` appends), each with
the occupancy estimate of its anchor bin beside that bin's motion label, and whose model served
it (``model_building_id``, ``model_room_id``: a lender's in a cold start). A table written
before those columns existed takes them on the first append (Delta schema evolution: its older rows
read null there).
``snuk/<building_id>/rooms/<room_id>/state`` and ``.../forecast`` are published retained at QoS
1, so a subscriber that connects later gets each room's latest at once. ``LiveView`` holds the
same per room for HTTP.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from snuk_assets.stages.forecasts import SCHEMA as FORECAST_SCHEMA

if TYPE_CHECKING:
    # Hints only: the step's models (skops, scikit-learn) stay out of the definitions' import.
    from snuk_assets.live.step import StepResult

TABLE = "live_room_forecasts"
COMPACT_EVERY = 288  # appends: a day of 5-minute bins
# occupancy_forecasts' columns, with the building, the occupancy estimate of the anchor bin
# beside its motion label (``live.step.FORECAST_COLUMNS``) and when the row was published.
_BATCH_ONLY = ("date",)
SCHEMA = pa.schema(
    [
        ("building_id", pa.string()),
        *(f for f in FORECAST_SCHEMA if f.name not in _BATCH_ONLY),
        ("estimate_now", pa.float64()),
        ("estimate_source", pa.string()),
        ("motion_label_now", pa.float64()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("date", pa.date32()),
    ]
)


def _iso(when) -> str | None:
    return None if when is None or pd.isna(when) else pd.Timestamp(when).isoformat()


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dataclass
class LiveView:
    """Per building and room: the latest closed bin's state and forecast (thread-safe)."""

    floors: dict[str, dict[str, int]] = field(default_factory=dict)  # building -> room -> floor
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    workplaces: dict[str, dict[str, int]] = field(default_factory=dict)  # building -> room -> n
    _rooms: dict[str, dict[str, dict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    latest_bin: dict[str, str] = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    def add_building(self, building_id: str, floors: dict[str, int], names: dict[str, str]):
        with self._lock:
            self.floors[building_id] = dict(floors)
            self.names[building_id] = dict(names)
            self._rooms.setdefault(building_id, {})

    def update(self, building_id: str, states: dict[str, dict]) -> None:
        with self._lock:
            rooms = self._rooms.setdefault(building_id, {})
            for room_id, state in states.items():
                rooms[room_id] = state
                if state.get("bin_start"):
                    self.latest_bin[building_id] = max(
                        self.latest_bin.get(building_id, ""), state["bin_start"]
                    )

    def buildings(self) -> list[str]:
        with self._lock:
            return sorted(self._rooms)

    def rooms(self, building_id: str) -> list[dict] | None:
        with self._lock:
            if building_id not in self._rooms:
                return None
            known = self._rooms[building_id]
            ids = sorted(set(self.floors.get(building_id, {})) | set(known))
            return [
                {
                    "room_id": room_id,
                    "floor": self.floors.get(building_id, {}).get(room_id),
                    "name": self.names.get(building_id, {}).get(room_id),
                    "bin_start": None,
                    "occupied": None,
                    "occupancy": None,
                    "forecast": [],
                    **known.get(room_id, {}),
                }
                for room_id in ids
            ]


def room_states(result: StepResult) -> dict[str, dict]:
    """Per room: its latest closed bin's state and, if it has one, the forecast from there."""
    states: dict[str, dict] = {}
    rooms = result.room_states
    if rooms.empty:
        return states
    latest = rooms.sort_values("bin_start").groupby("room_id").tail(1)
    for row in latest.itertuples():
        occupancy = _number(row.occupancy)
        states[str(row.room_id)] = {
            "bin_start": _iso(row.bin_start),
            "occupied": None if occupancy is None else occupancy > 0,
            "occupancy": occupancy,
            "idle_minutes": _number(row.idle_minutes),
            "temperature": _number(row.temperature),
            "forecast": [],
        }
    forecasts = result.forecasts
    if len(forecasts):
        newest = forecasts[
            forecasts["anchor_bin_start"]
            == forecasts.groupby("room_id")["anchor_bin_start"].transform("max")
        ]
        for room_id, rows in newest.groupby("room_id"):
            if str(room_id) not in states:
                continue
            states[str(room_id)]["forecast"] = [
                {
                    "bin_start": _iso(r.bin_start),
                    "horizon": int(r.horizon),
                    "probability": float(r.occupied_probability),
                    "occupied": bool(r.occupied),
                }
                for r in rows.sort_values("horizon").itertuples()
            ]
    return states


def forecast_table(result: StepResult, published_at: pd.Timestamp) -> pa.Table:
    frame = result.forecasts.copy()
    frame["published_at"] = pd.Timestamp(published_at).floor("us")  # the table keeps µs
    frame["beats_baselines"] = frame["beats_baselines"].astype(object)
    return pa.Table.from_pandas(frame[SCHEMA.names], schema=SCHEMA, preserve_index=False)


@dataclass
class ForecastTable:
    """Appends to ``live_room_forecasts`` in the lakehouse."""

    lakehouse: object  # snuk_assets.lakehouse.Lakehouse
    appends: int = 0
    _partition_by: list[str] | None = None  # the table's, looked up on the first append

    @property
    def uri(self) -> str:
        return self.lakehouse.table_uri(TABLE)

    def append(self, table: pa.Table, *, commit_properties=None) -> int | None:
        """Append ``table``; the new Delta version (None if there were no rows).

        ``commit_properties`` (``deltalake.CommitProperties``) go with the commit: the Spark
        stream records its micro-batch there, so a batch run again is not appended twice.
        """
        if table.num_rows == 0:
            return None
        options = self.lakehouse.storage_options
        if self._partition_by is None:
            self._partition_by = self.lakehouse.append_partition_columns(TABLE)
        write_deltalake(
            self.uri,
            table,
            mode="append",
            partition_by=self._partition_by,
            storage_options=options,
            commit_properties=commit_properties,
            schema_mode="merge",  # a table from before the estimate's columns takes them
        )
        self.appends += 1
        delta = DeltaTable(self.uri, storage_options=options)
        if self.appends % COMPACT_EVERY == 0:
            delta.optimize.compact()
        return delta.version()


def mqtt_payloads(building_id: str, states: dict[str, dict]) -> list[tuple[str, bytes]]:
    """The retained ``.../state`` and ``.../forecast`` messages of each room."""
    messages = []
    for room_id, state in states.items():
        base = f"snuk/{building_id}/rooms/{room_id}"
        body = {k: v for k, v in state.items() if k != "forecast"}
        messages.append((f"{base}/state", json.dumps({"room_id": room_id, **body}).encode()))
        if state["forecast"]:
            forecast = {
                "room_id": room_id,
                "anchor_bin_start": state["bin_start"],
                "forecast": state["forecast"],
            }
            messages.append((f"{base}/forecast", json.dumps(forecast).encode()))
    return messages
