"""The live HTTP API and page (FastAPI): every room's state now and its next hour.

Bound to loopback by default and without CORS headers (the page is served from the same
origin); authentication is the security issue's (bearer tokens per role).
"""

from __future__ import annotations

import threading

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

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


def create_app(view: LiveView, health=lambda: {}) -> FastAPI:
    app = FastAPI(
        title="SNUK live",
        description="Every room's occupancy now and the next hour's probabilities, every bin.",
    )

    @app.get("/health")
    def get_health() -> dict:
        return {
            "status": "ok",
            "buildings": view.buildings(),
            "latest_bin": view.latest_bin,
            **health(),
        }

    @app.get("/buildings")
    def get_buildings() -> list[str]:
        return view.buildings()

    @app.get("/buildings/{building_id}/rooms", response_model=list[RoomState])
    def get_rooms(building_id: str):
        rooms = view.rooms(building_id)
        if rooms is None:
            raise HTTPException(404, f"unknown building {building_id!r}")
        return rooms

    @app.get("/buildings/{building_id}/rooms/{room_id}/forecast", response_model=RoomForecast)
    def get_forecast(building_id: str, room_id: str):
        rooms = view.rooms(building_id)
        if rooms is None:
            raise HTTPException(404, f"unknown building {building_id!r}")
        for room in rooms:
            if room["room_id"] == room_id:
                return {k: room[k] for k in ("room_id", "bin_start", "forecast")}
        raise HTTPException(404, f"unknown room {room_id!r} in {building_id!r}")

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
