"""Repeated deliveries resolve by one stated rule: the latest arrival wins."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from snuk_assets.transforms.resample.arrivals import latest_arrival_wins, with_sensor_type

A, B = "1000-1-1-1-t", "2000-2-2-2-m"
DAY1, DAY2 = dt.date(2016, 8, 14), dt.date(2016, 8, 15)


def raw(rows: list[tuple[str, int, float, dt.date, str]]) -> pa.Table:
    sensor, ts, value, date, source = zip(*rows, strict=True)
    return pa.table(
        {
            "sensor_id": pa.array(sensor),
            "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            "value": pa.array(value, pa.float64()),
            "date": pa.array(date, pa.date32()),
            "source_file": pa.array(source),
        }
    )


def test_latest_arrival_day_then_latest_file_wins():
    table, stats = latest_arrival_wins(
        raw(
            [
                (A, 1000, 21.0, DAY2, "gw1-0600.txt"),
                (A, 1000, 20.0, DAY1, "gw1-1800.txt"),  # earlier day: loses
                (A, 2000, 22.0, DAY1, "gw1-0600.txt"),
                (A, 2000, 23.0, DAY1, "gw1-1200.txt"),  # same day, later file: wins
                (B, 1000, 1.0, DAY1, "gw2.txt"),
                (B, 1000, 1.0, DAY2, "gw2.txt"),  # the same observation again
            ]
        )
    )
    assert [(r["sensor_id"], r["value"]) for r in table.to_pylist()] == [
        (A, 21.0),
        (A, 23.0),
        (B, 1.0),
    ]
    assert (stats.rows_in, stats.rows_out, stats.redelivered, stats.conflicting) == (6, 3, 1, 2)


def test_nothing_in_nothing_out():
    table, stats = latest_arrival_wins(raw([(A, 1, 1.0, DAY1, "f")]).slice(0, 0))
    assert table.num_rows == 0
    assert (stats.rows_in, stats.rows_out, stats.redelivered, stats.conflicting) == (0, 0, 0, 0)


def test_sensor_type_comes_from_the_id_letter():
    table = with_sensor_type(raw([(A, 1, 1.0, DAY1, "f"), (B, 1, 1.0, DAY1, "f")]))
    assert table["sensor_type"].to_pylist() == ["temperature", "motion"]
