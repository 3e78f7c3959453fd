"""The ``sensors`` asset: the building registry (rooms and sensors) as a Delta table."""

import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from snuk_assets.settings import SnukSettings


@asset(group_name="building", kinds={"delta"})
def sensors(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Every sensor of the building with its type, room and floor, from the registry YAML."""
    registry = settings.registry()
    table = registry.sensors.merge(
        registry.rooms[["room_id", "name", "kind"]].rename(
            columns={"name": "room_name", "kind": "room_kind"}
        ),
        on="room_id",
        how="left",
    ).assign(building_id=registry.building_id, timezone=registry.timezone)
    report = settings.lakehouse().replace_table(
        "sensors", pa.Table.from_pandas(table, preserve_index=False)
    )
    by_type = table.groupby("sensor_type").size().to_dict()
    context.log.info(
        f"registry {registry.building_id}: {len(table)} sensors in {len(registry.rooms)} rooms"
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "building": registry.building_id,
            "timezone": registry.timezone,
            "rooms": len(registry.rooms),
            "floors": len(registry.floors),
            "sensors_by_type": MetadataValue.json({k: int(v) for k, v in by_type.items()}),
            "table_uri": MetadataValue.path(report.table_uri),
            "delta_version": report.version,
        }
    )
