"""The X12 writer alone and pyx12 validation of the same file (one process, then split by ST across
processes). Claims are built in memory: a pool of invoices checked by the real rules, each reused under
fresh invoice numbers and member CINs, so that rendering sees 100,000 distinct claims."""

import dataclasses
import gc
import time
from datetime import UTC, date, datetime

from app.codetable import CodeTables, load_code_list
from app.invoices.rules import RuleContext, check_invoice
from app.x12.loops837p import ControlNumbers, EncounterInput, Envelope, render_837p
from app.x12.pyx12_check import default_processes, start_workers, validate_837, validate_837_parallel
from bench.data import REPO, invoices
from bench.x12_lean import lean_render, same_segments


def rule_context() -> RuleContext:
    codes = REPO / "codes"
    return RuleContext(CodeTables.load(codes / "allowed_codes"), load_code_list(codes / "place_of_service.csv"),
                       load_code_list(codes / "us_states.csv"), date.today())


def encounters(claims: int, lines: int = 3, pool: int = 2000) -> list[EncounterInput]:
    ctx = rule_context()
    checked = []
    for raw in invoices(min(pool, claims), lines=lines):
        result = check_invoice(raw, ctx)
        if result.findings.errors:
            raise RuntimeError(f"generator made an invalid invoice: {result.findings.errors[0]}")
        checked.append(result.invoice)
    out = []
    for n in range(claims):
        base = checked[n % len(checked)]
        inv = dataclasses.replace(base, invoice_number=f"W{n}",
                                  member=dataclasses.replace(base.member, cin=f"{80000000 + n // 2}Z"))
        out.append(EncounterInput(invoice=inv, claim_id_base=inv.invoice_number, encounter_id=str(n),
                                  line_control_numbers=tuple(f"E{n}-{i}" for i in range(1, lines + 1))))
    return out


def render(batch: list[EncounterInput]):
    return render_837p(batch, envelope=Envelope(), control=ControlNumbers(1, 1, 1), mode="encounter",
                       created=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), batch_id="BENCH")


def read_every_value(batch: list[EncounterInput]) -> None:
    """Read each attribute the writer writes (or decides by), once, and nothing more: no formatting, no order,
    no checks. What any writer over these objects must at least spend, set beside the floor."""
    for e in batch:
        inv = e.invoice
        m, p, r = inv.member, inv.billing_provider, inv.rendering_provider
        (e.claim_id_base, e.encounter_id, e.frequency, e.original_reference, e.line_control_numbers,
         inv.authorization_number, inv.control_number, inv.payer_name, inv.primary_payer_identifier,
         m.cin, m.last_name, m.first_name, m.address, m.city, m.state, m.zip, m.date_of_birth,
         m.medical_record_number, p.npi, p.tin, p.name, p.first_name, p.last_name, p.address, p.city, p.state,
         p.zip, p.phone, r.npi, r.name, r.last_name)
        for line in inv.lines:
            (line.procedure_code, line.modifiers, line.charge_amount, line.encounter_units, line.place_of_service,
             line.service_start_date, line.service_end_date, line.diagnosis_codes)


def _middle(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def run(claims: int = 100_000, validate_claims: int = 20_000, repeats: int = 3) -> dict:
    batch = encounters(claims)
    times, floors, ratios, reads, leans = [], [], [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        out = render(batch)
        elapsed = time.perf_counter() - t
        segments = out.text.split("~\n")[:-1]
        t = time.perf_counter()
        floor_text = "~\n".join(segments) + "~\n"
        floor = time.perf_counter() - t
        assert floor_text == out.text
        gc.disable()  # as the writer runs
        try:
            t = time.perf_counter()
            read_every_value(batch)
            reads.append((time.perf_counter() - t) / floor)
            t = time.perf_counter()
            lean_text, _ = lean_render(batch)
            leans.append((time.perf_counter() - t) / floor)
        finally:
            gc.enable()
        if not same_segments(out.text, lean_text):
            raise RuntimeError("the lean probe wrote other segments than the writer")
        times.append(elapsed)
        floors.append(floor)
        ratios.append(elapsed / floor)
    result = {"writer_claims": claims, "writer_s": _middle(times), "writer_claims_per_s": claims / _middle(times),
              "floor_s": _middle(floors), "writer_to_floor": _middle(ratios), "reading_to_floor": _middle(reads),
              "lean_to_floor": _middle(leans)}

    text = render(batch[:validate_claims]).text
    t = time.perf_counter()
    single = validate_837(text)
    one = time.perf_counter() - t
    processes = default_processes()
    start_workers(processes)  # outside the clock, as for the single process, whose pyx12 is already imported
    t = time.perf_counter()
    parallel = validate_837_parallel(text, processes)
    many = time.perf_counter() - t
    if not (single.ok and parallel.ok):
        raise RuntimeError("pyx12 found problems in the bench file")
    result.update({"pyx12_claims": validate_claims, "pyx12_single_claims_per_s": validate_claims / one,
                   "pyx12_parallel_claims_per_s": validate_claims / many, "pyx12_processes": processes,
                   "pyx12_speedup": one / many})
    return result


if __name__ == "__main__":
    import sys

    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
              int(sys.argv[2]) if len(sys.argv) > 2 else 20_000))
