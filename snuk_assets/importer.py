"""``snuk import``: a building's exports to landing files and a registry the pipeline reads.

The files the mapping names (CSV or Parquet, long or wide: ``transforms.imports``) become the
gateway's landing lines (JSON lines where an id holds a quote) under
``<out>/landing/raw_data/YYYY/MM/DD/`` (each observation lands on its measurement day, UTC),
``<out>/registry.yaml`` lists the rooms and sensors, and ``<out>/import_quarantine.csv`` the
rows that could not be imported, each with its file, row and reason.
"""

from __future__ import annotations

import argparse
import json
import pathlib
from collections import Counter

import pandas as pd
import yaml

from snuk_assets.sensor_types import is_valid_sensor_id
from snuk_assets.transforms.imports import convert_table

REQUIRED = ("building_id", "timezone", "format", "files", "timestamp", "points")


def load_mapping(path: str | pathlib.Path) -> dict:
    """Read a mapping YAML; a ValueError names the file and what is missing or wrong."""
    mapping = yaml.safe_load(pathlib.Path(path).read_text())
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: expected a mapping with {', '.join(REQUIRED)}")
    missing = [key for key in REQUIRED if key not in mapping]
    if missing:
        raise ValueError(f"{path}: missing {missing}")
    if mapping["format"] not in ("long", "wide"):
        raise ValueError(f"{path}: format must be long or wide, not {mapping['format']!r}")
    if mapping["format"] == "long" and "point" not in mapping:
        raise ValueError(f"{path}: a long table needs point: the column(s) naming the point")
    for name, point in mapping["points"].items():
        if not isinstance(point, dict) or "type" not in point:
            raise ValueError(f"{path}: point {name!r} needs a type")
    return mapping


def read_table(path: pathlib.Path, mapping: dict) -> pd.DataFrame:
    """A CSV (``csv:`` options: ``names`` for a file without header, ``sep``) or Parquet."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    options = mapping.get("csv", {})
    names = options.get("names")
    return pd.read_csv(
        path,
        sep=options.get("sep", ","),
        header=None if names else "infer",
        names=names,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skipinitialspace=True,
    )


def import_building(mapping_path: str, data: str, out: str) -> dict:
    """Import every file of ``data`` the mapping names into ``out``; the counts, by reason."""
    mapping = load_mapping(mapping_path)
    data_dir, out_dir = pathlib.Path(data), pathlib.Path(out)
    patterns = mapping["files"] if isinstance(mapping["files"], list) else [mapping["files"]]
    files = sorted({p for pattern in patterns for p in data_dir.glob(pattern) if p.is_file()})
    if not files:
        raise ValueError(f"{data_dir}: no file matches {patterns}")
    landing = out_dir / "landing"
    counts: Counter = Counter()
    reasons: Counter = Counter()
    sensors: dict[str, tuple[str, str]] = {}
    quarantine = []
    ignored: Counter = Counter()
    for path in files:
        room = mapping.get("room")
        if room:
            room = room.format(stem=path.stem, folder=path.parent.name)
        table = read_table(path, mapping)
        converted = convert_table(table, mapping, room=room)
        obs = converted.observations
        counts.update(read=converted.values_read, imported=len(obs))
        ignored.update(converted.ignored_columns)
        counts["quarantined"] += len(converted.quarantined)
        reasons.update(converted.quarantined["reason"].str.split(":").str[0])
        source = str(path.relative_to(data_dir))
        quarantine.append(converted.quarantined.assign(source_file=source))
        for row in obs[["sensor_id", "sensor_type", "room_id"]].drop_duplicates().itertuples():
            # An id that is no id lands all the same: the ingest quarantines it with the reason.
            if is_valid_sensor_id(row.sensor_id):
                sensors[row.sensor_id] = (row.sensor_type, row.room_id)
        counts["landing_files"] += write_landing(obs, landing, name=f"import-{path.stem}")
    write_registry(mapping, sensors, out_dir / "registry.yaml")
    pd.concat(quarantine, ignore_index=True)[
        ["source_file", "row_number", "raw_text", "reason"]
    ].to_csv(out_dir / "import_quarantine.csv", index=False)
    counts.update(files=len(files), sensors=len(sensors))
    return {"counts": dict(counts), "reasons": dict(reasons), "ignored_columns": sorted(ignored)}


def write_landing(obs: pd.DataFrame, landing: pathlib.Path, *, name: str) -> int:
    """One landing file per UTC day of measurement; the number of files written."""
    if obs.empty:
        return 0
    days = pd.to_datetime(obs["ts_ms"], unit="ms", utc=True).dt.strftime("%Y/%m/%d")
    quoted = obs["sensor_id"].str.contains("'", regex=False).any()
    written = 0
    for day, rows in obs.groupby(days, sort=True):
        folder = landing / "raw_data" / day
        folder.mkdir(parents=True, exist_ok=True)
        values = rows["value"].map(repr)
        if quoted:  # the gateway's lines cannot hold a quote inside an id
            lines = [
                json.dumps({"sensor_id": s, "timestamp": int(t), "value": float(v)})
                for s, t, v in zip(rows["sensor_id"], rows["ts_ms"], rows["value"], strict=True)
            ]
            (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        else:
            lines = (
                "sensor_id='"
                + rows["sensor_id"]
                + "', timestamp="
                + rows["ts_ms"].astype(str)
                + ", value="
                + values
                + ","
            )
            (folder / f"{name}.txt").write_text("\n".join(lines) + "\n")
        written += 1
    return written


def write_registry(mapping: dict, sensors: dict[str, tuple[str, str]], path: pathlib.Path) -> None:
    """The registry YAML: the mapping's building, floors, rooms (``rooms:`` overrides) and
    declared ``sensor_types``, and every sensor imported."""
    floors = mapping.get("floors") or [{"floor": 0, "name": "Floor 0"}]
    overrides = {str(k): v for k, v in (mapping.get("rooms") or {}).items()}
    room_ids = sorted({room for _, room in sensors.values()})
    rooms = [
        {
            "room_id": room,
            "floor": int(overrides.get(room, {}).get("floor", floors[0]["floor"])),
            "name": str(overrides.get(room, {}).get("name", room)),
            "kind": str(overrides.get(room, {}).get("kind", mapping.get("room_kind", "office"))),
            # The exports carry no floor area; 20 m2 unless the mapping says.
            "area_m2": float(overrides.get(room, {}).get("area_m2", 20.0)),
        }
        for room in room_ids
    ]
    document = {
        "building_id": mapping["building_id"],
        "name": mapping.get("name", mapping["building_id"]),
        "timezone": mapping["timezone"],
        "floors": floors,
        "rooms": rooms,
        "sensor_types": mapping.get("sensor_types") or [],
        "sensors": [
            {"sensor_id": sid, "room_id": room, "type": kind}
            for sid, (kind, room) in sorted(sensors.items())
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def add_import_parser(commands) -> None:
    parser = commands.add_parser(
        "import", help="turn a building's exports into landing files and a registry"
    )
    parser.add_argument("--mapping", required=True, help="mapping YAML (README: snuk import)")
    parser.add_argument("--data", required=True, help="folder of the export files")
    parser.add_argument("--out", required=True, help="folder for landing/, registry.yaml")
    parser.set_defaults(func=_import_command)


def _import_command(args: argparse.Namespace) -> int:
    report = import_building(args.mapping, args.data, args.out)
    counts = report["counts"]
    print(
        f"{counts['files']} files: {counts['read']} values read, {counts['imported']} imported, "
        f"{counts['quarantined']} quarantined ({args.out}/import_quarantine.csv); "
        f"{counts['sensors']} sensors in {args.out}/registry.yaml, "
        f"{counts.get('landing_files', 0)} landing files in {args.out}/landing"
    )
    for reason, n in sorted(report["reasons"].items()):
        print(f"  {reason}: {n}")
    if report["ignored_columns"]:
        print(f"  columns that are no point of the mapping, not read: {report['ignored_columns']}")
    return 0 if counts["read"] == counts["imported"] + counts["quarantined"] else 1
