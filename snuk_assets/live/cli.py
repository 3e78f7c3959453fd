"""``snuk live``: the live service, and with ``--replay`` the simulated building published into it.

snuk live --broker mqtt://127.0.0.1:1883 --http 127.0.0.1:8000
snuk live --broker mqtt://127.0.0.1:1883 --http 127.0.0.1:8000 --replay --speed 60 \
    --start 2016-07-06 --days 1 --seed 42
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import threading
import time

import pandas as pd

# History simulated and trained on first when --replay finds no models: four weeks.
TRAIN_DAYS = 28
# Published at once before the replay's start, so its first bins have their windows and each
# motion sensor its last report (the batch looks back 3 days: a room quiet for longer than
# PRIME_DAYS has no occupancy until its first motion in the replay).
PRIME_DAYS = 1


def add_live_parser(commands) -> None:
    live = commands.add_parser("live", help="run the live service (MQTT in; table, MQTT, HTTP out)")
    add_arguments(live)
    live.set_defaults(func=live_command)
    token = commands.add_parser(
        "token", help="add a fresh API token to a tokens file (SNUK_API_TOKENS_FILE)"
    )
    token.add_argument("--role", required=True, choices=["viewer", "operator", "admin"])
    token.add_argument("--name", required=True, help="who holds it (kept in the audit)")
    token.add_argument("--file", required=True, help="the tokens file, created (0600) if missing")
    token.set_defaults(func=token_command)


def token_command(args: argparse.Namespace) -> int:
    """Append ``ROLE TOKEN NAME`` to the file and print the token once (it is not kept
    anywhere else; lost, make another and delete the old line)."""
    import os
    import pathlib

    from snuk_assets.live.auth import new_token_line

    token, line = new_token_line(args.role, args.name)
    path = pathlib.Path(args.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write(line)
    print(f"{args.role} token for {args.name} added to {path}:\n{token}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        help="mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS (credentials: SNUK_MQTT_*)",
    )
    parser.add_argument(
        "--http", default="127.0.0.1:8000", help="HOST:PORT of the API and page (loopback)"
    )
    parser.add_argument("--client-id", default="snuk-live", help="MQTT client id (session)")
    parser.add_argument("--delay", default="30s", help="allowed delay before a bin closes")
    parser.add_argument(
        "--flush", default="10s", help="archive (and acknowledge) received messages this often"
    )
    parser.add_argument("--replay", action="store_true", help="publish the simulated building")
    parser.add_argument("--speed", type=float, default=60.0, help="replay N x real time")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 7, 6))
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--clock",
        choices=["auto", "event"],
        default="auto",
        help="auto: real time, or the replay's N x real time; event: the newest measurement "
        "seen (a replay as fast as it goes, for benchmarks)",
    )
    parser.add_argument(
        "--control",
        choices=["off", "dry-run", "actuate"],
        default=None,
        help="the forecast policy's commands each bin: dry-run (default, SNUK_LIVE_CONTROL): "
        "audited in control_commands, none sent; actuate: sent to the rooms an admin enabled, "
        "at most SNUK_MAX_SWITCHES_PER_HOUR switches per room and hour; off: no decisions",
    )
    parser.add_argument(
        "--building",
        default="",
        help="with SNUK_REGISTRIES: the one building of the folder this service runs (one "
        "service per building); not needed for a folder of one building or SNUK_REGISTRY",
    )
    parser.add_argument(
        "--start-broker",
        action="store_true",
        help="start Debian's mosquitto on the --broker port unless something listens there",
    )


def live_command(args: argparse.Namespace) -> int:
    from snuk_assets.environment import live_control_values, min_workplaces
    from snuk_assets.live.api import create_app, serve
    from snuk_assets.live.auth import TokenStore
    from snuk_assets.live.broker import MqttConnection, is_tls_url
    from snuk_assets.live.service import (
        Clock,
        EventClock,
        LiveService,
        ReplayClock,
        parse_broker,
        parse_http,
    )
    from snuk_assets.settings import SnukSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = live_settings(SnukSettings.from_env(), args.building)
    control = live_control_values()
    connection = MqttConnection.from_env()
    if is_tls_url(args.broker) and not connection.uses_tls:
        connection = connection.model_copy(update={"tls": True})
    broker = parse_broker(args.broker, tls=connection.uses_tls)
    if args.start_broker:
        start_broker(*broker)
    clock: Clock = Clock()
    if args.replay:
        ensure_models(settings, args.start, args.seed)
        # A day of history first (at once), so the first bins have their lookback.
        clock = ReplayClock(start=pd.Timestamp(args.start, tz="UTC"), speed=args.speed)
    if args.clock == "event":
        clock = EventClock(pd.Timestamp(args.start, tz="UTC"))
    service = LiveService(
        settings,
        broker,
        client_id=args.client_id,
        clock=clock,
        delay=pd.Timedelta(args.delay),
        flush=pd.Timedelta(args.flush),
        connection=connection,
        control=args.control or control.mode,
        max_switches_per_hour=control.max_switches_per_hour,
    )
    host, port = parse_http(args.http)
    tokens = TokenStore.from_env()
    if not len(tokens):
        print(
            "No API tokens (SNUK_API_TOKENS_FILE): the API answers 401 to everything but "
            "/health; make one with `snuk token --role operator --name NAME --file FILE`",
            flush=True,
        )
    app = create_app(
        service.view,
        health=service.health,
        tokens=tokens,
        actuation=service.actuation,
        min_workplaces=min_workplaces(),
    )
    serve(app, host, port)
    print(
        f"SNUK live: broker {args.broker}, page http://{host}:{port}/, API docs /docs; "
        f"commands {service.control}",
        flush=True,
    )
    if args.replay:
        thread = threading.Thread(
            target=replay,
            kwargs=dict(
                settings=settings,
                broker=broker,
                connection=replay_connection(connection),
                clock=clock,
                start=args.start,
                days=args.days,
                seed=args.seed,
                stop=service._stop,
            ),
            daemon=True,
        )
        thread.start()
    service.run()
    return 0


def live_settings(settings, building: str):
    """The settings of the one building a live service runs: ``--building`` of a registries
    folder (``SnukSettings.for_building``), else the deployment's one building.

    Raises
    ------
    ValueError
        If a folder of several buildings is given no ``--building``.
    """
    if building:
        return settings.for_building(building)
    if settings.registries_path and len(settings.building_ids()) > 1:
        raise ValueError(
            f"SNUK_REGISTRIES {settings.registries_path} holds {len(settings.building_ids())} "
            f"buildings ({', '.join(settings.building_ids())}): a live service runs one, name it "
            "with --building"
        )
    return settings


def start_broker(host: str, port: int):
    """Mosquitto with ``deploy/mosquitto/mosquitto.conf`` on ``port`` (in memory), if needed."""
    import atexit
    import pathlib
    import shutil
    import socket
    import subprocess
    import tempfile

    with socket.socket() as sock:
        if sock.connect_ex((host, port)) == 0:
            return None
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not pathlib.Path(binary).exists():
        raise SystemExit("mosquitto is not installed: apt-get install mosquitto")
    template = pathlib.Path(__file__).resolve().parents[2] / "deploy/mosquitto/mosquitto.conf"
    conf = template.read_text().replace("listener 1883 127.0.0.1", f"listener {port} {host}")
    conf = conf.replace("persistence true", "persistence false")
    conf = conf.replace("persistence_location /var/lib/mosquitto/\n", "")
    path = pathlib.Path(tempfile.mkdtemp(prefix="snuk-mosquitto-")) / "mosquitto.conf"
    path.write_text(conf)
    process = subprocess.Popen([binary, "-c", str(path)])
    atexit.register(process.terminate)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return process
        time.sleep(0.1)
    raise SystemExit(f"mosquitto did not start on {host}:{port}")


def ensure_models(settings, start: dt.date, seed: int) -> None:
    """Simulate and train on the ``TRAIN_DAYS`` before ``start`` unless models exist."""
    from snuk_assets.live.step import load_models

    if load_models(settings.lakehouse(), start - dt.timedelta(days=1)):
        return
    from snuk_assets.pipeline import materialize_days
    from snuk_assets.simulate import simulate_building

    first = start - dt.timedelta(days=TRAIN_DAYS)
    last = start - dt.timedelta(days=1)
    print(f"No models in {settings.lakehouse_uri}: simulating {first} .. {last} and training")
    simulate_building(
        registry=settings.registry(),
        landing_uri=settings.landing_uri,
        truth_dir="./data/ground_truth",
        start=first,
        days=TRAIN_DAYS,
        seed=seed,
    )
    if not materialize_days(first, last, model_day=last, settings=settings, log=print):
        raise SystemExit("training failed")


def replay_connection(connection):
    """The replay publishes as a sensor gateway: on a broker with ACLs SNUK's own user may not
    (deploy/mosquitto/acl), so it takes SNUK_REPLAY_MQTT_USERNAME and _PASSWORD where set."""
    from snuk_assets.environment import mqtt_credentials

    gateway = mqtt_credentials(prefix="SNUK_REPLAY_MQTT")
    if not gateway.username:
        return connection
    return connection.model_copy(
        update={"username": gateway.username, "password": gateway.password}
    )


def replay(
    *, settings, broker, connection, clock, start: dt.date, days: int, seed: int, stop
) -> None:
    """Publish the simulated building from ``start - PRIME_DAYS``: those at once, then each
    observation when the replay clock reaches its timestamp (QoS 1)."""
    from snuk_assets.simulate.observations import simulate_observations

    registry = settings.registry()
    client = connection.client(client_id="snuk-replay")
    client.max_inflight_messages_set(1000)
    client.connect(*broker)
    client.loop_start()
    first = start - dt.timedelta(days=PRIME_DAYS)
    days_total = days + PRIME_DAYS
    building = registry.building_id
    for table in simulate_observations(registry=registry, start=first, days=days_total, seed=seed):
        frame = table.to_pandas().sort_values("timestamp_ms", kind="stable")
        for sensor, ts_ms, value in zip(
            frame["sensor_id"].astype(str), frame["timestamp_ms"], frame["value"], strict=True
        ):
            if stop.is_set():
                return
            wait = (ts_ms / 1000) - clock.now().value / 1e9
            if wait > 0 and hasattr(clock, "speed"):
                time.sleep(wait / clock.speed)
            payload = json.dumps({"timestamp": int(ts_ms), "value": float(value)})
            client.publish(f"snuk/{building}/sensors/{sensor}", payload, qos=1)
    client.loop_stop()
