"""The one module that reads SNUK's own environment variables (the AWS ones are boto's and
delta-rs' own, and the EMR launcher's are read in ``emr/environment.py``).

Readers, each called where it is needed: ``settings_values`` for ``SnukSettings``
(``settings.py``), ``calendar_values`` for the partitions, fixed when the asset graph is built
(``partitions.py``; ``portfolio_environment`` for a child process whose graph is a portfolio's,
``cli.py``), ``engine_choice`` and ``spark_master`` for where per-group work runs
(``engines/choice.py``, ``engines/spark_session.py``), ``live_control_values`` for the commands
of ``snuk live`` (``live/cli.py``); and for access and privacy (issue 26): ``mqtt_credentials``
(the broker account, ``live/broker.py``; the replay's gateway account too), ``api_tokens_file``
(``live/auth.py``), ``min_workplaces`` (``live/aggregates.py``), ``raw_retention_days``
(``privacy.py``), and the live service's crash hook for its tests, ``live_crash_after_files``.
A variable that is set but malformed fails naming the variable and the expected form.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_START_DATE = "2016-06-01"
DEFAULT_MAX_LATENESS_DAYS = 3
DEFAULT_ENGINE = "local"
LIVE_CONTROL_MODES = ("off", "dry-run", "actuate")
DEFAULT_LIVE_CONTROL = "dry-run"
DEFAULT_MAX_SWITCHES_PER_HOUR = 4
DEFAULT_MIN_WORKPLACES = 2
DEFAULT_RAW_RETENTION_DAYS = 90


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def absolute(uri: str) -> str:
    """A local folder as an absolute path; a URI (``s3://...``) unchanged.

    Runs launched from the UI start in other processes; pinning relative folders to where the
    settings were read makes every process see the same tables.
    """
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())


def parse_max_gap(text: str, variable: str = "SNUK_MAX_GAP") -> dict[str, str]:
    """``"motion=2h,temperature=10min"`` as ``{"motion": "2h", "temperature": "10min"}``.

    The durations are checked by ``SnukSettings`` (units, sign, the lookback); here only the
    form: comma-separated ``type=duration`` pairs, each type once.
    """
    gaps: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        sensor_type, sep, duration = (piece.strip() for piece in pair.partition("="))
        if not sep or not sensor_type or not duration or sensor_type in gaps:
            raise ValueError(
                f"{variable}={text!r}: expected comma-separated type=duration pairs, each type "
                "once, e.g. motion=2h,temperature=10min"
            )
        gaps[sensor_type] = duration
    return gaps


def _number(kind: Callable[[str], object], name: str) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{name}={text!r} is not a {kind.__name__}") from None

    return parse


# SnukSettings field -> (its variable, how the variable's text becomes the field's value).
SETTINGS_VARIABLES: dict[str, tuple[str, Callable[[str], object]]] = {
    "landing_uri": ("SNUK_LANDING_URI", absolute),
    "landing_queue_url": ("SNUK_LANDING_QUEUE_URL", str),
    "landing_queue_wait_seconds": (
        "SNUK_LANDING_QUEUE_WAIT_SECONDS",
        _number(int, "SNUK_LANDING_QUEUE_WAIT_SECONDS"),
    ),
    "landing_queue_max_batches": (
        "SNUK_LANDING_QUEUE_MAX_BATCHES",
        _number(int, "SNUK_LANDING_QUEUE_MAX_BATCHES"),
    ),
    "landing_repair_interval_minutes": (
        "SNUK_LANDING_REPAIR_INTERVAL_MINUTES",
        _number(int, "SNUK_LANDING_REPAIR_INTERVAL_MINUTES"),
    ),
    "lakehouse_uri": ("SNUK_LAKEHOUSE_URI", absolute),
    "registry_path": ("SNUK_REGISTRY", str),
    "registries_path": ("SNUK_REGISTRIES", str),
    "max_lateness_days": (
        "SNUK_MAX_LATENESS_DAYS",
        _number(int, "SNUK_MAX_LATENESS_DAYS"),
    ),
    "bin_freq": ("SNUK_BIN_FREQ", str),
    "max_offline_share": ("SNUK_MAX_OFFLINE_SHARE", _number(float, "SNUK_MAX_OFFLINE_SHARE")),
    "max_gap": ("SNUK_MAX_GAP", parse_max_gap),
    "max_on": ("SNUK_MAX_ON", str),
    "truth_dir": ("SNUK_TRUTH_DIR", absolute),
    "max_line_bytes": ("SNUK_MAX_LINE_BYTES", _number(int, "SNUK_MAX_LINE_BYTES")),
    "max_file_bytes": ("SNUK_MAX_FILE_BYTES", _number(int, "SNUK_MAX_FILE_BYTES")),
    "estimate_history_days": (
        "SNUK_ESTIMATE_HISTORY_DAYS",
        _number(int, "SNUK_ESTIMATE_HISTORY_DAYS"),
    ),
}
# Relative folders of the unset URIs resolve like the set ones.
DEFAULT_URIS = {
    "landing_uri": "./data/landing",
    "lakehouse_uri": "./data/lakehouse",
    "truth_dir": "./data/ground_truth",
}


def settings_values(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The ``SnukSettings`` fields whose variables are set (non-empty), parsed.

    The folders and URIs are always given (their defaults made absolute); other unset fields keep
    the settings' own defaults.
    """
    env = _environ(environ)
    values: dict[str, object] = {field: absolute(uri) for field, uri in DEFAULT_URIS.items()}
    for field, (variable, parse) in SETTINGS_VARIABLES.items():
        text = env.get(variable, "").strip()
        if text:
            values[field] = parse(text)
    return values


@dataclass(frozen=True)
class CalendarValues:
    """What the asset graph is built with: the first daily partition and the lateness."""

    start_date: str
    max_lateness_days: int
    # SNUK_REGISTRIES set: the stages are partitioned by (building, day), not by day alone.
    by_building: bool = False


def calendar_values(environ: Mapping[str, str] | None = None) -> CalendarValues:
    """``SNUK_START_DATE``, ``SNUK_MAX_LATENESS_DAYS`` and whether ``SNUK_REGISTRIES`` is set,
    read when the partitions are built."""
    env = _environ(environ)
    lateness = env.get("SNUK_MAX_LATENESS_DAYS", "").strip()
    parse = SETTINGS_VARIABLES["max_lateness_days"][1]
    return CalendarValues(
        start_date=env.get("SNUK_START_DATE", "").strip() or DEFAULT_START_DATE,
        max_lateness_days=int(parse(lateness)) if lateness else DEFAULT_MAX_LATENESS_DAYS,
        by_building=bool(env.get("SNUK_REGISTRIES", "").strip()),
    )


DEFAULT_PORTFOLIO_REGISTRIES = "./data/registries"


def portfolio_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment, as a child process that runs a portfolio needs it: ``SNUK_REGISTRIES``
    set (default ``./data/registries``, absolute) and ``SNUK_REGISTRY`` left out (the folder
    replaces it); ``snuk demo --buildings N`` starts its portfolio process with it."""
    env = dict(_environ(environ))
    registries = env.get("SNUK_REGISTRIES", "").strip()
    env["SNUK_REGISTRIES"] = registries or absolute(DEFAULT_PORTFOLIO_REGISTRIES)
    env.pop("SNUK_REGISTRY", None)
    return env


@dataclass(frozen=True)
class EngineChoice:
    """``SNUK_ENGINE`` (lower case) and, for Spark, ``SNUK_SPARK_MASTER`` (empty: default)."""

    name: str
    spark_master: str


def engine_choice(
    environ: Mapping[str, str] | None = None, *, choices: tuple[str, ...]
) -> EngineChoice:
    """The engine ``SNUK_ENGINE`` names among ``choices`` (default ``local``).

    Raises
    ------
    ValueError
        If ``SNUK_ENGINE`` names none of ``choices``; the message lists them.
    """
    env = _environ(environ)
    name = env.get("SNUK_ENGINE", "").strip().lower() or DEFAULT_ENGINE
    if name not in choices:
        raise ValueError(
            f"SNUK_ENGINE={env['SNUK_ENGINE']!r} is not an engine; set it to one of "
            f"{', '.join(choices)} (default {DEFAULT_ENGINE}), or unset it"
        )
    return EngineChoice(name=name, spark_master=spark_master(env))


@dataclass(frozen=True)
class LiveControlValues:
    """``SNUK_LIVE_CONTROL`` (what ``snuk live`` does with its decisions, one of
    ``LIVE_CONTROL_MODES``) and ``SNUK_MAX_SWITCHES_PER_HOUR`` (the switch cap per room)."""

    mode: str
    max_switches_per_hour: int


def live_control_values(environ: Mapping[str, str] | None = None) -> LiveControlValues:
    """The live commands' mode (default ``dry-run``) and switch cap (default 4).

    Raises
    ------
    ValueError
        If ``SNUK_LIVE_CONTROL`` names no mode, or ``SNUK_MAX_SWITCHES_PER_HOUR`` is not a whole
        number >= 0; the message names the variable and what it takes.
    """
    env = _environ(environ)
    mode = env.get("SNUK_LIVE_CONTROL", "").strip().lower() or DEFAULT_LIVE_CONTROL
    if mode not in LIVE_CONTROL_MODES:
        raise ValueError(
            f"SNUK_LIVE_CONTROL={env['SNUK_LIVE_CONTROL']!r} is not a mode; set it to one of "
            f"{', '.join(LIVE_CONTROL_MODES)} (default {DEFAULT_LIVE_CONTROL}), or unset it"
        )
    cap = _whole_number(env, "SNUK_MAX_SWITCHES_PER_HOUR", DEFAULT_MAX_SWITCHES_PER_HOUR, 0, "")
    return LiveControlValues(mode=mode, max_switches_per_hour=cap)


def spark_master(environ: Mapping[str, str] | None = None) -> str:
    """``SNUK_SPARK_MASTER``; empty when unset (the session then picks its default)."""
    return _environ(environ).get("SNUK_SPARK_MASTER", "").strip()


@dataclass(frozen=True)
class MqttCredentials:
    """A broker account and the CA file for TLS; empty strings where unset (anonymous, plain)."""

    username: str
    password: str
    ca_file: str = ""

    def __repr__(self) -> str:  # never the password, whoever prints it
        return f"MqttCredentials(username={self.username!r}, ca_file={self.ca_file!r})"


def mqtt_credentials(
    environ: Mapping[str, str] | None = None, *, prefix: str = "SNUK_MQTT"
) -> MqttCredentials:
    """``<prefix>_USERNAME``, ``<prefix>_PASSWORD`` and ``<prefix>_CA_FILE``.

    SNUK's own account is ``SNUK_MQTT_*``; ``snuk live --replay`` publishes as a sensor gateway
    with ``SNUK_REPLAY_MQTT_*`` (no CA file of its own: it shares the service's).
    """
    env = _environ(environ)
    return MqttCredentials(
        username=env.get(f"{prefix}_USERNAME", ""),
        password=env.get(f"{prefix}_PASSWORD", ""),
        ca_file=env.get(f"{prefix}_CA_FILE", ""),
    )


def api_tokens_file(environ: Mapping[str, str] | None = None) -> str | None:
    """``SNUK_API_TOKENS_FILE``, the live API's tokens; ``None`` when unset (no token works)."""
    return _environ(environ).get("SNUK_API_TOKENS_FILE", "").strip() or None


def _whole_number(environ, variable: str, default: int, minimum: int, what: str) -> int:
    text = _environ(environ).get(variable, "").strip() or str(default)
    if not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{variable} must be a whole number{what} >= {minimum}, not {text!r}")
    return int(text)


def min_workplaces(environ: Mapping[str, str] | None = None) -> int:
    """``SNUK_MIN_WORKPLACES`` (default 2): smaller rooms reach viewers only in aggregates."""
    return _whole_number(environ, "SNUK_MIN_WORKPLACES", DEFAULT_MIN_WORKPLACES, 0, "")


def raw_retention_days(environ: Mapping[str, str] | None = None) -> int:
    """``SNUK_RAW_RETENTION_DAYS`` (default 90): arrival days of raw observations kept."""
    return _whole_number(
        environ, "SNUK_RAW_RETENTION_DAYS", DEFAULT_RAW_RETENTION_DAYS, 1, " of days"
    )


def live_crash_after_files(environ: Mapping[str, str] | None = None) -> int:
    """``SNUK_LIVE_CRASH_AFTER_FILES``: the live tests' hook, the service dies (``os._exit``)
    after archiving that many files; 0 (unset) never."""
    return _whole_number(environ, "SNUK_LIVE_CRASH_AFTER_FILES", 0, 0, "")
