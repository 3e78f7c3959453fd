"""The raw landing zone: ``<landing>/raw_data/<building_id>/YYYY/MM/DD/`` on a local folder or S3.

A folder's date is the UTC day its files *arrived*; observations inside may have been measured
earlier (gateways buffer and upload late). The layout from before buildings,
``raw_data/YYYY/MM/DD/``, is the building ``default``'s folder (there is no
``raw_data/default/``), so a landing zone of one building never changes shape and a day of it
costs one listing, as before.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from snuk_assets.building_ids import BUILDING_ID_PATTERN, DEFAULT_BUILDING
from snuk_assets.storage import Location, s3_client

RAW_DATA_DIR = "raw_data"


class LandingZoneError(RuntimeError):
    """The landing zone itself cannot be read (missing bucket, no permission, not a folder)."""


@dataclass(frozen=True)
class LandingFile:
    """One raw file: its path relative to the landing root, size and modification time (UTC).

    ``etag`` is the S3 entity tag without quotes (empty on a local folder): S3 event
    notifications carry it too, so it names one version of an object in both.
    """

    path: str
    size: int
    last_modified: dt.datetime
    etag: str = ""


@dataclass(frozen=True)
class SkippedFile:
    """A landing entry that is not read, and why (a symlink, a dot-file, a key with ``..``)."""

    path: str
    reason: str

    @property
    def category(self) -> str:
        return self.reason.split(":", 1)[0]


def unsafe_path_reason(relative_path: str) -> str | None:
    """Why a relative path may not be read below the landing root, or None if it may.

    Refused: absolute paths, empty, ``.`` or ``..`` segments (an S3 key ``raw_data/../x`` is
    legal but names nothing in a day folder), backslashes, NUL bytes.
    """
    if relative_path.startswith("/") or "\\" in relative_path or "\x00" in relative_path:
        return "outside the landing root: an absolute path, a backslash or a NUL byte"
    if any(part in ("", ".", "..") for part in relative_path.split("/")):
        return "outside the landing root: an empty, '.' or '..' path segment"
    return None


def day_folder(day: dt.date, building_id: str = DEFAULT_BUILDING) -> str:
    """The folder of a building's arrival day, e.g. ``raw_data/b1/2016/08/14``; the building
    ``default``'s in the layout from before buildings, ``raw_data/2016/08/14``."""
    if building_id == DEFAULT_BUILDING:
        return f"{RAW_DATA_DIR}/{day:%Y/%m/%d}"
    return f"{RAW_DATA_DIR}/{building_id}/{day:%Y/%m/%d}"


def day_folders(
    first: dt.date, last: dt.date, building_ids: Sequence[str] = (DEFAULT_BUILDING,)
) -> list[str]:
    """The folders of the arrival days ``first`` .. ``last`` of each building, oldest first.

    The one place that knows which prefixes hold a range of days: one folder per building and
    day (``day_folder``).
    """
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [day_folder(day, building_id) for day in days for building_id in building_ids]


def landing_day_of(path: str) -> tuple[str, dt.date] | None:
    """The building and arrival day a raw file's relative path encodes, or None if it is in no
    day folder: ``raw_data/<building_id>/YYYY/MM/DD/...``, or ``raw_data/YYYY/MM/DD/...``
    (a first level of four digits) for the building ``default`` (``raw_data/default/`` is no
    day folder: ``default``'s days are in the old layout only)."""
    parts = path.strip("/").split("/")
    if len(parts) < 5 or parts[0] != RAW_DATA_DIR:
        return None
    if len(parts[1]) == 4 and parts[1].isdigit():
        building_id, ymd = DEFAULT_BUILDING, parts[1:4]
    elif (
        len(parts) >= 6 and parts[1] != DEFAULT_BUILDING and BUILDING_ID_PATTERN.fullmatch(parts[1])
    ):
        building_id, ymd = parts[1], parts[2:5]
    else:
        return None
    if len(ymd[0]) != 4 or not all(part.isdigit() for part in ymd):
        return None
    try:
        return building_id, dt.date(int(ymd[0]), int(ymd[1]), int(ymd[2]))
    except ValueError:
        return None


def arrival_day_of(path: str) -> dt.date | None:
    """The arrival day encoded in a raw file's relative path, or None if it is not a day folder."""
    building_day = landing_day_of(path)
    return None if building_day is None else building_day[1]


def day_files(
    landing: LandingZone,
    *,
    building: str | None = None,
    before: dt.date | None = None,
    prefix: str = RAW_DATA_DIR,
    undated: bool = False,
) -> list[LandingFile]:
    """The files below ``prefix`` in ``building``'s day folders (by its landing key; every
    building's if None), of the arrival days before ``before`` only, if given; none while the
    landing zone has no such folder.

    With ``undated``, also the files in no day folder (all of ``quarantine/``, a stray file):
    they name no building and no day, so they are listed whatever ``building`` is, and left
    out once ``before`` is given.
    """
    try:
        files = landing.list_files(prefix)
    except Exception:  # no such folder yet
        return []
    listed = []
    for entry in files:
        building_day = landing_day_of(entry.path)
        if building_day is None:
            if undated and before is None:
                listed.append(entry)
        elif (building is None or building_day[0] == building) and (
            before is None or building_day[1] < before
        ):
            listed.append(entry)
    return listed


class LandingZone:
    """Lists, reads and writes raw files under a landing root (local folder or ``s3://``)."""

    def __init__(self, location: Location):
        self.location = location
        self._s3 = s3_client() if location.is_s3 else None

    @classmethod
    def from_uri(cls, uri: str) -> LandingZone:
        return cls(Location.parse(uri))

    @property
    def uri(self) -> str:
        return self.location.uri

    def describe(self, relative_path: str = "") -> str:
        """Full URI of a relative path, for messages."""
        return self.location.join(relative_path)

    # -- listing -------------------------------------------------------------------------
    def list_day(self, day: dt.date, building_id: str = DEFAULT_BUILDING) -> list[LandingFile]:
        """Files of one building's arrival day, sorted by path; empty if the day has no folder."""
        return self.list_files(day_folder(day, building_id))

    def scan_day(
        self, day: dt.date, building_id: str = DEFAULT_BUILDING
    ) -> tuple[list[LandingFile], list[SkippedFile]]:
        """Files of one building's arrival day, and the entries skipped there with the reason."""
        return self.scan(day_folder(day, building_id))

    def list_days(
        self, first: dt.date, last: dt.date, building_ids: Sequence[str] = (DEFAULT_BUILDING,)
    ) -> list[LandingFile]:
        """Files of the arrival days ``first`` .. ``last`` of ``building_ids``: one listing per
        day folder.

        Its cost follows the number of buildings, days and their files, not the landing zone's
        history.
        """
        return [
            f for folder in day_folders(first, last, building_ids) for f in self.list_files(folder)
        ]

    def day_exists(self, day: dt.date, building_id: str = DEFAULT_BUILDING) -> bool:
        """Whether the building's day has a folder (on S3: whether any object lies below one)."""
        if self._s3 is not None:
            return bool(self.list_day(day, building_id))
        return Path(self.location.key(day_folder(day, building_id))).is_dir()

    def list_files(self, relative_prefix: str = RAW_DATA_DIR) -> list[LandingFile]:
        """Every file below ``relative_prefix``, recursively, sorted by path."""
        return self.scan(relative_prefix)[0]

    def scan(
        self, relative_prefix: str = RAW_DATA_DIR
    ) -> tuple[list[LandingFile], list[SkippedFile]]:
        """Every readable file below ``relative_prefix``, and every entry skipped, sorted.

        Never read: symlinks (to files or folders, anywhere below the root), entries that are
        not regular files (a FIFO would block the read), dot-files (``.x.partial`` is an upload
        in progress) and S3 keys with ``..`` or empty segments.
        """
        if self._s3 is not None:
            return self._list_s3(relative_prefix)
        return self._list_local(relative_prefix)

    def _list_local(self, relative_prefix: str) -> tuple[list[LandingFile], list[SkippedFile]]:
        root = Path(self.location.prefix)
        if not root.is_dir():
            raise LandingZoneError(
                f"landing zone {self.uri} is not a readable folder: create it, or set "
                "SNUK_LANDING_URI to the folder or s3://bucket/prefix where raw files land"
            )
        if (reason := unsafe_path_reason(relative_prefix.strip("/"))) is not None:
            return [], [SkippedFile(relative_prefix, reason)]
        folder = root
        for part in PurePosixPath(relative_prefix.strip("/")).parts:
            folder = folder / part
            if folder.is_symlink():
                rel = folder.relative_to(root).as_posix()
                return [], [SkippedFile(rel, "symlink: a symlinked folder is not followed")]
        if not folder.is_dir():
            return [], []
        files, skipped = [], []
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            here = Path(dirpath)
            for name in sorted(dirnames):
                path = here / name
                rel = path.relative_to(root).as_posix()
                if path.is_symlink():
                    skipped.append(SkippedFile(rel, "symlink: a symlinked folder is not followed"))
                    dirnames.remove(name)
                elif name.startswith("."):
                    skipped.append(SkippedFile(rel, "hidden: a dot-folder is not read"))
                    dirnames.remove(name)
            for name in filenames:
                path = here / name
                rel = path.relative_to(root).as_posix()
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    skipped.append(
                        SkippedFile(rel, "symlink: not followed out of the landing zone")
                    )
                elif name.startswith("."):
                    skipped.append(
                        SkippedFile(rel, "hidden: a dot-file (e.g. an upload in progress)")
                    )
                elif not stat.S_ISREG(info.st_mode):
                    skipped.append(SkippedFile(rel, "not a regular file: a FIFO, socket or device"))
                else:
                    files.append(
                        LandingFile(
                            path=rel,
                            size=info.st_size,
                            last_modified=dt.datetime.fromtimestamp(info.st_mtime, dt.UTC),
                        )
                    )
        return sorted(files, key=lambda f: f.path), sorted(skipped, key=lambda f: f.path)

    def _list_s3(self, relative_prefix: str) -> tuple[list[LandingFile], list[SkippedFile]]:
        from botocore.exceptions import BotoCoreError, ClientError

        key_prefix = self.location.key(relative_prefix).rstrip("/") + "/"
        strip = len(self.location.prefix) + 1 if self.location.prefix else 0
        files, skipped = [], []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=key_prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    if obj["Key"].endswith("/"):
                        continue  # a "folder" marker object, not a file
                    rel = obj["Key"][strip:]
                    if (reason := unsafe_path_reason(rel)) is not None:
                        skipped.append(SkippedFile(rel, reason))
                    elif rel.rsplit("/", 1)[-1].startswith("."):
                        skipped.append(
                            SkippedFile(rel, "hidden: a dot-file (e.g. an upload in progress)")
                        )
                    else:
                        files.append(
                            LandingFile(
                                path=rel,
                                size=obj["Size"],
                                last_modified=obj["LastModified"].astimezone(dt.UTC),
                                etag=obj.get("ETag", "").strip('"'),
                            )
                        )
        except (ClientError, BotoCoreError) as error:
            raise LandingZoneError(
                f"cannot list the landing zone {self.describe(relative_prefix)}: {error}. "
                "Check that the bucket exists, the credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE) "
                "may list it, and AWS_ENDPOINT_URL if you use a non-AWS endpoint."
            ) from error
        return sorted(files, key=lambda f: f.path), sorted(skipped, key=lambda f: f.path)

    # -- reading and writing -------------------------------------------------------------
    def read_bytes(self, relative_path: str, *, max_bytes: int | None = None) -> bytes:
        """The file's bytes, at most ``max_bytes + 1`` of them (to tell "more" apart).

        Refuses (``LandingZoneError``) a path outside the landing root, a symlink, a file in a
        symlinked folder and anything that is not a regular file, even if it changed since the
        listing.
        """
        if (reason := unsafe_path_reason(relative_path)) is not None:
            raise LandingZoneError(f"not reading {self.describe(relative_path)}: {reason}")
        if self._s3 is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            extra = {} if max_bytes is None else {"Range": f"bytes=0-{max_bytes}"}
            try:
                response = self._s3.get_object(
                    Bucket=self.location.bucket, Key=self.location.key(relative_path), **extra
                )
                return response["Body"].read()
            except (ClientError, BotoCoreError) as error:
                raise LandingZoneError(
                    f"cannot read {self.describe(relative_path)} (s3 GetObject): {error}"
                ) from error
        return self._read_local(relative_path, max_bytes)

    def _read_local(self, relative_path: str, max_bytes: int | None) -> bytes:
        root = os.path.realpath(self.location.prefix)
        path = Path(self.location.key(relative_path))
        if os.path.realpath(path.parent) != os.path.join(root, *relative_path.split("/")[:-1]):
            raise LandingZoneError(
                f"not reading {self.describe(relative_path)}: symlink: its folder is a "
                "symlink or lies outside the landing root"
            )
        try:
            # O_NOFOLLOW: a symlink fails here; O_NONBLOCK: a FIFO does not hang the open.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as error:
            if os.path.islink(path):
                raise LandingZoneError(
                    f"not reading {self.describe(relative_path)}: symlink: not followed"
                ) from error
            raise
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise LandingZoneError(
                    f"not reading {self.describe(relative_path)}: not a regular file"
                )
            return handle.read() if max_bytes is None else handle.read(max_bytes + 1)

    def write_bytes(self, relative_path: str, data: bytes) -> None:
        if self._s3 is not None:
            self._s3.put_object(
                Bucket=self.location.bucket, Key=self.location.key(relative_path), Body=data
            )
            return
        path = Path(self.location.key(relative_path))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic on one filesystem: a reader never sees half a file

    def delete(self, relative_path: str) -> None:
        """Delete one file (retention and data subjects' requests: ``snuk_assets/privacy.py``)."""
        if (reason := unsafe_path_reason(relative_path)) is not None:
            raise LandingZoneError(f"not deleting {self.describe(relative_path)}: {reason}")
        if self._s3 is not None:
            self._s3.delete_object(
                Bucket=self.location.bucket, Key=self.location.key(relative_path)
            )
            return
        Path(self.location.key(relative_path)).unlink(missing_ok=True)
