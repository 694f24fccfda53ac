"""The CLI as scripts use it: real processes, real exit statuses."""

import json
import os
import subprocess
import sys
from pathlib import Path

from factories import ecm_invoice

DATA = Path(__file__).resolve().parents[1] / "encounters837" / "data"


def cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, env=env, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])


def test_batch_cut_list_show_and_x12_from_the_command_line(client, database_url):
    assert client.post("/v1/invoices", json=ecm_invoice()).status_code == 201
    cut = cli("batch", "cut", "--mode", "claim", database_url=database_url)
    assert cut.returncode == 0, cut.stderr.decode()
    batch = json.loads(cut.stdout)
    assert batch["status"] == "released" and batch["mode"] == "claim" and batch["claim_count"] == 1

    listed = cli("batch", "list", database_url=database_url)
    assert listed.returncode == 0 and batch["id"] in listed.stdout.decode()
    shown = cli("batch", "show", batch["id"], database_url=database_url)
    assert shown.returncode == 0 and json.loads(shown.stdout)["sha256"] == batch["sha256"]
    x12 = cli("batch", "x12", batch["id"], database_url=database_url)
    assert x12.returncode == 0 and x12.stdout == client.get(f"/v1/batches/{batch['id']}/x12").content

    again = cli("batch", "cut", database_url=database_url)
    assert again.returncode == 1 and "No queued encounters" in again.stderr.decode()
    unknown = cli("batch", "show", "no-such-batch", database_url=database_url)
    assert unknown.returncode == 1 and "no batch no-such-batch" in unknown.stderr.decode()


def test_x12_validate_exits_0_when_clean_and_1_with_findings_in_plain_words(client, database_url, tmp_path):
    assert client.post("/v1/invoices", json=ecm_invoice()).status_code == 201
    batch = client.post("/v1/batches", json={}).json()
    good = tmp_path / "good.x12"
    good.write_bytes(client.get(f"/v1/batches/{batch['id']}/x12").content)
    ok = cli("x12", "validate", str(good), database_url=database_url)
    assert ok.returncode == 0 and "OK, no findings" in ok.stdout.decode()

    bad = tmp_path / "bad.x12"
    bad.write_text(good.read_text().replace("DMG*D8*19800115*U", "DMG*D8*19800115*Q"))
    failed = cli("x12", "validate", str(bad), database_url=database_url)
    out = failed.stdout.decode()
    assert failed.returncode == 1 and "(DMG)" in out and "FAILED, 1 finding(s)" in out

    crash = cli("x12", "validate", str(DATA / "16-five-dx-pointers-crash.x12"), database_url=database_url)
    assert crash.returncode == 1 and "could not check this file" in crash.stdout.decode()
    missing = cli("x12", "validate", str(tmp_path / "nope.x12"), database_url=database_url)
    assert missing.returncode == 1 and "cannot read" in missing.stderr.decode()
