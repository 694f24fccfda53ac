"""Every knob is an environment variable (prefix-free, case-insensitive) with a sane default."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    bootstrap_admin_key: SecretStr | None = Field(
        default=None, description="A key with the admin role that needs no database row: for the first start, "
                                  "tests and the quick start. Leave unset in production once real keys exist.")
    rate_limit_per_minute: int = Field(
        default=6000, description="Requests a minute one API key may make (per server process); 0 turns it off.")
    request_threads: int = Field(
        default=4, ge=1, le=1000,
        description="Threads per server process that run the synchronous endpoints (requests beyond wait their turn). "
                    "Few: a thread holding SQLite's write lock then gets the interpreter back sooner after each "
                    "database call.")
    intake_threads: int = Field(
        default=1, ge=1, le=1000,
        description="Threads per server process that run POST /v1/invoices (further intake requests wait their "
                    "turn, holding no thread). One is fastest on SQLite: its writes go one at a time anyway, and a "
                    "second intake thread only contends for the interpreter lock.")
    max_body_bytes: int = Field(default=5_000_000, description="Largest JSON or X12 request body (413 above).")
    upload_max_bytes: int = Field(default=100_000_000, description="Largest spreadsheet upload (413 above).")
    log_level: str = Field(default="INFO", description="Level of the JSON logs the server writes to stdout.")
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

    upload_sync_max_rows: int = Field(
        default=1000, description="An upload of at most this many rows is processed while the caller waits (201); "
                                  "a larger one runs as a background job (202) whose progress GET shows.")
    upload_max_rows: int = Field(default=200_000, description="Most rows accepted in one upload file.")
    upload_worker: bool = Field(
        default=True, description="Run the background upload worker in the API process (resumes unfinished "
                                  "uploads on start). Turn off on API-only nodes and run `encounter-service "
                                  "uploads work` instead.")
    upload_stale_after_seconds: int = Field(
        default=120, description="A running upload whose worker has not reported progress for this long is "
                                 "presumed dead and resumed by another worker.")
    upload_poll_seconds: float = Field(default=5.0, description="How often an idle upload worker looks for work.")
    upload_progress_seconds: float = Field(
        default=1.0, description="How often a running upload writes its progress (and outcomes so far).")

    timeliness_holiday_calendar: Path | None = Field(
        default=None, description="CSV of state (CalHR) holidays for working-day deadlines; default "
                                  "codes/calhr_holidays.csv. A plan with its own calendar points this elsewhere.")
    timeliness_s1_working_days: int = Field(
        default=30, description="Legacy (received to 2025-12-31) deadline in working days: 30 for Medi-Cal plans, "
                                "45 for a Knox-Keene HMO's commercial claims.")
    timeliness_s1_roll_receipt_to_working_day: bool = Field(
        default=False, description="Legacy claims: count from the next working day when an invoice arrives on a "
                                   "weekend or holiday (28 CCR 1300.71(a)(5) reading). Off: the arrival date.")
    timeliness_extend_calendar_deadlines: bool = Field(
        default=False, description="Move a calendar-day deadline that ends on a weekend or CalHR holiday to the "
                                   "next working day (CCP 12a reading). Off: the strict deadline.")
    timeliness_contest_restarts_clock: bool = Field(
        default=True, description="A contested claim enters the federal 30/90-day test when the requested "
                                  "information arrives, with that day as its clock start. Off: from receipt.")
    timeliness_s1_interest_floor: bool = Field(
        default=False, description="Legacy claims: apply the literal HSC 1371.35(b) floor of $15 per 12 months "
                                   "late (off: plain 15% a year, as for non-emergency claims).")
    timeliness_federal_cohort: Literal["clock_start", "receipt_date"] = Field(
        default="clock_start", description="Which date puts a claim in a reporting period for the federal "
                                           "90%/99% test; state figures always use the receipt date.")
    timeliness_at_risk_days: int = Field(
        default=7, description="The at-risk queue lists open items whose deadline is this many days away or less "
                               "(overdue items included).")

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
