"""The live service's throughput, latency and memory, broker to published forecast.

1. Models: trains on TRAIN_DAYS simulated days first unless the work folder's lakehouse has some.
2. Throughput: a real Mosquitto; the service (``python -m snuk_assets.live --clock event``) in
   its own process; this process publishes a primed day and ``--hours`` of the next one as fast
   as paho goes (QoS 1). Observations/s = messages / wall time from the first publish to the
   service reporting the last bin closed (archived, stepped, appended, published). The
   service's resident memory is sampled every 0.5 s.
3. Latency: ``snuk live --replay --speed S`` (real replay clock), for ``--latency-s`` wall
   seconds; the service's p50 and p95 from a bin's close (end + 30 s) to its publication, over
   the steps that closed one bin (steady state).

Everything runs on the same 2 cores (broker, publisher, service): the baseline is the
reference building's own rate (about 3 observations/s), the goal 5,000/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pandas as pd
import pyarrow as pa

PUBLISH_WINDOW = 20_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample_memory(pid: int, samples: list, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            samples.append((time.monotonic(), rss_mib(pid)))
        except OSError:
            return
        time.sleep(0.5)


def service(env, broker_port: int, http_port: int, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snuk_assets.live",
            "--broker",
            f"mqtt://127.0.0.1:{broker_port}",
            "--http",
            f"127.0.0.1:{http_port}",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_http(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while health(port) is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not start")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="benchmarks/results/live_scratch")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 7, 6))
    parser.add_argument("--hours", type=float, default=6.0, help="of the day after the prime")
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--latency-s", type=float, default=150.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    import paho.mqtt.client as mqtt

    from snuk_assets.live.cli import ensure_models, start_broker
    from snuk_assets.settings import SnukSettings
    from snuk_assets.simulate.observations import simulate_observations

    work = pathlib.Path(args.workdir).resolve()
    (work / "landing").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SNUK_LANDING_URI": str(work / "landing"),
        "SNUK_LAKEHOUSE_URI": str(work / "lakehouse"),
        "DAGSTER_HOME": tempfile.mkdtemp(prefix="snuk-bench-dh-"),
    }
    os.environ.update(env)
    settings = SnukSettings.from_env()
    t = time.monotonic()
    ensure_models(settings, args.start, args.seed)
    print(f"models ready ({time.monotonic() - t:.0f} s)", flush=True)
    registry = settings.registry()
    broker_port = free_port()
    broker = start_broker("127.0.0.1", broker_port)

    # -- throughput --------------------------------------------------------------------
    prime = args.start - dt.timedelta(days=1)
    tables = list(simulate_observations(registry=registry, start=prime, days=2, seed=args.seed))
    frame = pa.concat_tables(tables).to_pandas().sort_values("timestamp_ms", kind="stable")
    end_ms = pd.Timestamp(args.start, tz="UTC").value // 1_000_000 + int(args.hours * 3.6e6)
    frame = frame[frame["timestamp_ms"] < end_ms]
    building = registry.building_id
    messages = [
        (f"snuk/{building}/sensors/{s}", json.dumps({"timestamp": int(ts), "value": float(v)}))
        for s, ts, v in zip(
            frame["sensor_id"].astype(str), frame["timestamp_ms"], frame["value"], strict=True
        )
    ]
    http_port = free_port()
    proc = service(
        env,
        broker_port,
        http_port,
        "--clock",
        "event",
        "--start",
        prime.isoformat(),
        "--client-id",
        "bench-throughput",
    )
    wait_http(http_port)
    time.sleep(1)
    memory: list = []
    stop = threading.Event()
    threading.Thread(target=sample_memory, args=(proc.pid, memory, stop), daemon=True).start()
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    started = time.monotonic()
    # MQTT message ids are 16 bits: paho refuses a publish whose id is still outstanding
    # (ERR_QUEUE_SIZE), so at most PUBLISH_WINDOW messages are in flight at once.
    for first in range(0, len(messages), PUBLISH_WINDOW):
        window = messages[first : first + PUBLISH_WINDOW]
        infos = [client.publish(topic, payload, qos=1) for topic, payload in window]
        for info in infos:
            info.wait_for_publish(timeout=600)
    published = time.monotonic()
    # the last bin that can close: the newest measurement minus the delay, floored
    last_bin = (pd.Timestamp(end_ms - 1, unit="ms", tz="UTC") - pd.Timedelta("30s")).floor(
        "5min"
    ) - pd.Timedelta("5min")
    while True:
        h = health(http_port) or {}
        latest = (h.get("latest_bin") or {}).get(building)
        if latest and pd.Timestamp(latest) >= last_bin:
            break
        if time.monotonic() - started > 3600:
            raise TimeoutError(f"stuck at {latest}")
        time.sleep(0.2)
    done = time.monotonic()
    stop.set()
    client.loop_stop()
    client.disconnect()
    proc.terminate()
    proc.wait(timeout=30)
    rss = [m for _, m in memory]
    quarter = max(1, len(rss) // 4)
    throughput = {
        "messages": len(messages),
        "sensors": int(frame["sensor_id"].nunique()),
        "publish_s": round(published - started, 2),
        "wall_s": round(done - started, 2),
        "observations_per_s": round(len(messages) / (done - started), 1),
        "bins_closed": h.get("bins_closed"),
        "ingest": h.get("ingest"),
        "rss_mib_first_quarter_max": round(max(rss[:quarter]), 1),
        "rss_mib_last_quarter_max": round(max(rss[-quarter:]), 1),
        "rss_mib_peak": round(max(rss), 1),
    }
    print(json.dumps({"throughput": throughput}), flush=True)

    # -- latency -----------------------------------------------------------------------
    http_port = free_port()
    proc = service(
        env,
        broker_port,
        http_port,
        "--replay",
        "--speed",
        str(args.speed),
        "--start",
        args.start.isoformat(),
        "--days",
        "1",
        "--client-id",
        "bench-latency",
    )
    wait_http(http_port)
    time.sleep(args.latency_s)
    h = health(http_port) or {}
    proc.terminate()
    proc.wait(timeout=30)
    latency = {
        "speed": args.speed,
        "wall_s": args.latency_s,
        "bins_closed": h.get("bins_closed"),
        "latency_p50_s": h.get("latency_p50_s"),
        "latency_p95_s": h.get("latency_p95_s"),
        "replay_clock": h.get("clock"),
    }
    print(json.dumps({"latency": latency}), flush=True)
    out = work.parent / "live_benchmark.json"
    out.write_text(json.dumps({"throughput": throughput, "latency": latency}, indent=2))
    if broker is not None:
        broker.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
