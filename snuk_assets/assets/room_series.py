"""The ``room_series`` asset: each room's bins, its motion and climate sensors combined."""

import pyarrow as pa
from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.pictures import png_markdown, room_heatmap
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.rooms import room_series as combine_rooms

SERIES_COLUMNS = ["room_id", "sensor_type", "bin_start", "value", "coverage", "date"]


@asset(
    deps=["resampled_series"],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="features",
    kinds={"delta"},
)
def room_series(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Per room and bin: occupancy (max motion ON share), mean climate, and their coverage."""
    days = partition_dates(context.partition_keys)
    lakehouse = settings.lakehouse()
    series = lakehouse.read("resampled_series", dates=days, columns=SERIES_COLUMNS).to_pandas()
    rooms = combine_rooms(series)
    rooms["date"] = rooms["bin_start"].dt.date
    table = pa.Table.from_pandas(rooms, schema=SCHEMA, preserve_index=False)
    report = lakehouse.replace_partitions("room_series", table, dates=days)
    no_motion = rooms.groupby("room_id")["occupancy"].apply(lambda s: s.isna().mean())
    pictures = {}
    if len(rooms):
        heatmap = room_heatmap(
            rooms,
            value="occupancy",
            title=f"Occupancy per room, {days[0]} .. {days[-1]}",
            label="occupied share of bin (blank: no motion coverage)",
        )
        pictures["occupancy_by_room"] = MetadataValue.md(
            png_markdown(heatmap, alt="occupancy per room and bin")
        )
    return MaterializeResult(
        metadata={
            **pictures,
            "dagster/row_count": table.num_rows,
            "rooms": int(rooms["room_id"].nunique()),
            "occupied_bin_share": float((rooms["occupancy"] > 0).mean()) if len(rooms) else 0.0,
            "bins_without_motion_coverage": MetadataValue.json(
                {room: round(float(share), 4) for room, share in no_motion.items() if share > 0}
            ),
            "occupancy_estimator": "max over the room's motion sensors of the ON share "
            "(a lower bound of the union)",
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )


SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("bin_start", pa.timestamp("us", tz="UTC")),
        ("occupancy", pa.float64()),
        ("temperature", pa.float64()),
        ("humidity", pa.float64()),
        ("luminosity", pa.float64()),
        ("occupancy_coverage", pa.float64()),
        ("temperature_coverage", pa.float64()),
        ("humidity_coverage", pa.float64()),
        ("luminosity_coverage", pa.float64()),
        ("date", pa.date32()),
    ]
)
