"""Settings read from the environment (prefix ``ORCP_``) or a ``.env`` file.

Secrets (database password, CKAN token) are ``SecretStr``: they never appear in
``repr``, logs or generated configuration files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = PROJECT_ROOT / "sample_data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCP_", env_file=".env", extra="ignore")

    # Warehouse. Empty: the embedded PostgreSQL cluster under data_dir is used.
    database_url: SecretStr | None = None
    # Everything the project writes: landing files, embedded cluster, open-data folder, reports.
    data_dir: Path = PROJECT_ROOT / ".orcp"
    # Open-data portal. Empty: datasets go to the local open-data folder only.
    ckan_url: str | None = None
    ckan_api_token: SecretStr | None = None
    ckan_organization: str = "orcp-hauts-de-france"
    # Indicators: fewer records than this is published as "insufficient data".
    min_records: int = 10

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def opendata_dir(self) -> Path:
        return self.data_dir / "opendata"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def embedded_pg_dir(self) -> Path:
        return self.data_dir / "postgres"


@lru_cache
def get_settings() -> Settings:
    return Settings()
