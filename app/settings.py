"""Every knob is an environment variable (prefix-free, case-insensitive) with a sane default."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    x12_sender_qualifier: str = Field(default="ZZ", description="ISA05.")
    x12_sender_id: str = Field(default="ENCSVCTEST", description="ISA06 (15 characters at most).")
    x12_receiver_qualifier: str = Field(default="ZZ", description="ISA07.")
    x12_receiver_id: str = Field(default="MCPTEST", description="ISA08.")
    x12_gs_sender: str = Field(default="ENCSVCTEST", description="GS02 application sender code.")
    x12_gs_receiver: str = Field(default="MCPTEST", description="GS03 application receiver code.")
    x12_usage: Literal["T", "P"] = Field(default="T", description="ISA15: T test, P production.")
    x12_submitter_name: str = Field(default="ENCOUNTER SERVICE TEST SUBMITTER", description="1000A NM103.")
    x12_submitter_etin: str = Field(default="ENCSVCTEST", description="1000A NM109 (ETIN from the receiver).")
    x12_submitter_contact: str = Field(default="EDI DESK", description="1000A PER02.")
    x12_submitter_phone: str = Field(default="9165550199", description="1000A PER04, 10 digits.")
    x12_receiver_name: str = Field(default="TEST MEDI-CAL MANAGED CARE PLAN", description="1000B NM103.")
    x12_receiver_etin: str = Field(default="MCPTEST", description="1000B NM109.")
    batch_validate: bool = Field(default=True, description="Validate every batch with pyx12 before release.")
    batch_validate_processes: int = Field(
        default=0, description="Worker processes pyx12 validation of a batch is split across, one transaction "
                               "set (ST) per task; 0 means one per core.")
    cut_stale_after_seconds: int = Field(
        default=900, description="A batch left in `cutting` this long (its cutter died) is abandoned and its "
                                 "encounters return to the queue.")

    def cut_options(self):
        from datetime import timedelta

        from app.batches.service import CutOptions
        from app.x12.loops837p import Envelope

        envelope = Envelope(
            sender_qualifier=self.x12_sender_qualifier, sender_id=self.x12_sender_id,
            receiver_qualifier=self.x12_receiver_qualifier, receiver_id=self.x12_receiver_id,
            gs_sender=self.x12_gs_sender, gs_receiver=self.x12_gs_receiver, usage=self.x12_usage,
            submitter_name=self.x12_submitter_name, submitter_etin=self.x12_submitter_etin,
            submitter_contact=self.x12_submitter_contact, submitter_phone=self.x12_submitter_phone,
            receiver_name=self.x12_receiver_name, receiver_etin=self.x12_receiver_etin,
        )
        return CutOptions(envelope=envelope, validate=self.batch_validate,
                          validate_processes=self.batch_validate_processes,
                          stale_after=timedelta(seconds=self.cut_stale_after_seconds))


@lru_cache
def get_settings() -> Settings:
    return Settings()
