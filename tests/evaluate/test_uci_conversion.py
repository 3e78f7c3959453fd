"""The UCI file shape (7 names, 8 fields a row) becomes gateway-shaped observations."""

from __future__ import annotations

import pandas as pd

from snuk_assets.evaluate.datasets import landing_lines, uci_observations
from snuk_assets.sensor_types import is_valid_sensor_id

UCI_SAMPLE = (
    '"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n'
    '"1","2015-02-04 17:51:00",23.18,27.272,426,721.25,0.00479298817650529,1\n'
    '"2","2015-02-04 17:51:59",23.15,27.2675,429.5,714,0.00478344094931065,0\n'
)


def test_uci_rows_become_four_sensors_in_utc(tmp_path):
    path = tmp_path / "datatraining.txt"
    path.write_text(UCI_SAMPLE)
    observations = uci_observations(path)
    assert observations["sensor_id"].map(is_valid_sensor_id).all()
    assert sorted(observations["sensor_id"].str[-1].unique()) == ["h", "l", "m", "t"]
    light = observations[observations["sensor_id"].str.endswith("-l")]
    assert light["value"].tolist() == [426.0, 429.5]  # Light, not CO2, after the row index
    assert light["ts"].iloc[0] == pd.Timestamp("2015-02-04 16:51:00", tz="UTC")  # CET
    motion = observations[observations["sensor_id"].str.endswith("-m")]
    assert motion["value"].tolist() == [1.0, 0.0]
    assert landing_lines(light.head(1)) == (
        "sensor_id='9000-001-001-001-l', timestamp=1423068660000, value=426.0,\n"
    )


# The command itself (parsing, conversion, scoring) runs in tests/test_cli.py.
