"""What a ``viewer`` sees: floor and building aggregates, never one person's presence.

The occupancy of a room with one or two desks is its occupants' presence (personal data; in a
German office, the works council's business). A viewer therefore gets counts per floor and for
the building, and individually only the rooms with at least ``min_workplaces`` workplaces
(``SNUK_MIN_WORKPLACES``, default 2; shared rooms such as open spaces and meeting rooms).
The rooms below it appear only inside the counts, and a count is withheld where it would
single one of them out: a floor whose hidden rooms number exactly one (its count minus the
rooms shown is that room), and the building's count whenever a floor's is withheld (the
building minus the other floors would be that floor).

Workplaces come from the registry's optional ``workplaces`` per room; without it, desks by
kind as the simulator seats people (an office one per 12 m2, an open space one per 18 m2, a
meeting room one seat per 2.5 m2; kitchens, corridors and storage none of their own).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from snuk_assets.environment import DEFAULT_MIN_WORKPLACES

M2_PER_WORKPLACE = {"office": 12.0, "open_space": 18.0, "meeting": 2.5}


def room_workplaces(rooms: pd.DataFrame) -> dict[str, int]:
    """Per room id: its ``workplaces`` from the registry, else the default by kind and area."""
    out = {}
    for room in rooms.itertuples():
        given = getattr(room, "workplaces", None)
        if given is not None and not pd.isna(given):
            out[str(room.room_id)] = int(given)
        elif room.kind in M2_PER_WORKPLACE:
            out[str(room.room_id)] = max(1, math.floor(room.area_m2 / M2_PER_WORKPLACE[room.kind]))
        else:
            out[str(room.room_id)] = 0
    return out


def _counts(rooms: list[dict]) -> dict:
    reporting = [r for r in rooms if r.get("occupied") is not None]
    occupied = sum(1 for r in reporting if r["occupied"])
    expected = [max(f["probability"] for f in r["forecast"]) for r in rooms if r.get("forecast")]
    return {
        "rooms": len(rooms),
        "rooms_reporting": len(reporting),
        "occupied_rooms": occupied,
        "occupied_share": round(occupied / len(reporting), 4) if reporting else None,
        # the expected number of rooms occupied at some point in the next hour, at most
        "next_hour_expected_rooms": round(sum(expected), 3) if expected else None,
    }


def _withheld(rooms: list[dict], reason: str) -> dict:
    return {
        "rooms": len(rooms),
        "rooms_reporting": None,
        "occupied_rooms": None,
        "occupied_share": None,
        "next_hour_expected_rooms": None,
        "withheld": reason,
    }


def viewer_summary(
    building_id: str,
    rooms: list[dict],
    workplaces: Mapping[str, int],
    *,
    min_workplaces: int = DEFAULT_MIN_WORKPLACES,
) -> dict:
    """The viewer's view of ``rooms`` (``LiveView.rooms``' dicts: room_id, floor, occupied,
    forecast ...): per floor and for the building the counts, and the shared rooms."""
    floors: dict[int | None, list[dict]] = {}
    for room in rooms:
        floors.setdefault(room.get("floor"), []).append(room)
    floor_views, any_withheld = [], False
    for floor in sorted(floors, key=lambda f: (f is None, f)):
        members = floors[floor]
        shown = [r for r in members if workplaces.get(r["room_id"], 0) >= min_workplaces]
        hidden = len(members) - len(shown)
        if hidden == 1:
            counts = _withheld(members, "one room below the workplace minimum")
            any_withheld = True
        else:
            counts = _counts(members)
        floor_views.append(
            {
                "floor": floor,
                **counts,
                "shared_rooms": [
                    {
                        "room_id": r["room_id"],
                        "name": r.get("name"),
                        "workplaces": workplaces.get(r["room_id"], 0),
                        "bin_start": r.get("bin_start"),
                        "occupied": r.get("occupied"),
                        "next_hour_probability": (
                            max(f["probability"] for f in r["forecast"])
                            if r.get("forecast")
                            else None
                        ),
                    }
                    for r in shown
                ],
            }
        )
    building = _withheld(rooms, "a floor's count is withheld") if any_withheld else _counts(rooms)
    latest = max((r["bin_start"] for r in rooms if r.get("bin_start")), default=None)
    return {
        "building_id": building_id,
        "bin_start": latest,
        "min_workplaces": min_workplaces,
        "building": building,
        "floors": floor_views,
    }
