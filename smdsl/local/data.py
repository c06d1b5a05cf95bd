"""Where a local run reads ``s3://`` data from: a mirror folder, or S3 itself.

The mirror holds objects at ``<mirror>/<bucket>/<key>``: ``s3://my-bucket/churn/raw/`` is the
folder ``<mirror>/my-bucket/churn/raw/``. An S3 URI names every object whose key starts with
it, as SageMaker's ``S3Prefix`` inputs do; each is staged at its key relative to the URI's
folder: the URI itself when it ends with ``/``, else the part before its last ``/``
(``s3://b/data/part`` stages ``data/part-0.csv`` as ``part-0.csv`` and ``data/part/x.csv`` as
``part/x.csv``; ``s3://b/data/`` stages ``data/x.csv`` as ``x.csv``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smdsl.errors import display_path
from smdsl.local.errors import LocalRunError


def split_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _base(key: str) -> str:
    """The key prefix that staged names are relative to: the URI's folder."""
    if key.endswith("/") or not key:
        return key
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


@dataclass
class Mirror:
    """``s3://`` data read from a local folder laid out as ``<bucket>/<key>``."""

    root: Path

    def describe(self) -> str:
        return f"the local mirror {display_path(self.root)}/"

    def objects(self, uri: str) -> dict[str, Path]:
        """The files an S3 URI names, by their staged relative path (empty when none)."""
        bucket, key = split_uri(uri)
        bucket_dir = self.root / bucket
        base = bucket_dir / _base(key)
        if key.endswith("/") or not key:
            folder = bucket_dir / key
            files = sorted(f for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else []
        else:
            target = bucket_dir / key
            files = []
            if target.parent.is_dir():
                for entry in sorted(target.parent.iterdir()):
                    if entry.name.startswith(target.name):
                        files += (
                            [entry]
                            if entry.is_file()
                            else sorted(f for f in entry.rglob("*") if f.is_file())
                        )
        return {f.relative_to(base).as_posix(): f for f in files}

    def missing(self, uri: str) -> str:
        bucket, key = split_uri(uri)
        return (
            f"{uri} is not in {self.describe()}: put the data at "
            f"{display_path(self.root / bucket / key)}, or run with --s3 to read it from S3"
        )


class S3ReadError(LocalRunError):
    """S3 refused or could not be reached: exit code 3, as for every AWS failure."""

    exit_code = 3


class S3Data:
    """``s3://`` data read from S3 with the env's credentials, kept in a local download cache."""

    def __init__(self, cache: Path, region: str | None) -> None:
        self.cache = cache
        self.region = region
        self._client: Any = None

    def describe(self) -> str:
        return "S3"

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.Session(region_name=self.region).client("s3")
        return self._client

    def objects(self, uri: str) -> dict[str, Path]:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = split_uri(uri)
        client = self.client()
        found: dict[str, Path] = {}
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            listed = [obj for page in pages for obj in page.get("Contents", [])]
            base = _base(key)
            for obj in listed:
                if obj["Key"].endswith("/"):
                    continue
                local = self.cache / bucket / obj["Key"]
                stamp = local.with_name(local.name + ".etag")
                etag = obj.get("ETag", "")
                fresh = local.is_file() and stamp.is_file() and stamp.read_text() == etag
                if not fresh:
                    local.parent.mkdir(parents=True, exist_ok=True)
                    client.download_file(bucket, obj["Key"], str(local))
                    stamp.write_text(etag)
                found[obj["Key"][len(base) :]] = local
        except (BotoCoreError, ClientError) as exc:
            raise S3ReadError(f"reading {uri} from S3: {exc}") from None
        return found

    def missing(self, uri: str) -> str:
        return f"{uri}: no object in S3 under this prefix"


DataSource = Mirror | S3Data


def stage(files: dict[str, Path], target: Path) -> None:
    """Copy ``files`` (relative path -> file) into the folder ``target``, as a job's input."""
    target.mkdir(parents=True, exist_ok=True)
    for relative, source in files.items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)


def stage_path(source: Path, target: Path) -> None:
    """Copy a local file or folder (another step's output) into the folder ``target``."""
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    elif source.is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / source.name)
    else:
        raise LocalRunError(f"{source} does not exist")


def tree_files(path: Path) -> list[Path]:
    """The files of a folder (sorted), or the file itself."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        os.remove(path)
