"""Limits of the 837P structure: 100 claims per member loop, 5,000 claims per transaction set — and pyx12
validation split across processes by transaction, with findings at the same places as a single pass."""

import multiprocessing

from app.x12 import loops837p, pyx12_check
from app.x12.pyx12_check import split_by_transaction, start_workers, validate_837, validate_837_parallel
from encounters837.test_loops837p import encounter, render, segs
from factories import ecm_invoice


def one_line_invoices(n: int, members: int):
    base = ecm_invoice()
    base["lines"] = base["lines"][:1]
    base["invoice_amount"] = "100.00"
    return [encounter(dict(base, invoice_number=f"N{i}", member_cin=f"{10000000 + i % members}A"), str(i))
            for i in range(n)]


def test_101_claims_for_one_member_open_a_second_member_loop():
    out = render(one_line_invoices(101, members=1))
    s = segs(out.text)
    member_hls = [x for x in s if x[0] == "HL" and x[3] == "22"]
    assert len(member_hls) == 2
    assert sum(1 for x in s if x[:2] == ["NM1", "IL"]) == 2
    loops = [c.member_loop_segment for c in out.claims]
    assert loops.count(loops[0]) == 100 and loops.count(loops[-1]) == 1
    assert validate_837(out.text).ok


def test_5001_claims_make_two_transaction_sets_and_validate_clean_in_two_processes():
    out = render(one_line_invoices(5001, members=40))
    s = segs(out.text)
    sts = [i for i, x in enumerate(s) if x[0] == "ST"]
    ses = [i for i, x in enumerate(s) if x[0] == "SE"]
    assert [s[i][2] for i in sts] == ["0009", "0010"] and out.transaction_count == 2
    for st, se in zip(sts, ses, strict=True):
        assert int(s[se][1]) == se - st + 1 and s[se][2] == s[st][2]
    assert [sum(1 for x in s[a:b] if x[0] == "CLM") for a, b in zip(sts, ses, strict=True)] == [5000, 1]
    assert s[-2][1] == "2"
    report = validate_837_parallel(out.text, processes=2)
    assert report.ok and report.findings == []


def test_parallel_validation_reports_the_same_findings_at_the_same_segments(monkeypatch):
    monkeypatch.setattr(loops837p, "MAX_CLAIMS_PER_TRANSACTION", 2)
    out = render(one_line_invoices(6, members=6))
    assert out.transaction_count == 3
    parts = out.text.split("~")
    dmg = [i for i, p in enumerate(parts) if p.strip().startswith("DMG")]
    for i in (dmg[1], dmg[5]):  # a member in the first and one in the last transaction
        parts[i] = parts[i].replace("*U", "*Q")
    broken = "~".join(parts)
    assert len(split_by_transaction(broken)) == 3
    single, parallel = validate_837(broken), validate_837_parallel(broken, processes=2)
    assert not single.ok and not parallel.ok
    where = sorted((f.segment_number, f.segment_id, f.code) for f in single.findings)
    assert sorted((f.segment_number, f.segment_id, f.code) for f in parallel.findings) == where
    assert [n for n, _, _ in where] == [dmg[1] + 1, dmg[5] + 1]


def test_start_workers_starts_every_worker_before_any_check():
    pyx12_check._discard_pool()  # a fresh pool: its workers are spawned as tasks arrive
    for worker in multiprocessing.active_children():
        worker.join(30)
    assert not multiprocessing.active_children()
    start_workers(2)
    assert len(multiprocessing.active_children()) == 2
