"""The raw landing zone: ``<landing>/raw_data/YYYY/MM/DD/`` on a local folder or S3.

A folder's date is the UTC day its files *arrived*; observations inside may have been measured
earlier (gateways buffer and upload late).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

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


def day_folder(day: dt.date) -> str:
    """Relative folder of an arrival day, e.g. ``raw_data/2016/08/14``."""
    return f"{RAW_DATA_DIR}/{day:%Y/%m/%d}"


def day_folders(first: dt.date, last: dt.date) -> list[str]:
    """The folders of the arrival days ``first`` .. ``last``, oldest first.

    The one place that knows which prefixes hold a range of days: a layout with a building
    level (``raw_data/<building_id>/YYYY/MM/DD``) returns one folder per building and day here.
    """
    return [day_folder(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)]


def arrival_day_of(path: str) -> dt.date | None:
    """The arrival day encoded in a raw file's relative path, or None if it is not a day folder."""
    parts = path.strip("/").split("/")
    if len(parts) < 5 or parts[0] != RAW_DATA_DIR:
        return None
    try:
        return dt.date(int(parts[1]), int(parts[2]), int(parts[3]))
    except ValueError:
        return None


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
    def list_day(self, day: dt.date) -> list[LandingFile]:
        """Files of one arrival day, sorted by path; empty if the day has no folder."""
        return self.list_files(day_folder(day))

    def list_days(self, first: dt.date, last: dt.date) -> list[LandingFile]:
        """Files of the arrival days ``first`` .. ``last``: one listing per day folder.

        Its cost follows the number of days and their files, not the landing zone's history.
        """
        return [f for folder in day_folders(first, last) for f in self.list_files(folder)]

    def day_exists(self, day: dt.date) -> bool:
        """Whether the day's folder exists (on S3: whether any object lies below it)."""
        if self._s3 is not None:
            return bool(self.list_day(day))
        return Path(self.location.key(day_folder(day))).is_dir()

    def list_files(self, relative_prefix: str = RAW_DATA_DIR) -> list[LandingFile]:
        """Every file below ``relative_prefix``, recursively, sorted by path."""
        if self._s3 is not None:
            return self._list_s3(relative_prefix)
        return self._list_local(relative_prefix)

    def _list_local(self, relative_prefix: str) -> list[LandingFile]:
        root = Path(self.location.prefix)
        if not root.is_dir():
            raise LandingZoneError(
                f"landing zone {self.uri} is not a readable folder: create it, or set "
                "SNUK_LANDING_URI to the folder or s3://bucket/prefix where raw files land"
            )
        folder = root / relative_prefix
        if not folder.is_dir():
            return []
        files = []
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                files.append(
                    LandingFile(
                        path=path.relative_to(root).as_posix(),
                        size=stat.st_size,
                        last_modified=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
                    )
                )
        return sorted(files, key=lambda f: f.path)

    def _list_s3(self, relative_prefix: str) -> list[LandingFile]:
        from botocore.exceptions import BotoCoreError, ClientError

        key_prefix = self.location.key(relative_prefix).rstrip("/") + "/"
        strip = len(self.location.prefix) + 1 if self.location.prefix else 0
        files = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=key_prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    if obj["Key"].endswith("/"):
                        continue  # a "folder" marker object, not a file
                    files.append(
                        LandingFile(
                            path=obj["Key"][strip:],
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
        return sorted(files, key=lambda f: f.path)

    # -- reading and writing -------------------------------------------------------------
    def read_bytes(self, relative_path: str) -> bytes:
        if self._s3 is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                response = self._s3.get_object(
                    Bucket=self.location.bucket, Key=self.location.key(relative_path)
                )
                return response["Body"].read()
            except (ClientError, BotoCoreError) as error:
                raise LandingZoneError(
                    f"cannot read {self.describe(relative_path)}: {error}"
                ) from error
        return Path(self.location.key(relative_path)).read_bytes()

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
