"""Occupancy is personal data: a room's data forgotten on request, raw observations expired.

``forget_room`` answers a data subject's request (GDPR Art. 17): every row of the room, in
every table of the lakehouse (by ``room_id``, or by the room's sensor ids where a table has
none; the quarantine by its raw text), is deleted with a Delta predicate delete, then each
table touched is vacuumed with retention 0 (Delta's 7-day minimum is waived for this purpose:
time travel to before the deletion ends) and its old log entries, whose file statistics and
delete predicates name the room, are cleaned up behind a new checkpoint. The landing zone's
raw files lose the room's lines too (rewritten, or deleted when nothing else is left).
``--before DATE`` limits all of it to the days before DATE (date partitions; landing folders).
In a portfolio (``SNUK_REGISTRIES``) the room is one building's (``--building``): only rows
whose ``building_id`` is that building's and only that building's landing folders are touched,
since room and sensor ids repeat across buildings (a building's twin).

``forget_building`` is the same for a building taken out of a portfolio: once its registry is
out of the folder, every row with its ``building_id``, in every table, is deleted (whole
partition files: the tables are partitioned by building first, so no other building's data file
is rewritten), the history purged as above, and its landing folders deleted.

``expire_raw`` keeps raw observations (``raw_observations``, ``quarantined_observations`` and
the landing zone's day folders) for ``SNUK_RAW_RETENTION_DAYS`` (default 90) arrival days;
``snuk vacuum`` and the weekly vacuum job run it first. Aggregates and models are kept beyond.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

RAW_TABLES = ("raw_observations", "quarantined_observations")


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def room_predicate(columns: Iterable[str], room_id: str, sensor_ids: Iterable[str]) -> str | None:
    """The SQL predicate (DataFusion) selecting the room's rows of a table with ``columns``."""
    columns = set(columns)
    sensors = sorted(set(sensor_ids))
    if "room_id" in columns:
        return f"room_id = {_quote(room_id)}"
    if "sensor_id" in columns and sensors:
        return f"sensor_id IN ({', '.join(_quote(s) for s in sensors)})"
    if "raw_text" in columns and sensors:  # the quarantine: a refused line naming a sensor
        return " OR ".join(f"raw_text LIKE {_quote('%' + s + '%')}" for s in sensors)
    return None


@dataclass
class ForgetReport:
    rows_deleted: dict[str, int] = field(default_factory=dict)
    tables_skipped: dict[str, str] = field(default_factory=dict)
    files_vacuumed: dict[str, int] = field(default_factory=dict)
    log_files_removed: dict[str, int] = field(default_factory=dict)
    landing_files_rewritten: int = 0
    landing_files_deleted: int = 0


def room_sensor_ids(settings, room_id: str) -> set[str]:
    """The room's sensors in the registry and in the lakehouse's ``sensors`` table (the
    settings' building's rows)."""
    from snuk_assets.tables import BUILDING_COLUMN

    registry = settings.registry()
    ids = set(registry.sensors.loc[registry.sensors["room_id"] == room_id, "sensor_id"])
    lakehouse = settings.lakehouse()
    if lakehouse.exists("sensors"):
        table = lakehouse.table("sensors").to_pandas()
        mine = table["room_id"] == room_id
        if BUILDING_COLUMN in table:
            mine &= table[BUILDING_COLUMN] == lakehouse.building_id
        ids |= set(table.loc[mine, "sensor_id"])
    return ids


def forget_room(settings, room_id: str, *, before: dt.date | None = None) -> ForgetReport:
    """Delete ``room_id``'s rows from every table (before ``before``), vacuum, scrub the landing:
    the rows and landing files of the settings' building (``settings.for_building``)."""
    lakehouse = settings.lakehouse()
    sensor_ids = room_sensor_ids(settings, room_id)
    report = _delete_everywhere(
        lakehouse,
        lakehouse.building_id,
        before=before,
        rows_of=lambda columns: room_predicate(columns, room_id, sensor_ids),
        why_not="no room_id, sensor_id or raw_text column",
    )
    rewritten, deleted = scrub_landing(
        settings.landing(), sensor_ids, before=before, building=settings.single_building_id()
    )
    report.landing_files_rewritten, report.landing_files_deleted = rewritten, deleted
    return report


def forget_building(settings, building_id: str, *, before: dt.date | None = None) -> ForgetReport:
    """Delete every row of ``building_id`` from every table (its days before ``before``), vacuum,
    and delete its landing folders' files: a building taken out of the portfolio.

    Raises
    ------
    ValueError
        If the lakehouse is not a portfolio's (no ``SNUK_REGISTRIES``), or the building still
        has its registry in the folder (its sensors would bring its data back).
    """
    from snuk_assets.building_ids import building_id_problem
    from snuk_assets.lakehouse import Lakehouse

    if not settings.registries_path:
        raise ValueError(
            "snuk forget --building is for a portfolio (SNUK_REGISTRIES): a deployment of one "
            "building (SNUK_REGISTRY) forgets rooms (--room)"
        )
    if problem := building_id_problem(building_id):
        raise ValueError(f"--building {building_id!r}: {problem}")
    if path := settings.registry_files().get(building_id):
        raise ValueError(
            f"building {building_id!r} still has its registry {path}: take it out of "
            f"SNUK_REGISTRIES {settings.registries_path} first, or its sensors' files would "
            "be ingested again"
        )
    lakehouse = Lakehouse(settings.lakehouse_uri)  # every building's tables, as they are
    report = _delete_everywhere(lakehouse, building_id, before=before)
    report.landing_files_deleted = delete_landing(settings.landing(), building_id, before=before)
    return report


def _delete_everywhere(
    lakehouse,
    building_id: str,
    *,
    before: dt.date | None,
    rows_of: Callable[[list[str]], str | None] | None = None,
    why_not: str = "",
) -> ForgetReport:
    """Delete ``building_id``'s rows from every table, or of them only those ``rows_of(columns)``
    selects if given (None: the table is skipped, for ``why_not``), those before ``before`` only
    if given, and purge the history of every table that lost rows (``purge_history``).

    A table with no ``building_id`` column holds the rows of a scoped lakehouse's building (the
    layout from before buildings): ``rows_of`` selects among them; without ``rows_of``, or in
    an unscoped lakehouse, such a table is kept.
    """
    from snuk_assets.tables import BUILDING_COLUMN

    report = ForgetReport()
    for name in lakehouse.table_names():
        table = lakehouse.table(name)
        columns = [f.name for f in table.schema().fields]
        clauses = []
        if rows_of is not None:
            rows = rows_of(columns)
            if rows is None:
                report.tables_skipped[name] = why_not
                continue
            clauses.append(f"({rows})")
        if BUILDING_COLUMN in columns:
            clauses.append(f"{BUILDING_COLUMN} = {_quote(building_id)}")
        elif rows_of is None or lakehouse.building_id is None:
            report.tables_skipped[name] = "no building_id column"
            continue
        if before is not None:
            if "date" not in columns:
                report.tables_skipped[name] = "no date column, and --before was given"
                continue
            clauses.append(f"date < {_quote(before.isoformat())}")
        metrics = table.delete(" AND ".join(clauses))
        report.rows_deleted[name] = int(metrics.get("num_deleted_rows", 0))
        if report.rows_deleted[name]:
            files, logs = purge_history(lakehouse, name)
            report.files_vacuumed[name] = files
            report.log_files_removed[name] = logs
    return report


def purge_history(lakehouse, name: str) -> tuple[int, int]:
    """Vacuum ``name`` with retention 0 and drop its log before a new checkpoint.

    Returns (data files deleted, log files deleted). The log retention is set to 0 only for
    the cleanup and put back after; readers on an older version of the table fail afterwards,
    which is the point.
    """
    table = lakehouse.table(name)
    files = table.vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False, full=True
    )
    previous = table.metadata().configuration.get("delta.logRetentionDuration")
    table.alter.set_table_properties({"delta.logRetentionDuration": "interval 0 seconds"})
    table = lakehouse.table(name)
    table.create_checkpoint()
    logs = table.cleanup_metadata()
    table = lakehouse.table(name)
    table.alter.set_table_properties({"delta.logRetentionDuration": previous or "interval 30 days"})
    return len(files), logs if isinstance(logs, int) else 0


def scrub_landing(
    landing, sensor_ids: set[str], *, before: dt.date | None, building: str | None = None
) -> tuple[int, int]:
    """Drop the sensors' lines from the landing zone's files (arrival days before ``before``;
    of ``building``'s day folders only, by its landing key, if given; ``quarantine/`` names
    no building and is scrubbed whole).

    Text formats lose every line naming one of the sensors (gzip is decompressed and written
    back compressed); Parquet files lose those rows. A file left empty is deleted.
    Returns (files rewritten, files deleted).
    """
    from snuk_assets.landing import day_files

    if not sensor_ids:
        return 0, 0
    needles = [s.encode() for s in sorted(sensor_ids)]
    rewritten = deleted = 0
    for prefix in ("raw_data", "quarantine"):
        # A file in no day folder names no building: scrubbed too, unless ``before`` is given.
        files = day_files(landing, building=building, before=before, prefix=prefix, undated=True)
        for entry in files:
            data = landing.read_bytes(entry.path)
            kept = _without_sensors(entry.path, data, needles, sensor_ids)
            if kept is None:
                continue
            if kept:
                landing.write_bytes(entry.path, kept)
                rewritten += 1
            else:
                landing.delete(entry.path)
                deleted += 1
    return rewritten, deleted


def delete_landing(landing, building: str, *, before: dt.date | None = None) -> int:
    """Delete the files of ``building``'s landing day folders (by its landing key; arrival days
    before ``before`` only, if given); the number deleted."""
    from snuk_assets.landing import day_files

    files = day_files(landing, building=building, before=before)
    for entry in files:
        landing.delete(entry.path)
    return len(files)


def _without_sensors(path: str, data: bytes, needles, sensor_ids) -> bytes | None:
    """The file without the sensors' lines or rows; None if it has none; b"" if only them."""
    if path.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        mine = pc.is_in(table["sensor_id"].cast(pa.string()), pa.array(sorted(sensor_ids)))
        if not pc.any(mine).as_py():
            return None
        kept = table.filter(pc.invert(mine))
        if kept.num_rows == 0:
            return b""
        out = io.BytesIO()
        pq.write_table(kept, out)
        return out.getvalue()
    zipped = data[:2] == b"\x1f\x8b"
    text = gzip.decompress(data) if zipped else data
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not any(n in line for n in needles)]
    if len(kept) == len(lines):
        return None
    header_only = path.endswith(".csv") and len(kept) <= 1
    if not kept or header_only:
        return b""
    body = b"".join(kept)
    return gzip.compress(body) if zipped else body


def expire_raw(
    settings, *, retention_days: int, today: dt.date | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Delete raw observations whose arrival day is more than ``retention_days`` before
    ``today``: rows of the raw tables and the landing zone's day folders (files deleted), of
    every building of a portfolio."""
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.landing import day_files

    today = today or dt.datetime.now(dt.UTC).date()
    cutoff = today - dt.timedelta(days=retention_days)
    lakehouse = Lakehouse(settings.lakehouse_uri)  # every building's rows
    done: dict[str, int] = {}
    for name in RAW_TABLES:
        if not lakehouse.exists(name):
            continue
        table = lakehouse.table(name)
        predicate = f"date < {_quote(cutoff.isoformat())}"
        if dry_run:
            old = table.to_pyarrow_table(filters=[("date", "<", cutoff)], columns=["date"])
            done[name] = old.num_rows
        else:
            done[name] = int(table.delete(predicate).get("num_deleted_rows", 0))
    landing = settings.landing()
    old_files = day_files(landing, before=cutoff)  # every building's
    if not dry_run:
        for entry in old_files:
            landing.delete(entry.path)
    done["landing files"] = len(old_files)
    done["cutoff"] = cutoff.isoformat()
    return done


def add_forget_parser(commands) -> None:
    forget = commands.add_parser(
        "forget",
        help="delete a room's data, or a removed building's, from every table and the landing "
        "zone (GDPR Art. 17)",
    )
    forget.add_argument("--room", default="", help="the room id, as in the registry")
    forget.add_argument(
        "--building",
        default="",
        help="in a portfolio (SNUK_REGISTRIES): the room's building; without --room, a "
        "building whose registry was taken out of the folder, forgotten whole",
    )
    forget.add_argument(
        "--before",
        type=dt.date.fromisoformat,
        default=None,
        help="only the days before this date (YYYY-MM-DD; date partitions, arrival folders)",
    )
    forget.set_defaults(func=forget_command)


def forget_command(args) -> int:
    from snuk_assets.settings import SnukSettings

    settings = SnukSettings.from_env()
    scope = f"before {args.before}" if args.before else "all days"
    try:
        if args.room:
            if args.building:
                settings = settings.for_building(args.building)
            elif settings.registries_path and len(settings.building_ids()) > 1:
                raise ValueError(
                    f"SNUK_REGISTRIES holds {len(settings.building_ids())} buildings: name the "
                    f"room's with --building (one of {', '.join(settings.building_ids())})"
                )
            report = forget_room(settings, args.room, before=args.before)
            what = f"room {args.room}" + (f" of building {args.building}" if args.building else "")
        elif args.building:
            report = forget_building(settings, args.building, before=args.before)
            what = f"building {args.building}"
        else:
            raise ValueError("name what to forget: --room ROOM, or --building BUILDING")
    except ValueError as error:
        print(f"snuk forget: {error}", file=sys.stderr)
        return 2
    print(f"{what}, {scope}:")
    for name, rows in sorted(report.rows_deleted.items()):
        vacuumed = report.files_vacuumed.get(name, 0)
        print(f"  {name}: {rows} rows deleted, {vacuumed} files vacuumed")
    for name, why in sorted(report.tables_skipped.items()):
        print(f"  {name}: kept ({why})")
    print(
        f"  landing zone: {report.landing_files_rewritten} files rewritten, "
        f"{report.landing_files_deleted} deleted"
    )
    return 0
