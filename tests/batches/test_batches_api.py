"""Batches through the API: cut, pull, download, validate with pyx12, acknowledge, correct."""

import threading
from datetime import date

from sqlalchemy import select

from app.batches.models import BatchRow, EncounterRow
from app.x12.pyx12_check import validate_837
from factories import cs_invoice, ecm_invoice, variant


def post(client, body):
    r = client.post("/v1/invoices", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def segments(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def test_cut_pull_download_gives_a_pyx12_clean_encounter_batch_with_every_line(client):
    ecm, cs = post(client, ecm_invoice()), post(client, cs_invoice())
    r = client.post("/v1/batches", json={"mode": "encounter"})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (batch["status"], batch["claim_count"], batch["line_count"], batch["encounter_count"]) == (
        "released", 2, 3, 2)
    assert batch["total_charge"] == "475.25"
    page = client.get("/v1/batches").json()
    assert [b["id"] for b in page["items"]] == [batch["id"]]
    x12 = client.get(f"/v1/batches/{batch['id']}/x12")
    assert x12.status_code == 200 and x12.headers["content-type"].startswith("text/plain")
    assert batch["id"] in x12.headers["content-disposition"] and "encounter" in x12.headers["content-disposition"]
    assert client.get(f"/v1/batches/{batch['id']}/x12").content == x12.content
    report = validate_837(x12.text)
    assert report.ok, report.findings
    segs = segments(x12.text)
    assert next(s for s in segs if s[0] == "BHT")[6] == "RP"
    ref_6r = [s[2] for s in segs if s[:2] == ["REF", "6R"]]
    assert ref_6r == [ln["line_item_control_number"] for inv in (ecm, cs) for ln in inv["lines"]]
    sv1 = [s for s in segs if s[0] == "SV1"]
    assert [s[1] for s in sv1] == ["HC:G9008:U1", "HC:G9008:U1:GQ", "HC:H0043:U6"]
    assert ["DTP", "472", "RD8", "20240301-20240305"] in segs
    for inv in (ecm, cs):
        status = client.get(f"/v1/invoices/{inv['id']}").json()
        assert status["encounter_status"] == "batched" and status["encounters"][0]["batch_id"] == batch["id"]
    assert client.post("/v1/batches", json={}).status_code == 404  # queue is empty now


def test_claim_mode_sets_bht06_ch(client):
    post(client, ecm_invoice())
    batch = client.post("/v1/batches", json={"mode": "claim"}).json()
    text = client.get(f"/v1/batches/{batch['id']}/x12").text
    assert next(s for s in segments(text) if s[0] == "BHT")[6] == "CH"


def test_control_numbers_are_never_reused_across_batches(client):
    seen = set()
    for i in range(4):
        post(client, ecm_invoice(f"INV-{i}", service_day=date(2024, 3, 1 + i)))
        b = client.post("/v1/batches", json={}).json()
        assert (b["isa13"], b["gs06"], b["st02_first"]) not in seen
        seen.add((b["isa13"], b["gs06"], b["st02_first"]))
    isa13s = [k[0] for k in seen]
    assert len(set(isa13s)) == 4 and all(len(x) == 9 for x in isa13s)


def test_pull_cursor_returns_only_batches_released_after_it(client):
    post(client, ecm_invoice("A1"))
    first = client.post("/v1/batches", json={}).json()
    cursor = client.get("/v1/batches").json()["next_cursor"]
    assert client.get("/v1/batches", params={"cursor": cursor}).json()["items"] == []
    post(client, ecm_invoice("A2", service_day=date(2024, 4, 1)))
    second = client.post("/v1/batches", json={}).json()
    assert [b["id"] for b in client.get("/v1/batches", params={"cursor": cursor}).json()["items"]] == [second["id"]]
    assert first["id"] != second["id"]


def test_999_accepting_the_batch_marks_encounters_accepted(client):
    inv = post(client, ecm_invoice())
    batch = client.post("/v1/batches", json={}).json()
    text = client.get(f"/v1/batches/{batch['id']}/x12").text
    ack = validate_837(text).ack_999
    r = client.post(f"/v1/batches/{batch['id']}/acknowledgments", content=ack,
                    headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    assert client.get(f"/v1/invoices/{inv['id']}").json()["encounter_status"] == "accepted"
    assert client.get(f"/v1/batches/{batch['id']}").json()["ack_status"] == "accepted"


def test_999_rejecting_a_transaction_marks_its_encounters_rejected_with_reasons(client, app):
    inv = post(client, ecm_invoice())
    batch = client.post("/v1/batches", json={}).json()
    text = client.get(f"/v1/batches/{batch['id']}/x12").text
    broken = text.replace("DMG*D8*19800115*U", "DMG*D8*19800115*Q")  # pyx12 rejects DMG03 outside F/M/U
    ack = validate_837(broken).ack_999
    assert "IK5*R" in ack
    r = client.post(f"/v1/batches/{batch['id']}/acknowledgments", content=ack,
                    headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    status = client.get(f"/v1/invoices/{inv['id']}").json()
    assert status["encounter_status"] == "rejected"
    finding = status["encounters"][0]["findings"][0]
    assert finding["segment"] == "DMG"
    assert finding["field"] == "member_date_of_birth"
    assert finding["message"].startswith("Member Date of Birth: ")


def test_999_findings_on_a_service_line_name_the_invoice_line_and_field(client):
    inv = post(client, ecm_invoice())
    batch = client.post("/v1/batches", json={}).json()
    text = client.get(f"/v1/batches/{batch['id']}/x12").text
    parts = text.split("~")
    second_line_date = [i for i, s in enumerate(parts) if s.strip().startswith("DTP*472")][1]
    parts[second_line_date] = "\nDTP*472*D8*20241399"  # no 99th of a month
    broken = "~".join(parts)
    ack = validate_837(broken).ack_999
    assert "IK5*R" in ack
    r = client.post(f"/v1/batches/{batch['id']}/acknowledgments", content=ack,
                    headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    finding = client.get(f"/v1/invoices/{inv['id']}").json()["encounters"][0]["findings"][0]
    assert (finding["line_number"], finding["field"]) == (2, "lines[1].service_start_date")
    assert finding["message"].startswith("line 2, Service Start Date: ")


def test_999_for_another_batch_is_refused(client):
    post(client, ecm_invoice("B1"))
    b1 = client.post("/v1/batches", json={}).json()
    post(client, ecm_invoice("B2", service_day=date(2024, 4, 2)))
    b2 = client.post("/v1/batches", json={}).json()
    ack_for_b1 = validate_837(client.get(f"/v1/batches/{b1['id']}/x12").text).ack_999
    r = client.post(f"/v1/batches/{b2['id']}/acknowledgments", content=ack_for_b1,
                    headers={"content-type": "text/plain"})
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "ack_group_mismatch"
    garbage = client.post(f"/v1/batches/{b2['id']}/acknowledgments", content="hello",
                          headers={"content-type": "text/plain"})
    assert garbage.status_code == 422


def test_replacing_a_sent_invoice_queues_a_frequency_7_claim_pointing_at_the_original(client):
    inv = post(client, ecm_invoice())
    client.post("/v1/batches", json={})
    corrected = variant(ecm_invoice(), payer_name="Fake Medi-Cal Health Plan Inc")
    r = client.post(f"/v1/invoices/{inv['id']}/replace", json=corrected)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["downstream"] == "replacement queued"
    assert out["invoice"]["replaces_invoice_id"] == inv["id"]
    assert client.get(f"/v1/invoices/{inv['id']}").json()["status"] == "replaced"
    batch = client.post("/v1/batches", json={}).json()
    text = client.get(f"/v1/batches/{batch['id']}/x12").text
    assert validate_837(text).ok
    segs = segments(text)
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm[5].endswith(":7")
    assert ["REF", "F8", "INV1001-01"] in segs


def test_replacing_an_unsent_invoice_only_updates_the_queue(client, app):
    inv = post(client, ecm_invoice())
    r = client.post(f"/v1/invoices/{inv['id']}/replace", json=variant(ecm_invoice(), payer_name="Other Name"))
    assert r.status_code == 201 and r.json()["downstream"] == "queue updated"
    batch = client.post("/v1/batches", json={}).json()
    clm = next(s for s in segments(client.get(f"/v1/batches/{batch['id']}/x12").text) if s[0] == "CLM")
    assert clm[5].endswith(":1") and batch["claim_count"] == 1


def test_voiding_a_sent_invoice_queues_a_frequency_8_claim(client):
    inv = post(client, cs_invoice())
    client.post("/v1/batches", json={})
    r = client.post(f"/v1/invoices/{inv['id']}/void")
    assert r.status_code == 200 and r.json()["downstream"] == "void queued"
    assert client.post(f"/v1/invoices/{inv['id']}/void").status_code == 409
    batch = client.post("/v1/batches", json={}).json()
    segs = segments(client.get(f"/v1/batches/{batch['id']}/x12").text)
    assert next(s for s in segs if s[0] == "CLM")[5].endswith(":8")
    assert ["REF", "F8", "INV2002-01"] in segs


def test_a_voided_invoice_frees_its_lines_for_a_new_invoice(client):
    inv = post(client, ecm_invoice("OLD"))
    assert client.post(f"/v1/invoices/{inv['id']}/void").json()["downstream"] == "queue updated"
    assert client.post("/v1/invoices", json=ecm_invoice("NEW")).status_code == 201


def test_concurrent_cutters_never_share_an_encounter_or_a_control_number(client, app):
    for i in range(12):
        post(client, ecm_invoice(f"C{i}", service_day=date(2024, 1, 1 + i)))
    results = []

    def cut():
        results.append(client.post("/v1/batches", json={"max_claims": 2}))

    threads = [threading.Thread(target=cut) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while client.post("/v1/batches", json={"max_claims": 2}).status_code == 201:
        pass
    with app.state.database.sessionmaker() as s:
        batches = list(s.scalars(select(BatchRow).where(BatchRow.status == "released")))
        encounters = list(s.scalars(select(EncounterRow)))
    assert len({b.isa13 for b in batches}) == len(batches) == 6
    assert len({b.gs06 for b in batches}) == len(batches)
    assert all(e.status == "batched" for e in encounters) and len(encounters) == 12
    assert sum(b.encounter_count for b in batches) == 12


def test_the_download_streams_the_stored_parts_as_one_file_whose_sha256_is_the_batch_s(client, app, monkeypatch):
    """The cut stores the file in parts (batch_content_parts) and hashes it as it is written; the download and
    the CLI join the parts back: the same bytes, Content-Length and ETag as the sha256 recorded at release."""
    import hashlib

    from app.batches import service
    from app.batches.models import BatchContentPartRow

    monkeypatch.setattr(service, "PART_BYTES", 1000)
    for n in range(3):
        post(client, ecm_invoice(f"PT{n}", cin=f"9200000{n}A"))
    batch = client.post("/v1/batches", json={}).json()
    x12 = client.get(f"/v1/batches/{batch['id']}/x12")
    assert x12.status_code == 200 and validate_837(x12.text).ok
    assert hashlib.sha256(x12.content).hexdigest() == batch["sha256"] and x12.headers["etag"] == f'"{batch["sha256"]}"'
    assert int(x12.headers["content-length"]) == len(x12.content)
    with app.state.database.sessionmaker() as session:
        row = session.scalar(select(BatchRow).where(BatchRow.public_id == batch["id"]))
        parts = session.execute(select(BatchContentPartRow.seq, BatchContentPartRow.content)
                                .where(BatchContentPartRow.batch_id == row.id).order_by(BatchContentPartRow.seq)).all()
        assert row.content is None
    assert [seq for seq, _ in parts] == list(range(len(parts))) and len(parts) == -(-len(x12.content) // 1000)
    assert b"".join(bytes(c) for _, c in parts) == x12.content


def test_a_batch_stored_before_parts_existed_downloads_from_its_content_column(client, app):
    from app.batches.models import BatchContentPartRow

    post(client, ecm_invoice())
    batch = client.post("/v1/batches", json={}).json()
    original = client.get(f"/v1/batches/{batch['id']}/x12").content
    with app.state.database.sessionmaker() as session:  # as a release before revision 0009 stored it
        row = session.scalar(select(BatchRow).where(BatchRow.public_id == batch["id"]))
        session.execute(BatchContentPartRow.__table__.delete().where(BatchContentPartRow.batch_id == row.id))
        row.content = original
        session.commit()
    x12 = client.get(f"/v1/batches/{batch['id']}/x12")
    assert x12.content == original and int(x12.headers["content-length"]) == len(original)


def test_a_batch_that_fails_pyx12_stores_no_bytes_and_requeues_its_encounters(client, app, settings, monkeypatch):
    from app.batches import service
    from app.batches.models import BatchClaimPartRow, BatchContentPartRow
    from app.x12 import pyx12_check

    post(client, ecm_invoice())
    real = pyx12_check.validate_837
    monkeypatch.setattr(pyx12_check, "validate_837", lambda text: real(text.replace("*U~", "*Q~", 1)))
    options = settings.cut_options()
    options = service.CutOptions(envelope=options.envelope, validate=True, validate_processes=1)
    batch = service.cut_batch(app.state.database.sessionmaker, service.CutRequest(), options)
    assert batch.status == "failed"
    with app.state.database.sessionmaker() as session:
        assert session.scalar(select(BatchRow.content).where(BatchRow.id == batch.id)) is None
        assert list(session.scalars(select(BatchContentPartRow.batch_id))) == []
        assert list(session.scalars(select(BatchClaimPartRow.batch_id))) == []
        assert {e.status for e in session.scalars(select(EncounterRow))} == {"held"}
