"""Objects of the lake: put and get, in S3 (``LAKE_BUCKET``) or under a directory (``LAKE_DIR``).

The only code that touches the lake's storage. Local files are written to a temporary name and
renamed, so a reader never sees half an object (as S3 never shows half a PUT).
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from functions.lake.config import LakeConfig

STORE_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError, OSError)


@ENVIRONMENT.cached
@cache
def s3() -> Any:
    """The writer-profile S3 client (patient retries: nobody waits on the lake)."""
    return aws.session().create_client("s3", config=aws.WRITER_CONFIG)


def put(config: LakeConfig, key: str, body: bytes, content_type: str = "application/gzip") -> None:
    if config.bucket:
        s3().put_object(Bucket=config.bucket, Key=key, Body=body, ContentType=content_type)
        return
    path = Path(config.directory) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def delete(config: LakeConfig, key: str) -> None:
    """Remove an object if it is there (deleting a missing key is no error, in S3 as here)."""
    if config.bucket:
        s3().delete_object(Bucket=config.bucket, Key=key)
        return
    (Path(config.directory) / key).unlink(missing_ok=True)


def get(config: LakeConfig, key: str) -> bytes | None:
    """The object's bytes, None when there is none."""
    if config.bucket:
        try:
            return bytes(s3().get_object(Bucket=config.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
    path = Path(config.directory) / key
    return path.read_bytes() if path.is_file() else None
