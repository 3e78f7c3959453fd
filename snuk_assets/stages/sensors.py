"""The building registry (rooms and sensors) as the unpartitioned ``sensors`` table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from snuk_assets.lakehouse import WriteReport
    from snuk_assets.registry import BuildingRegistry
    from snuk_assets.settings import SnukSettings


def sensor_table(registry: BuildingRegistry) -> pd.DataFrame:
    """One row per sensor with its type, room, room name and kind, building and time zone."""
    return registry.sensors.merge(
        registry.rooms[["room_id", "name", "kind"]].rename(
            columns={"name": "room_name", "kind": "room_kind"}
        ),
        on="room_id",
        how="left",
    ).assign(building_id=registry.building_id, timezone=registry.timezone)


def write_sensors(settings: SnukSettings) -> tuple[WriteReport, pd.DataFrame]:
    """Replace the ``sensors`` table with every building's registry (a portfolio's, or the
    deployment's one); the write and the rows written, buildings sorted."""
    from snuk_assets.lakehouse import Lakehouse  # the driver's; workers import stages plain

    table = pd.concat(
        [sensor_table(scoped.registry()) for _, scoped in settings.each_building()],
        ignore_index=True,
    )
    write = Lakehouse(settings.lakehouse_uri).replace_table(
        "sensors", pa.Table.from_pandas(table, preserve_index=False)
    )
    return write, table
