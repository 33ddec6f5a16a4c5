"""DuckDB over the lake's local files: local mode's engine and the CLI's (never in the Lambda asset).

A dashboard question loads its site's days once into a temporary table (its query reads them many
times). JSON is slow to parse at this scale, so a day that can no longer change much (before
yesterday) is converted once into a Parquet file under ``cache/`` and read from there; the file is
named after the day's object listing, so a late batch (a new object) makes a new one.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.lake.config import RAW_TABLE
from functions.lake.dialect import DUCKDB
from functions.lake.engines import DEDUPED_VIEW, QueryFailed, Result, dedupe_sql
from functions.model.lakerow import COLUMNS, EVENTS_PREFIX, PARTITIONS

CACHE_PREFIX = "cache"
CACHE_AFTER_DAYS = 1  # days before today are cached as Parquet (renewed if a late object arrives)


def _days(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _quoted(paths: list[str]) -> str:
    return ", ".join("'" + p.replace("'", "''") + "'" for p in paths)


def _read_json(files: list[str]) -> str:
    types = ", ".join(f"'{name}': '{kind}'" for name, kind, _ in COLUMNS)
    partitions = ", ".join(f"'{name}': '{kind}'" for name, kind, _ in PARTITIONS)
    return (
        f"SELECT * FROM read_json([{_quoted(files)}], format = 'newline_delimited', columns = {{{types}}}, "
        f"hive_partitioning = true, hive_types = {{{partitions}}})"
    )


class DuckDBEngine:
    """DuckDB over the gzip JSON-lines files under ``directory``: only the site's days in range are read
    when the caller names them (the partition pruning Athena's projection does on S3)."""

    dialect = DUCKDB

    def __init__(self, directory: str | Path, threads: int | None = None, *, cache: bool = True) -> None:
        self.directory = Path(directory)
        self.root = self.directory / EVENTS_PREFIX
        self.threads = threads
        self.cache = cache

    def files(self, site: str | None, start: str | None, end: str | None, also: tuple[str, ...] = ()) -> list[str]:
        if site is not None and start is not None and end is not None:
            folders = [self.root / f"site={s}" / f"day={day}" for s in (site, *also) for day in _days(start, end)]
            return sorted(str(f) for folder in folders if folder.is_dir() for f in folder.glob("*.json.gz"))
        return sorted(str(f) for f in self.root.glob("site=*/day=*/*.json.gz"))

    def run(
        self,
        sql: str,
        *,
        site: str | None = None,
        start: str | None = None,
        end: str | None = None,
        also: tuple[str, ...] = (),
    ) -> Result:
        import duckdb

        connection = duckdb.connect()
        try:
            if self.threads:
                connection.execute(f"SET threads = {int(self.threads)}")
            if site is not None and start is not None and end is not None:
                self._load(connection, site, start, end, also)
            else:
                self._define(connection, self.files(None, None, None))
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            return columns, [tuple(row) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise QueryFailed(str(exc).splitlines()[0]) from exc
        finally:
            connection.close()

    def _define(self, connection: Any, files: list[str]) -> None:
        """``events_raw`` as a view over the files (the CLI's whole lake), and the deduplicated ``events``."""
        if files:
            connection.execute(f"CREATE TEMP VIEW {RAW_TABLE} AS {_read_json(files)}")
        else:
            self._empty(connection)
        connection.execute(f"CREATE TEMP VIEW {DEDUPED_VIEW} AS {dedupe_sql()}")

    @staticmethod
    def _empty(connection: Any) -> None:
        columns = ", ".join(f"{name} {kind}" for name, kind, _ in (*COLUMNS, *PARTITIONS))
        connection.execute(f"CREATE TEMP TABLE {RAW_TABLE} ({columns})")

    def _load(self, connection: Any, site: str, start: str, end: str, also: tuple[str, ...] = ()) -> None:
        """One site's days as a temporary table: cached days from Parquet, the others from JSON."""
        before = (datetime.now(UTC).date() - timedelta(days=CACHE_AFTER_DAYS)).isoformat()
        parquet: list[str] = []
        json_files: list[str] = []
        for day in _days(start, end):
            files = self.files(site, day, day, also)
            if not files:
                continue
            if self.cache and day <= before:
                parquet.append(self._cached(connection, site, day, files))
            else:
                json_files += files
        # Parquet is read where the query reads it (only the columns it needs); JSON is parsed once, here.
        parts = [f"SELECT * FROM read_parquet([{_quoted(parquet)}], hive_partitioning = false)"] if parquet else []
        if json_files:
            connection.execute(f"CREATE TEMP TABLE recent_rows AS {_read_json(json_files)}")
            parts.append("SELECT * FROM recent_rows")
        if parts:
            connection.execute(f"CREATE TEMP VIEW {RAW_TABLE} AS {' UNION ALL BY NAME '.join(parts)}")
        else:
            self._empty(connection)
        connection.execute(f"CREATE TEMP VIEW {DEDUPED_VIEW} AS {dedupe_sql()}")

    def _cached(self, connection: Any, site: str, day: str, files: list[str]) -> str:
        """The day's rows as one Parquet file, written once per listing of its objects."""
        listing = hashlib.sha256("\n".join(Path(f).name for f in files).encode()).hexdigest()[:16]
        folder = self.directory / CACHE_PREFIX / f"site={site}" / f"day={day}"
        target = folder / f"{listing}.parquet"
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            temporary = folder / f".tmp-{os.getpid()}-{listing}.parquet"
            connection.execute(f"COPY ({_read_json(files)}) TO {_quoted([str(temporary)])} (FORMAT parquet)")
            os.replace(temporary, target)
            for old in folder.glob("*.parquet"):
                if old != target:
                    old.unlink(missing_ok=True)
        return str(target)
