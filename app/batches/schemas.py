from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["encounter", "claim"] = Field(
        default="encounter", description="encounter: BHT06 = RP, for the state; claim: BHT06 = CH, for a claims system.")
    payer_id: str | None = Field(default=None, max_length=80, description="Only encounters for this payer ID.")
    max_claims: int = Field(default=5000, ge=1, le=100000, description="Most claims (CLM) in the batch.")


class BatchOut(BaseModel):
    id: str
    status: str = Field(description="released | failed (pyx12 findings; encounters back in the queue) | "
                                    "cutting | abandoned")
    mode: str
    payer_id: str | None
    release_seq: int | None
    isa13: str
    gs06: str
    st02_first: str
    transaction_count: int
    claim_count: int
    line_count: int
    encounter_count: int
    total_charge: str
    sha256: str | None
    ack_status: str | None
    created_at: str
    released_at: str | None
    validation: dict


class BatchPage(BaseModel):
    items: list[BatchOut]
    next_cursor: str | None = Field(description="Pass back as ?cursor= to get batches released after these.")


class EncounterStatusOut(BaseModel):
    encounter_id: int
    invoice_id: str
    clm01: str | None
    status: str
    findings: list[dict]


class AcknowledgmentOut(BaseModel):
    batch_id: str
    group_accepted: bool
    transactions: list[dict]
    encounters: list[EncounterStatusOut]
