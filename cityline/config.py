"""One typed Settings object for the whole application.

Every value can be set by an environment variable prefixed ``CITYLINE_``
(``CITYLINE_DATABASE_URL``, ``CITYLINE_DATA_DIR`` ...). Nothing is read at
import time: call :func:`get_settings`.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

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
    auto_dispatch_threshold: float = Field(
        default=0.6, description="Dispatch without a dispatcher when category and catalogue are this sure."
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
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1,
        description="Largest request body accepted (bytes, counted as read, chunked or not); more is 413.",
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
