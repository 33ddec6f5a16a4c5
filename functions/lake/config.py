"""Where the lake is, read once per execution environment from the function's environment.

``LAKE_BUCKET`` (AWS: the writer puts objects, the status function reads through Athena with
``ATHENA_WORKGROUP`` and ``ATHENA_DATABASE``) or ``LAKE_DIR`` (local mode: a directory, queried with
DuckDB). Neither set: no lake (the writer writes none, ``/status/explore`` answers 404).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from functions.core.environment import ENVIRONMENT

ENV_LAKE_BUCKET = "LAKE_BUCKET"
ENV_LAKE_DIR = "LAKE_DIR"
ENV_ATHENA_WORKGROUP = "ATHENA_WORKGROUP"
ENV_ATHENA_DATABASE = "ATHENA_DATABASE"
ENV_LAKE_CACHE_SECONDS = "LAKE_CACHE_SECONDS"
DEFAULT_CACHE_SECONDS = 60
RAW_TABLE = "events_raw"  # the Glue table, and DuckDB's view of the same files


@dataclass(frozen=True)
class LakeConfig:
    bucket: str = ""
    directory: str = ""
    workgroup: str = ""
    database: str = ""
    cache_seconds: int = DEFAULT_CACHE_SECONDS

    @property
    def enabled(self) -> bool:
        return bool(self.bucket or self.directory)


def load_config(env: Mapping[str, str]) -> LakeConfig:
    raw = env.get(ENV_LAKE_CACHE_SECONDS, "").strip()
    cache_seconds = int(raw) if raw.isdigit() else DEFAULT_CACHE_SECONDS
    return LakeConfig(
        bucket=env.get(ENV_LAKE_BUCKET, "").strip(),
        directory=env.get(ENV_LAKE_DIR, "").strip(),
        workgroup=env.get(ENV_ATHENA_WORKGROUP, "").strip(),
        database=env.get(ENV_ATHENA_DATABASE, "").strip(),
        cache_seconds=cache_seconds,
    )


@ENVIRONMENT.cached
@cache
def get_config() -> LakeConfig:
    return load_config(os.environ)
