"""Every knob is an environment variable (prefix-free, case-insensitive) with a sane default."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'data' / 'encounter-service.db'}",
        description="SQLAlchemy URL. SQLite file by default; postgresql+psycopg://user:pass@host/db to scale out.",
    )
    codes_dir: Path = Field(
        default=REPO_ROOT / "codes",
        description="Directory holding the allowed-code tables, POS list and state list.",
    )
    timezone: str = Field(
        default="America/Los_Angeles",
        description="Time zone whose calendar date is an invoice's receipt date.",
    )
    max_lines_per_invoice: int = Field(
        default=999, description="Service lines accepted on one invoice (claims split at 50 lines)."
    )
    page_size_default: int = Field(default=50, description="Default page size for list endpoints.")
    page_size_max: int = Field(default=500, description="Largest page size a caller may ask for.")
    sqlite_busy_timeout_ms: int = Field(
        default=30000, description="How long a SQLite writer waits for the lock before failing."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
