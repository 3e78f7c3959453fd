"""Where SNUK's files live: a local folder or an S3 prefix, and how to reach S3.

The landing zone and the lakehouse both accept either form of URI. S3 is configured from the
usual AWS variables (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``, ...), so the same
code talks to AWS or to a moto server on loopback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A parsed storage URI: ``s3://bucket/prefix`` or a local folder."""

    uri: str
    scheme: str  # "s3" or "file"
    bucket: str  # S3 only
    prefix: str  # S3: key prefix without leading/trailing slash; file: absolute folder path

    @classmethod
    def parse(cls, uri: str) -> Location:
        if uri.startswith("s3://"):
            bucket, _, prefix = uri[len("s3://") :].partition("/")
            if not bucket:
                raise ValueError(f"S3 URI {uri!r} has no bucket: expected s3://bucket/prefix")
            return cls(uri.rstrip("/"), "s3", bucket, prefix.strip("/"))
        if "://" in uri and not uri.startswith("file://"):
            raise ValueError(
                f"unsupported storage URI {uri!r}: use a local folder or s3://bucket/prefix"
            )
        path = Path(uri.removeprefix("file://")).expanduser().resolve()
        return cls(str(path), "file", "", str(path))

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"

    def join(self, *parts: str) -> str:
        """The URI of ``parts`` below this location."""
        tail = "/".join(p.strip("/") for p in parts if p)
        return f"{self.uri}/{tail}" if tail else self.uri

    def key(self, relative_path: str) -> str:
        """S3 object key (or local path) of ``relative_path`` below this location."""
        relative_path = relative_path.strip("/")
        if self.is_s3:
            return f"{self.prefix}/{relative_path}" if self.prefix else relative_path
        return str(Path(self.prefix) / relative_path)


def s3_storage_options() -> dict[str, str]:
    """delta-rs storage options for S3, from the standard AWS environment variables.

    delta-rs reads most of these itself; passing them explicitly keeps one source of truth and
    lets a plain-HTTP endpoint (a moto server on loopback) work, which needs ``AWS_ALLOW_HTTP``.
    """
    options = {
        name: os.environ[name]
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ALLOW_HTTP",
        )
        if os.environ.get(name)
    }
    options.setdefault("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    endpoint = options.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://"):
        options.setdefault("AWS_ALLOW_HTTP", "true")
    return options


def s3_client():
    """A boto3 S3 client; boto3 itself honours ``AWS_ENDPOINT_URL`` and the credential chain."""
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", region_name=region)
