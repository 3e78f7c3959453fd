"""A building's own export (long or wide table) to SNUK observations, with a quarantine.

Pure: a DataFrame and its mapping in, observations (``sensor_id``, ``ts_ms``, ``value``) and
quarantined rows (``row_number``, ``raw_text``, ``reason``) out. Every value read ends in one of
the two, so ``values read = observations + quarantined``. Hand-written rather than a library:
the rules (which point is which sensor, declared conversions, timestamps in seconds quarantined
and never rescaled) are SNUK's own.

The mapping (``snuk import --mapping FILE``, documented in the README):

- ``format``: ``long`` (one row per point, time and value; ``point`` names the column or
  columns, joined by a space, that name the point; ``value``; optional ``unit``) or ``wide``
  (one column per point: each key of ``points`` is a column).
- ``timestamp``: ``column``; text with an offset (``2021-09-07 00:00 +08:00``), or local text
  read in ``timezone``; numbers are ``unit`` ``ms`` (default) or ``s`` since 1970 UTC.
- ``points``: per point, ``type`` and ``room`` (or the file's ``room``), and optionally a
  declared conversion: ``scale`` and ``offset`` (``value * scale + offset``), ``above`` (1 where
  the value is above it, else 0: a PIR share to motion), and the ``unit`` the point is given in
  (a long row whose unit differs is quarantined).
- ``sensor_id``: a template over ``{room}``, ``{point}`` and the table's columns (e.g.
  ``"{room} n{NodeID} {point}"``); default ``"{room} {point}"``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

_MS_2000 = 946_684_800_000  # 2000-01-01 UTC in ms: a timestamp in ms before it is suspicious
_MS_2100 = 4_102_444_800_000
_OFFSET_RE = r"(?:[+-]\d{2}:?\d{2}|Z|UTC)\s*$"


@dataclass(frozen=True)
class Converted:
    """What one table became: observations to land and rows quarantined, with the reason."""

    observations: pd.DataFrame  # sensor_id, point, room_id, sensor_type, ts_ms (int64), value
    quarantined: pd.DataFrame  # row_number, raw_text, reason
    values_read: int
    ignored_columns: tuple[str, ...] = ()  # wide: columns that are not points (not read)


def convert_table(frame: pd.DataFrame, mapping: Mapping, *, room: str | None = None) -> Converted:
    """One export table to observations and quarantine rows (see module docstring).

    ``room`` is the file's room (the mapping's ``room`` template, filled in by the caller);
    ``row_number`` counts the table's data rows from 1.
    """
    frame = frame.reset_index(drop=True)
    frame.insert(0, "_row", np.arange(1, len(frame) + 1))
    long = _long(frame, mapping) if mapping["format"] == "long" else _wide(frame, mapping)
    points = mapping["points"]
    reasons = pd.Series(None, index=long.index, dtype=object)

    def quarantine(mask, reason) -> None:
        mask = np.asarray(mask, dtype=bool) & reasons.isna().to_numpy()
        reasons[mask] = reason if isinstance(reason, str) else reason[mask]

    known = long["point"].isin(list(points))
    quarantine(~known, "unmapped point: " + long["point"].astype(str) + " is not in the mapping")
    spec = pd.DataFrame.from_dict({p: dict(v) for p, v in points.items()}, orient="index")
    per_point = spec.reindex(long["point"]).reset_index(drop=True)
    per_point.index = long.index
    room_of = (
        per_point["room"] if "room" in per_point else pd.Series(None, index=long.index)
    ).astype(object)
    room_of = room_of.fillna(room) if room is not None else room_of
    quarantine(known & room_of.isna(), "no room: the mapping gives the point no room")
    if "unit" in per_point and "unit" in long:
        declared = per_point["unit"]
        differs = declared.notna() & long["unit"].notna() & (declared != long["unit"].astype(str))
        quarantine(
            differs,
            "unit mismatch: given in "
            + long["unit"].astype(str)
            + ", mapped as "
            + declared.astype(str),
        )
    value = pd.to_numeric(long["value"], errors="coerce")
    quarantine(long["value"].isna(), "missing value")
    quarantine(value.isna(), "bad value: " + long["value"].astype(str) + " is not a number")
    ts_ms, ts_reason = timestamps_ms(long["timestamp"], mapping.get("timestamp", {}))
    quarantine(ts_reason.notna(), ts_reason)
    value = _conversions(value, per_point)
    good = reasons.isna().to_numpy()
    observations = pd.DataFrame(
        {
            "sensor_id": _sensor_ids(long, room_of, mapping)[good],
            "point": long["point"][good].astype(str),
            "room_id": room_of[good].astype(str),
            "sensor_type": per_point["type"][good].astype(str),
            "ts_ms": ts_ms[good].astype("int64"),
            "value": value[good].astype("float64"),
        }
    )
    bad = ~good
    quarantined = pd.DataFrame(
        {
            "row_number": long["_row"][bad].astype("int64"),
            "raw_text": _raw_text(frame, long["_row"][bad]),
            "reason": reasons[bad].astype(str),
        }
    )
    used = {"_row", mapping["timestamp"]["column"], *_template_columns(mapping, frame)}
    if mapping["format"] == "long":
        used |= {*_point_columns(mapping), mapping.get("value", "value"), mapping.get("unit")}
    ignored = tuple(c for c in frame.columns if c not in used and c not in points)
    return Converted(observations.reset_index(drop=True), quarantined, len(long), ignored)


def _point_columns(mapping: Mapping) -> list[str]:
    return mapping["point"] if isinstance(mapping["point"], list) else [mapping["point"]]


def _long(frame: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    columns = _point_columns(mapping)
    point = frame[columns[0]].astype(str)
    for column in columns[1:]:
        point = point + " " + frame[column].astype(str)
    out = pd.DataFrame(
        {
            "_row": frame["_row"],
            "point": point,
            "timestamp": frame[mapping["timestamp"]["column"]],
            "value": frame[mapping.get("value", "value")],
        }
    )
    if mapping.get("unit"):
        out["unit"] = frame[mapping["unit"]]
    return out.join(frame[_template_columns(mapping, frame)])


def _wide(frame: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """One row per (row, point column) of ``points`` present in the table."""
    point_columns = [p for p in mapping["points"] if p in frame.columns]
    keep = ["_row", mapping["timestamp"]["column"], *_template_columns(mapping, frame)]
    out = frame[list(dict.fromkeys(keep)) + point_columns].melt(
        id_vars=list(dict.fromkeys(keep)), var_name="point", value_name="value"
    )
    return out.rename(columns={mapping["timestamp"]["column"]: "timestamp"})


def _template_columns(mapping: Mapping, frame: pd.DataFrame) -> list[str]:
    names = [f for _, f, _, _ in string.Formatter().parse(_template(mapping)) if f]
    return [n for n in names if n in frame.columns and n not in ("room", "point")]


def _template(mapping: Mapping) -> str:
    return mapping.get("sensor_id", "{room} {point}")


def _sensor_ids(long: pd.DataFrame, room_of: pd.Series, mapping: Mapping) -> pd.Series:
    """The template filled in row by row, vectorised: literal text and columns concatenated."""
    out = pd.Series("", index=long.index, dtype=object)
    for literal, name, _, _ in string.Formatter().parse(_template(mapping)):
        out = out + literal
        if name == "room":
            out = out + room_of.astype(str)
        elif name == "point":
            out = out + long["point"].astype(str)
        elif name:
            out = out + long[name].astype(str)
    return out


def _conversions(value: pd.Series, per_point: pd.DataFrame) -> pd.Series:
    """The declared conversions: ``above`` (to 0/1), then ``value * scale + offset``."""
    if "above" in per_point:
        threshold = pd.to_numeric(per_point["above"])
        value = value.where(threshold.isna(), (value > threshold).astype(float))
    scale = pd.to_numeric(per_point["scale"]).fillna(1.0) if "scale" in per_point else 1.0
    offset = pd.to_numeric(per_point["offset"]).fillna(0.0) if "offset" in per_point else 0.0
    return value * scale + offset


def timestamps_ms(values: pd.Series, spec: Mapping) -> tuple[pd.Series, pd.Series]:
    """Milliseconds since 1970 UTC per value, and the reason where there is none.

    Text with an offset is read as such; text without one in ``spec["timezone"]`` (a local time
    that does not exist or is ambiguous there is quarantined); numbers are ``spec["unit"]``
    (``ms`` default, or ``s``). A number given where ms are expected that reads as a time
    since 2000 only in seconds is quarantined, never rescaled.
    """
    reason = pd.Series(None, index=values.index, dtype=object)
    ms = pd.Series(0, index=values.index, dtype="int64")
    numeric = pd.to_numeric(values, errors="coerce")
    is_number = numeric.notna()
    if is_number.any():
        number = numeric[is_number]
        unit = spec.get("unit", "ms")
        as_ms = number * 1000 if unit == "s" else number
        whole = (as_ms % 1 == 0) if unit == "ms" else pd.Series(True, index=number.index)
        seconds = (unit == "ms") & (number < _MS_2000) & (number * 1000 >= _MS_2000)
        seconds &= number * 1000 < _MS_2100
        if seconds.any():
            reason[number.index[seconds]] = [
                f"timestamp in seconds where milliseconds are expected: {v:.0f} (not rescaled;"
                " declare the timestamp's unit: s if the whole column is seconds)"
                for v in number[seconds]
            ]
        reason[number.index[~whole & ~seconds]] = "bad timestamp: not a whole number of ms"
        ok = number.index[whole & ~seconds]
        ms[ok] = as_ms[ok].round().astype("int64")
    text = values[~is_number & values.notna()].astype(str).str.strip()
    if len(text):
        has_offset = text.str.contains(_OFFSET_RE, regex=True)
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        if has_offset.any():
            parsed[has_offset] = pd.to_datetime(
                text[has_offset], utc=True, errors="coerce", format="mixed"
            )
        local = text[~has_offset]
        zone = spec.get("timezone")
        if len(local) and zone:
            naive = pd.to_datetime(local, errors="coerce", format="mixed")
            localized = pd.DatetimeIndex(naive).tz_localize(
                zone, ambiguous="NaT", nonexistent="NaT"
            )
            parsed[local.index] = localized.tz_convert("UTC")
            gap = naive.notna().to_numpy() & localized.isna()
            reason[local.index[gap]] = (
                f"bad timestamp: a local time that is ambiguous or does not exist in {zone}: "
                + local[gap]
            )
        elif len(local):
            reason[local.index] = "bad timestamp: no offset, and the mapping declares no timezone"
        bad = parsed.isna() & reason[text.index].isna()
        reason[text.index[bad]] = "bad timestamp: " + text[bad] + " is not a time"
        fine = parsed.notna()
        ms[text.index[fine]] = parsed[fine].astype("int64") // 1_000_000
    reason[values.isna()] = "missing timestamp"
    return ms, reason


def _raw_text(frame: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """The source row, as comma-separated text, for each quarantined row number."""
    if rows.empty:
        return pd.Series([], index=rows.index, dtype=object)
    lookup = frame.set_index("_row")
    text = lookup.loc[rows.to_numpy()].astype(object).fillna("").astype(str).agg(",".join, axis=1)
    return pd.Series(text.to_numpy(), index=rows.index).str.slice(0, 1024)
