"""The live HTTP API and page (FastAPI): every room's state now and its next hour.

Every endpoint but ``/health``, the page and the OpenAPI description needs a bearer token
(``auth.py``, ``SNUK_API_TOKENS_FILE``): ``viewer`` gets ``/buildings`` and the aggregates of
``/buildings/{id}/summary`` (``aggregates.py``), ``operator`` also the per-room state and
forecasts, ``admin`` also enables and disables actuation per room (audited, with its reason).
Bound to loopback by default and without CORS headers (the page is served from the same
origin, so browsers refuse other origins' scripts reading the answers).
"""

# No ``from __future__ import annotations`` here: FastAPI resolves a string annotation in the
# module's globals, where the guards made inside create_app (Depends(viewer)) are not.
import threading
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from snuk_assets.environment import DEFAULT_MIN_WORKPLACES
from snuk_assets.live.aggregates import viewer_summary
from snuk_assets.live.auth import Principal, TokenStore, fastapi_guard
from snuk_assets.live.outputs import LiveView
from snuk_assets.live.page import PAGE


class ForecastBin(BaseModel):
    bin_start: str
    horizon: int
    probability: float
    occupied: bool


class RoomState(BaseModel):
    room_id: str
    floor: int | None = None
    name: str | None = None
    bin_start: str | None = None  # the latest closed bin
    occupied: bool | None = None
    occupancy: float | None = None
    forecast: list[ForecastBin] = []


class RoomForecast(BaseModel):
    room_id: str
    bin_start: str | None
    forecast: list[ForecastBin]


class ActuationChange(BaseModel):
    enabled: bool
    reason: str = Field(min_length=3, description="Why (kept in the audit table).")


def create_app(
    view: LiveView,
    health=lambda: {},
    *,
    tokens: TokenStore | None = None,
    actuation: dict | None = None,
    min_workplaces: int = DEFAULT_MIN_WORKPLACES,
) -> FastAPI:
    """The API over ``view``. ``tokens``: who may call it (none: every guarded endpoint
    answers 401). ``actuation``: per building, its ``control.safety.Actuation``."""
    guard = fastapi_guard(tokens or TokenStore([]))
    viewer, operator, admin = guard("viewer"), guard("operator"), guard("admin")
    actuation = actuation or {}
    app = FastAPI(
        title="SNUK live",
        description="Every room's occupancy now and the next hour's probabilities, every bin.",
    )

    def known_rooms(building_id: str) -> list[dict]:
        rooms = view.rooms(building_id)
        if rooms is None:
            raise HTTPException(404, f"unknown building {building_id!r}")
        return rooms

    @app.get("/health")
    def get_health() -> dict:
        return {
            "status": "ok",
            "buildings": view.buildings(),
            "latest_bin": view.latest_bin,
            **health(),
        }

    @app.get("/whoami")
    def get_whoami(who: Annotated[Principal, Depends(viewer)]) -> dict:
        return {"name": who.name, "role": who.role}

    @app.get("/buildings")
    def get_buildings(who: Annotated[Principal, Depends(viewer)]) -> list[str]:
        return view.buildings()

    @app.get("/buildings/{building_id}/summary")
    def get_summary(building_id: str, who: Annotated[Principal, Depends(viewer)]) -> dict:
        """Floor and building counts; individually only rooms with enough workplaces."""
        rooms = known_rooms(building_id)
        workplaces = view.workplaces.get(building_id, {})
        return viewer_summary(building_id, rooms, workplaces, min_workplaces=min_workplaces)

    @app.get("/buildings/{building_id}/rooms", response_model=list[RoomState])
    def get_rooms(building_id: str, who: Annotated[Principal, Depends(operator)]):
        return known_rooms(building_id)

    @app.get("/buildings/{building_id}/rooms/{room_id}/forecast", response_model=RoomForecast)
    def get_forecast(building_id: str, room_id: str, who: Annotated[Principal, Depends(operator)]):
        for room in known_rooms(building_id):
            if room["room_id"] == room_id:
                return {k: room[k] for k in ("room_id", "bin_start", "forecast")}
        raise HTTPException(404, f"unknown room {room_id!r} in {building_id!r}")

    def building_actuation(building_id: str):
        if building_id not in actuation:
            raise HTTPException(404, f"no actuation for building {building_id!r}")
        return actuation[building_id]

    @app.get("/buildings/{building_id}/actuation")
    def get_actuation(building_id: str, who: Annotated[Principal, Depends(admin)]) -> dict:
        return {"enabled_rooms": sorted(building_actuation(building_id).enabled_rooms())}

    @app.put("/buildings/{building_id}/rooms/{room_id}/actuation")
    def put_actuation(
        building_id: str,
        room_id: str,
        change: ActuationChange,
        who: Annotated[Principal, Depends(admin)],
    ) -> dict:
        """Enable or disable actuation of one room; audited with the admin and the reason."""
        control = building_actuation(building_id)
        if room_id not in {r["room_id"] for r in known_rooms(building_id)}:
            raise HTTPException(404, f"unknown room {room_id!r} in {building_id!r}")
        row = control.set(room_id, change.enabled, by=who.name, role=who.role, reason=change.reason)
        return {
            "room_id": room_id,
            "action": row["action"],
            "by": who.name,
            "issued_at": row["issued_at"].isoformat(),
        }

    @app.get("/", response_class=HTMLResponse)
    def get_page() -> str:
        return PAGE

    return app


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000):
    """Run uvicorn in a daemon thread; returns the server (``should_exit = True`` stops it)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="snuk-live-http", daemon=True)
    thread.start()
    return server
