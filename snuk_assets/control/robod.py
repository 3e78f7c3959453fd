"""ROBOD (Tekler et al., Building Simulation 15, 2022): energy used in empty rooms, and what
switching by each policy would have saved of it.

ROBOD's rooms log each end use's energy per 5-minute row beside the ground-truth presence.
Lighting and fans switch without a thermal model: a policy that has a room's lighting and fans
off in a row saves that row's logged energy, and costs the occupied minutes it leaves dark.
Chilled water needs one (the room's heat stays), so only its use in empty rows is reported,
as potential. The policies see presence as their sensor (ROBOD has no motion sensors):
``reactive`` keeps on until 20 minutes after the last present row; ``oracle`` is on exactly
in present rows; ``fixed_schedule`` 07:00-19:00 local on working days (Singapore's calendar,
``HOLIDAYS``; every ROBOD day is one); ``forecast`` is on when present in the row before, or
when SNUK's forest, trained on the room's September days (``TRAIN_BEFORE``) with the
pipeline's windows and training (and Singapore's holidays for ``working_day``), gives
the row a probability of occupancy above the room's price cut (``Prices``, the lamps' logged
power). A decision for a row uses the rows before it only (except the oracle's). Savings are
reported over the whole span for the baselines and, beside them, over the December days
the forest never saw, for every policy.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from snuk_assets.transforms.holidays import HolidayCalendar

ROOMS = {
    "Room1": "lecture room",
    "Room2": "lecture room",
    "Room3": "office (administrative staff)",
}
# Lighting, ceiling fans and the room's air-handling fan: a fan coil unit in the lecture
# rooms, a room air handling unit in the office (Room3 logs ahu_fan_energy instead).
SWITCHED = ["lighting_energy", "ceiling_fan_energy"]
ROOM_FANS = ("fcu_fan_energy", "ahu_fan_energy")
THERMAL = ["chilled_water_energy"]
ROW_MINUTES = 5
REACTIVE_DELAY_MINUTES = 20
TIMEZONE = "Asia/Singapore"
HOLIDAYS = HolidayCalendar("SG")  # the windows' working_day and the fixed schedule's days
TRAIN_BEFORE = pd.Timestamp("2021-11-01", tz="UTC")  # September block trains, December tests


def read_room(path: pathlib.Path) -> pd.DataFrame:
    """One ``combined_RoomN.csv``: local timestamps kept (UTC+08:00), energy columns as float."""
    frame = pd.read_csv(path)
    missing = {"timestamp", "occupant_presence", *SWITCHED, *THERMAL} - set(frame.columns)
    fans = [c for c in ROOM_FANS if c in frame.columns]
    if missing or not fans:
        raise ValueError(f"{path}: missing columns {sorted(missing) or ' or '.join(ROOM_FANS)}")
    frame["room_fan_energy"] = frame[fans[0]]
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M %z")
    return frame.sort_values("timestamp", ignore_index=True)


def complete_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows with presence and every energy column logged (the others are counted, not used)."""
    return frame[switched_columns() + THERMAL + ["occupant_presence"]].notna().all(axis=1)


def switched_columns() -> list[str]:
    return [*SWITCHED, "room_fan_energy"]


def policy_on(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per policy, whether lighting and fans are on in each row."""
    present = frame["occupant_presence"].to_numpy() > 0
    local = frame["timestamp"]
    hour = local.dt.hour.to_numpy()
    holidays = HOLIDAYS.dates(set(local.dt.year))
    working = (local.dt.day_of_week.to_numpy() < 5) & ~local.dt.date.isin(holidays).to_numpy()
    # Present in a row within the last 20 minutes, by the clock: the logged days are not
    # contiguous, and a gap in the rows is not presence.
    seconds = local.astype("int64").to_numpy() // 10**9
    hold_s = REACTIVE_DELAY_MINUTES * 60
    recent = np.zeros(len(frame), dtype=bool)
    for lag in range(1, min(REACTIVE_DELAY_MINUTES // ROW_MINUTES, len(frame) - 1) + 1):
        within = seconds[lag:] - seconds[:-lag] <= hold_s
        recent[lag:] |= present[:-lag] & within
    return {
        "fixed_schedule": working & (hour >= 7) & (hour < 19),
        "reactive": recent,
        "oracle": present,
    }


def room_frame(frame: pd.DataFrame, room_id: str) -> pd.DataFrame:
    """ROBOD rows as a SNUK ``room_series`` room: ``bin_start`` (UTC), ``occupancy`` (the
    presence) and ``idle_minutes`` (minutes since the last present row at the row's end)."""
    present = frame["occupant_presence"].to_numpy() > 0
    bin_start = frame["timestamp"].dt.tz_convert("UTC")
    seconds = bin_start.astype("int64").to_numpy() // 10**9
    last_present = pd.Series(np.where(present, seconds, np.nan)).ffill().to_numpy()
    idle = np.where(present, 0.0, (seconds + ROW_MINUTES * 60 - last_present) / 60)
    return pd.DataFrame(
        {
            "room_id": room_id,
            "bin_start": bin_start.to_numpy(),
            "occupancy": present.astype(float),
            "idle_minutes": idle,  # NaN before the first present row: no complete window
        }
    )


def forecast_now(frame: pd.DataFrame, room_id: str) -> tuple[np.ndarray, dict]:
    """Per row, the forest's probability that the row is occupied, made at the row before's
    end (NaN where no complete window or in the training block), and the model's summary."""
    from snuk_assets.stages.windows import room_day_windows
    from snuk_assets.transforms.models.blobs import load_model
    from snuk_assets.transforms.models.training import TrainingParams, positive_proba, train_room

    room = room_frame(frame, room_id)
    params = TrainingParams(timezone=TIMEZONE, freq=f"{ROW_MINUTES}min")
    windows, _ = room_day_windows(
        room,
        signals={room_id: ["occupancy", "idle_minutes"]},
        bsteps=12,
        fsteps=12,
        freq=params.freq,
        timezone=TIMEZONE,
        holidays=HOLIDAYS,
        anchors=pd.DatetimeIndex(room["bin_start"]),
    )
    proba = np.full(len(room), np.nan)
    train = windows[windows["bin_start"] < TRAIN_BEFORE] if len(windows) else windows
    if train.empty:
        return proba, {"status": "skipped", "reason": f"no complete window before {TRAIN_BEFORE}"}
    model_row = train_room(train, params).iloc[0]
    if model_row["status"] != "trained":
        return proba, {"status": model_row["status"], "reason": model_row["reason"]}
    test = windows[windows["bin_start"] >= TRAIN_BEFORE]
    # A window anchored at the row before forecasts this row at horizon 1.
    p_next = positive_proba(load_model(model_row["model"]), test[list(model_row["feature_names"])])
    anchors = pd.DatetimeIndex(room["bin_start"])
    target = anchors.get_indexer(pd.DatetimeIndex(test["bin_start"]) + pd.Timedelta(minutes=5))
    ok = target >= 0
    proba[target[ok]] = p_next[ok, 0]
    return proba, {"status": "trained", "n_train": int(model_row["n_train"])}


def forecast_on(frame: pd.DataFrame, proba: np.ndarray, switched_kwh: np.ndarray) -> np.ndarray:
    """The forecast policy's lights and fans: present in the row before, or the forecast at
    least the room's price cut; unknown forecast: reactive."""
    from snuk_assets.control.policies import Prices

    prices = Prices()
    present = frame["occupant_presence"].to_numpy() > 0
    on_rows = switched_kwh[switched_kwh > 0]
    row_kwh = float(np.median(on_rows)) if on_rows.size else 0.0
    cut = row_kwh * prices.kwh_eur / (ROW_MINUTES * prices.default_dark_minute_eur)
    before = np.concatenate([[False], present[:-1]])
    reactive = policy_on(frame)["reactive"]
    return np.where(np.isnan(proba), reactive, before | (np.nan_to_num(proba) >= cut))


def robod_savings(folder: pathlib.Path) -> dict:
    """Per room: kWh used while empty (switched end uses and chilled water), and per policy
    the switched kWh saved and the occupied minutes it would have left off."""
    report = {}
    for name, function in ROOMS.items():
        path = pathlib.Path(folder) / f"combined_{name}.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path}: not found (ROBOD's combined_<room>.csv files)")
        frame = read_room(path)
        complete = complete_rows(frame)
        # A row without presence or energy is left out of every sum (and counted): the reactive
        # hold sees the gap as absence.
        decisions = policy_on(frame.assign(occupant_presence=frame["occupant_presence"].fillna(0)))
        proba, model = forecast_now(
            frame.assign(occupant_presence=frame["occupant_presence"].fillna(0)), name
        )
        all_switched = frame[switched_columns()].sum(axis=1).fillna(0).to_numpy()
        decisions["forecast"] = forecast_on(
            frame.assign(occupant_presence=frame["occupant_presence"].fillna(0)),
            proba,
            all_switched,
        )
        decisions = {policy: on[complete.to_numpy()] for policy, on in decisions.items()}
        rows_incomplete = int((~complete).sum())
        frame = frame[complete].reset_index(drop=True)
        present = frame["occupant_presence"].to_numpy() > 0
        switched = frame[switched_columns()].sum(axis=1).to_numpy()
        chilled = frame[THERMAL].sum(axis=1).to_numpy()
        room = {
            "function": function,
            "rows": len(frame) + rows_incomplete,
            "rows_incomplete": rows_incomplete,
            "days": int(frame["timestamp"].dt.date.nunique()),
            "occupied_share": float(present.mean()),
            "switched_kwh": float(switched.sum()),
            "switched_kwh_empty": float(switched[~present].sum()),
            "chilled_water_kwh": float(chilled.sum()),
            "chilled_water_kwh_empty": float(chilled[~present].sum()),
            "policies": {},
        }
        room["forecast_model"] = model
        test = (frame["timestamp"] >= TRAIN_BEFORE).to_numpy()
        room["test_days"] = int(frame.loc[test, "timestamp"].dt.date.nunique())
        room["test_switched_kwh_empty"] = float(switched[test & ~present].sum())
        room["test_policies"] = {
            policy: {
                "switched_kwh_saved": float(switched[test & ~on].sum()),
                "occupied_minutes_off": int((test & present & ~on).sum() * ROW_MINUTES),
            }
            for policy, on in decisions.items()
        }
        decisions.pop("forecast")
        for policy, on in decisions.items():
            room["policies"][policy] = {
                "switched_kwh_saved": float(switched[~on].sum()),
                "share_of_empty_saved": float(switched[~on & ~present].sum())
                / max(room["switched_kwh_empty"], 1e-12),
                "occupied_minutes_off": int((present & ~on).sum() * ROW_MINUTES),
            }
        report[name] = room
    return report


def format_robod(report: dict) -> list[str]:
    lines = [
        "ROBOD (Tekler et al. 2022): lighting + ceiling fan + room fan (FCU; AHU in Room3) "
        "energy (switched) and chilled water, kWh"
    ]
    for name, room in report.items():
        lines.append(
            f"{name} ({room['function']}, {room['days']} days, occupied "
            f"{room['occupied_share']:.0%} of rows): switched {room['switched_kwh']:.1f} kWh, "
            f"{room['switched_kwh_empty']:.1f} while empty; chilled water "
            f"{room['chilled_water_kwh']:.1f} kWh, {room['chilled_water_kwh_empty']:.1f} while "
            f"empty; {room['rows_incomplete']} of {room['rows']} rows incomplete, left out"
        )
        for policy, figures in room["policies"].items():
            lines.append(
                f"  {policy:16s} saves {figures['switched_kwh_saved']:8.1f} kWh "
                f"({figures['share_of_empty_saved']:.0%} of the empty-room use), "
                f"{figures['occupied_minutes_off']:6d} occupied minutes off"
            )
        lines.append(
            f"  December ({room['test_days']} days the forest never saw; "
            f"{room['test_switched_kwh_empty']:.1f} kWh while empty):"
        )
        for policy, figures in room["test_policies"].items():
            lines.append(
                f"    {policy:14s} saves {figures['switched_kwh_saved']:8.1f} kWh, "
                f"{figures['occupied_minutes_off']:6d} occupied minutes off"
            )
    return lines
