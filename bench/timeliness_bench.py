"""Timeliness dashboards over many invoices: `python -m bench.timeliness_bench --invoices 1000000 [--postgres URL]`.

Seeds a fresh database (a temporary SQLite file, or the given PostgreSQL database with its public schema dropped
and rebuilt by the migrations) with N invoices received over fifteen months either side of 2026-01-01, from
2,000 billing providers (NPI + TIN, a few large, many small), ECM and Community Supports, 1-6 lines each, and
adjudication histories: most paid after varied delays (some late, with interest paid with the payment, after it,
late or never), some contested, the information received, then paid or denied, some denied, some open, a few
decisions reversed and paid again.

Seeding is not timed and does not go through HTTP (that would take hours), but each row is built by the service's
own code: ``check_invoice`` + ``invoice_document`` + ``content_hash`` for the invoice, its lines and its encounter,
``parse_event`` + ``check_against_state`` for every event, ``derive`` for the ``claim_timeliness`` row. Before
seeding, ``verify_seeding`` posts a sample of the same generated invoices and events through the real API (uvicorn)
into one database, seeds the same sample into another, and compares every table column by column (except ids,
uuids and clock instants). Rows go in with SQLAlchemy Core executemany (SQLite) or COPY (PostgreSQL) after the
types' own bind processing, in large transactions.

Then the real server is started (``bench.http_intake.start_server``) and GET /v1/timeliness/summary and
/v1/timeliness/providers are timed over HTTP: median of 5 after one warm-up, default parameters, an as_of day, and
an as_of day with a program filter. Responses must be 200 and their counts must add up to N.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.data import invoice_body, line_body

REPO = Path(__file__).resolve().parents[1]
FIRST_RECEIPT, LAST_RECEIPT = date(2025, 9, 1), date(2026, 11, 20)  # ~15 months straddling 2026-01-01
PROVIDERS = 2000
MEMBERS_PER_INVOICE = 4  # invoice i belongs to member i // 4; a member's invoices go to distinct providers
CHUNK = 10_000  # invoices per transaction
BASES = 100_000  # distinct invoices checked in full; the rest are copies with their own number, member, events
AS_OF = date(2026, 6, 30)
TARGET_S = 1.0
REPEATS = 5


# ---------------------------------------------------------------------------------------------------------------
# generation: (raw invoice, [raw events]) for invoice i, deterministic in (seed, i)

def _today() -> date:
    from app.invoices.service import receipt_date

    return receipt_date(datetime.now(UTC), "America/Los_Angeles")


class _Generator:
    def __init__(self, seed: int):
        from app.codetable import CodeTables
        from bench.data import FIRST, LAST, STREETS, luhn_npi

        self.seed = seed
        rng = random.Random(seed)
        self.tables = CodeTables.load(REPO / "codes" / "allowed_codes")
        self.rows_by_version = {}
        self.providers = []
        for i in range(PROVIDERS):
            self.providers.append({
                "npi": luhn_npi(f"1{i:08d}"), "tin": f"{rng.randrange(10**8, 10**9)}",
                "name": f"COMMUNITY CARE PARTNERS {i}", "address": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
                "zip": f"958{rng.randrange(10, 99)}1234",
                "program": rng.choices(["ECM", "CS", None], weights=[55, 35, 10])[0]})  # None: bills both
        # a few large providers, many small ones (Zipf-like volume)
        weights = [1 / (k + 10) for k in range(PROVIDERS)]
        total = sum(weights)
        self.cum = []
        running = 0.0
        for w in weights:
            running += w / total
            self.cum.append(running)
        self.first, self.last, self.streets = FIRST, LAST, STREETS

    def _provider(self, rng: random.Random) -> int:
        import bisect

        return min(bisect.bisect_left(self.cum, rng.random()), PROVIDERS - 1)

    def _code_rows(self, on: date, program: str | None):
        version = self.tables.in_force(on)
        key = (id(version), program)
        rows = self.rows_by_version.get(key)
        if rows is None:
            rows = self.rows_by_version[key] = [r for r in version.rows if program in (None, r.program)]
        return rows

    def member(self, m: int) -> dict:
        rng = random.Random(f"{self.seed}-member-{m}")
        return {"cin": f"{90000000 + m % 10_000_000:08d}{'ABCDEFGH'[m % 8]}", "first": rng.choice(self.first),
                "last": rng.choice(self.last), "dob": date(1940, 1, 1) + timedelta(days=rng.randrange(0, 25000)),
                "address": f"{rng.randrange(1, 9999)} {rng.choice(self.streets)}", "zip": f"958{rng.randrange(10, 99)}"}

    def base(self, b: int, provider_index: int, today: date) -> dict:
        """Base invoice b: its provider, member b // 4, receipt date and lines (copies change the member and
        the invoice number only, see generate)."""
        rng = random.Random(f"{self.seed}-{b}")
        p = self.providers[provider_index]
        m = self.member(b // MEMBERS_PER_INVOICE)
        span = (min(LAST_RECEIPT, today) - FIRST_RECEIPT).days
        received = FIRST_RECEIPT + timedelta(days=int(span * rng.random() ** 0.9))  # volume grows a little
        k = rng.randint(1, 6)
        day0 = received - timedelta(days=7 * (k - 1) + 5 + rng.randrange(0, 30))
        lines, last_service = [], day0
        for j in range(k):
            start = day0 + timedelta(days=7 * j)
            row = rng.choice(self._code_rows(start, p["program"]))
            end = start + timedelta(days=rng.choice([0, 0, 0, 2, 4])) if row.encounter_unit == "per diem" else start
            units = 1 if end == start else (end - start).days + 1
            if row.max_units_per_line:
                units = min(units, int(row.max_units_per_line))
                end = start + timedelta(days=units - 1) if row.encounter_unit == "per diem" else start
            if row.encounter_unit == "per diem" and self.tables.in_force(end) is not self.tables.in_force(start):
                end, units = start, 1  # keep a line inside one code table
            last_service = max(last_service, end)
            lines.append(line_body(row, start, end, units, rng))
        raw = invoice_body(p, m, lines, rng, invoice_date=last_service, invoice_number=f"T{self.seed}-{b}")
        raw["received_date"] = received.isoformat()
        return raw

    @staticmethod
    def events(rng: random.Random, received: date, charge: Decimal, today: date) -> list[dict]:
        day = received
        out: list[dict] = []

        def later(lo: int, hi: int) -> date:
            nonlocal day
            day = day + timedelta(days=rng.randint(lo, hi))
            return day

        def pay_delay() -> tuple[int, int]:
            r = rng.random()
            return (3, 25) if r < 0.72 else (26, 45) if r < 0.92 else (46, 120)

        def paid(amount: Decimal) -> None:
            on = later(*pay_delay())
            body = {"type": "paid", "date": on.isoformat(), "amount": str(amount)}
            if rng.random() < 0.25:  # interest sent with the payment (right or not)
                body["interest_amount"] = str(Decimal(rng.randint(0, 2500)) / 100)
            out.append(body)
            r = rng.random()
            if r < 0.15:  # interest paid separately, usually within a week, sometimes late
                out.append({"type": "interest_paid", "date": later(0, 6 if rng.random() < 0.7 else 40).isoformat(),
                            "amount": str(Decimal(rng.randint(1, 3000)) / 100)})

        r = rng.random()
        if r < 0.70:
            paid(charge if rng.random() < 0.85 else (charge * Decimal("0.8")).quantize(Decimal("0.01")))
        elif r < 0.82:  # contested
            reason = rng.choice(["missing_info"] * 6 + ["fraud_investigation", "med_necessity_review", "other"])
            body = {"type": "contested", "date": later(2, 40).isoformat(), "reason": reason}
            if reason == "missing_info" or rng.random() < 0.5:
                body["information_requested"] = rng.sample(["care plan", "referral", "signed encounter note",
                                                            "member eligibility"], rng.randint(1, 2))
            out.append(body)
            if rng.random() < 0.85:
                out.append({"type": "information_received", "date": later(1, 45).isoformat()})
                s = rng.random()
                if s < 0.75:
                    paid(charge)
                elif s < 0.9:
                    out.append({"type": "denied", "date": later(3, 40).isoformat(), "reason": "not medically necessary"})
        elif r < 0.90:
            out.append({"type": "denied", "date": later(3, 45).isoformat(),
                        "reason": rng.choice(["duplicate", "not covered", "member not eligible"])})
        elif r < 0.92:  # paid, taken back, paid again
            paid(charge)
            out.append({"type": "decision_reversed", "date": later(1, 30).isoformat(), "reason": "recouped"})
            paid(charge)
        # else: open (~8%)
        return out[:_prefix_until(out, today)]


def _prefix_until(events: list[dict], today: date) -> int:
    """Events dated after today have not happened yet: keep the history up to the first of them."""
    for n, e in enumerate(events):
        if date.fromisoformat(e["date"]) > today:
            return n
    return len(events)


def _base_provider(gen: _Generator, seed: int, b: int) -> int:
    """The providers of one member's invoices are distinct, so no two stored lines share the duplicate key
    (member, NPI, code, modifiers, dates)."""
    first = b - b % MEMBERS_PER_INVOICE
    rng = random.Random(f"{seed}-providers-{first}")
    taken: list[int] = []
    while len(taken) <= b - first:
        p = gen._provider(rng)
        if p not in taken:
            taken.append(p)
    return taken[-1]


def copy_raw(base: dict, seed: int, bases: int, i: int) -> dict:
    """Invoice i is copy i // bases of base invoice i % bases: the same provider, lines and receipt date, its own
    invoice number and member (a new CIN, so its lines are no duplicates of the base's)."""
    c, b = divmod(i, bases)
    m = b // MEMBERS_PER_INVOICE + c * (-(-bases // MEMBERS_PER_INVOICE))
    return {**base, "invoice_number": f"T{seed}-{i}", "member_cin": f"{90000000 + m:08d}{'ABCDEFGH'[m % 8]}"}


def copy_events(seed: int, i: int, base: dict, today: date) -> list[dict]:
    rng = random.Random(f"{seed}-events-{i}")
    return _Generator.events(rng, date.fromisoformat(base["received_date"]), Decimal(base["invoice_amount"]), today)


def generate(seed: int, i: int, bases: int, today: date) -> tuple[dict, list[dict]]:
    """(raw, events) of invoice i, exactly as posted to the API."""
    gen = _get_generator(seed)
    b = i % bases
    base = gen.base(b, _base_provider(gen, seed, b), today)
    return copy_raw(base, seed, bases, i), copy_events(seed, i, base, today)


_GENERATORS: dict[int, _Generator] = {}


def _get_generator(seed: int) -> _Generator:
    if seed not in _GENERATORS:
        _GENERATORS[seed] = _Generator(seed)
    return _GENERATORS[seed]


# ---------------------------------------------------------------------------------------------------------------
# rows: what the service stores for one (raw, events), built by the service's own functions

class _Builder:
    def __init__(self, today: date):
        from app.codetable import CodeTables, load_code_list
        from app.invoices.rules import RuleContext
        from app.invoices.service import today_for_checks
        from app.settings import Settings
        from app.timeliness.policy import policy_from_settings

        settings = Settings()
        codes = settings.codes_dir
        self.ctx = RuleContext(code_tables=CodeTables.load(codes / "allowed_codes"),
                               places_of_service=load_code_list(codes / "place_of_service.csv"),
                               states=load_code_list(codes / "us_states.csv"), today=today_for_checks(),
                               max_lines=settings.max_lines_per_invoice)
        self.policy = policy_from_settings(settings)
        self.today = today
        self.timezone = settings.timezone

    def check(self, raw: dict):
        """The service's checks of one request body: (CheckResult, receipt date)."""
        from app.auth.caller import Caller
        from app.invoices.rules import check_invoice
        from app.invoices.schemas import InvoiceIn
        from app.invoices.service import check_received_date

        raw = InvoiceIn.model_validate(raw).model_dump(exclude_unset=True)  # what the route hands the service
        result = check_invoice(raw, self.ctx)
        received = check_received_date(result, raw, Caller(key_id="bootstrap", role="admin"), self.timezone)
        if result.findings.errors or received is None:
            raise ValueError(f"generated invoice {raw['invoice_number']} is invalid: {result.findings.errors}")
        return result, received

    @staticmethod
    def copied(base, raw: dict):
        """The base's CheckResult for a copy: only the invoice number and the member's CIN differ (verify_seeding
        checks, on a sample, that the service's own checks give the same invoice)."""
        from dataclasses import replace

        inv = base.invoice
        invoice = replace(inv, invoice_number=raw["invoice_number"], member=replace(inv.member, cin=raw["member_cin"]))
        return replace(base, invoice=invoice, invoice_number=invoice.invoice_number, member_cin=raw["member_cin"])

    def rows(self, raw: dict, raw_events: list[dict], now: datetime, checked=None) -> dict:
        from app.auth.caller import Caller
        from app.invoices.documents import content_hash, invoice_document
        from app.timeliness.claim import ClaimFacts, derive
        from app.timeliness.events import InvoiceState, check_against_state, parse_event
        from app.timeliness.schemas import EventIn
        from app.timeliness.service import _STORED

        result, received = checked or self.check(raw)
        caller = Caller(key_id="bootstrap", role="admin")
        raw_events = [EventIn.model_validate(e).model_dump(exclude_none=True) for e in raw_events]
        inv = result.invoice
        document = invoice_document(inv)
        invoice = {
            "public_id": str(uuid.uuid4()), "billing_npi": inv.billing_provider.npi,
            "invoice_number": inv.invoice_number, "member_cin": inv.member.cin, "status": "accepted",
            "replaces_invoice_id": None, "source": "api", "programs": ",".join(inv.programs), "received_at": now,
            "receipt_date": received, "receipt_date_set_by": caller.key_id, "invoice_date": inv.invoice_date,
            "invoice_amount": inv.invoice_amount, "content_hash": content_hash(document), "document": document,
            "warnings": [w.as_dict() for w in result.findings.warnings],
        }
        lines = [{
            "line_number": line.line_number, "billing_npi": inv.billing_provider.npi, "member_cin": inv.member.cin,
            "procedure_code": line.procedure_code, "modifiers": " ".join(line.modifiers),
            "modifiers_key": " ".join(sorted(line.modifiers)), "service_start_date": line.service_start_date,
            "service_end_date": line.service_end_date, "unit_count": line.unit_count, "unit_cost": line.unit_cost,
            "charge_amount": line.charge_amount, "place_of_service": line.place_of_service, "program": line.program,
            "encounter_unit": line.encounter_unit, "encounter_units": line.encounter_units,
            "code_table_version": line.code_table_version, "active": True,
        } for line in inv.lines]
        encounter = {"frequency": "1", "original_encounter_id": None, "original_reference": None,
                     "payer_id": document["primary_payer_identifier"], "status": "queued", "batch_id": None,
                     "clm01": None, "receiver_control_number": None, "findings": [], "created_at": now,
                     "updated_at": now}
        state = InvoiceState(received, inv.invoice_amount, "accepted")
        history, events = [], []
        for n, body in enumerate(raw_events, 1):
            event, requested, ack, problems = parse_event(body, self.today)
            if not problems:
                status, problems = check_against_state(state, history, event, ack)
            if problems:
                raise ValueError(f"generated event {n} of {raw['invoice_number']} is invalid: {problems}")
            history.append(event)
            events.append({"sequence": n, "kind": event.kind, "event_date": event.on, "amount": event.amount,
                           "interest_amount": event.interest_amount, "interest_date": event.interest_on,
                           "reason": event.reason, "information_requested": requested,
                           "exceeds_charge_acknowledged": ack, "recorded_at": now, "recorded_by": caller.key_id})
        derived = derive(ClaimFacts(received, inv.invoice_amount, None), history, self.policy)
        claim = {"receipt_date": received, "programs": invoice["programs"], "billing_npi": invoice["billing_npi"],
                 "billing_tin": document["billing_provider_tin"], "submission_type": "api",
                 "event_count": len(events), **{name: getattr(derived, name) for name in _STORED}}
        return {"invoice": invoice, "lines": lines, "encounter": encounter, "events": events, "claim": claim}


_BUILDER: _Builder | None = None


def _chunk_rows(args: tuple) -> tuple[list[tuple], tuple[dict, dict]]:
    """Rows of every copy of base invoices b0..b1-1 (invoice i = copy * bases + base, i < invoices). Each base is
    checked by the service's code once; its copies reuse that result with their own number and member. With them,
    what their claim_timeliness rows add to the rollup, summed by the service's own ``rollup.deltas``."""
    from app.timeliness import rollup

    global _BUILDER
    seed, b0, b1, bases, invoices, today, fast, dialect = args
    if _BUILDER is None or _BUILDER.today != today:
        _BUILDER = _Builder(today)
    gen = _get_generator(seed)
    now = datetime.now(UTC)
    out = []
    for b in range(b0, b1):
        base_raw = gen.base(b, _base_provider(gen, seed, b), today)
        base_checked = None
        for i in range(b, invoices, bases):
            raw = copy_raw(base_raw, seed, bases, i)
            if fast:
                if base_checked is None:
                    base_checked = _BUILDER.check(base_raw)
                checked = (_BUILDER.copied(base_checked[0], raw), base_checked[1])
            else:
                checked = None
            out.append(_BUILDER.rows(raw, copy_events(seed, i, base_raw, today), now, checked))
    return _encode(out, dialect), rollup.deltas((None, rollup.contribution(b["claim"])) for b in out)


# ---------------------------------------------------------------------------------------------------------------
# storing

TABLES = ("invoices", "invoice_lines", "encounters", "claim_timeliness", "invoice_events")
ROLLUP_TABLES = ("timeliness_rollup", "timeliness_rollup_days")  # filled through app.timeliness.rollup
_OWN_KEY = {"invoices", "invoice_lines", "encounters", "invoice_events"}  # integer id from a sequence


def _columns(name: str) -> list:
    """The columns a built row carries (ids and invoice_id are added by the writer)."""
    from app.db import Base
    from app.models import register_all

    register_all()
    return [c for c in Base.metadata.tables[name].columns if c.name not in ("id", "invoice_id")]


_ENCODERS: dict = {}


def _encoders(dialect_name: str) -> dict:
    """Per table, the column types' own bind processors for the dialect (exactly what an ORM insert applies)."""
    if dialect_name not in _ENCODERS:
        if dialect_name == "sqlite":
            from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite as dialect_class
        else:
            from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg as dialect_class
        dialect = dialect_class()
        _ENCODERS[dialect_name] = {name: [(c.name, c.type._cached_bind_processor(dialect)) for c in _columns(name)]
                                   for name in TABLES}
    return _ENCODERS[dialect_name]


def _encode(built: list[dict], dialect_name: str) -> list[tuple]:
    """Each invoice as (invoice, [lines], encounter, claim, [events]) tuples of database values, in _columns
    order, so the writer only adds ids."""
    enc = _encoders(dialect_name)

    def row(name: str, values: dict) -> tuple:
        return tuple(p(values[c]) if p else values[c] for c, p in enc[name])

    return [(row("invoices", b["invoice"]), [row("invoice_lines", x) for x in b["lines"]],
             row("encounters", b["encounter"]), row("claim_timeliness", b["claim"]),
             [row("invoice_events", x) for x in b["events"]]) for b in built]


class _Writer:
    """Inserts encoded rows with ids assigned here (as the database would), in big transactions: executemany of
    the driver (SQLite) or COPY (PostgreSQL)."""

    TABLES = TABLES

    def __init__(self, database_url: str):
        from app.db import make_engine

        self.url = database_url
        self.engine = make_engine(database_url)
        self.pg = not database_url.startswith("sqlite")
        self.dialect_name = "postgresql" if self.pg else "sqlite"
        with self.engine.connect() as conn:
            self.ids = {name: int(conn.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {name}")) or 0)
                        for name in _OWN_KEY}
        self.names = {}
        for name in TABLES:
            key = ["id"] if name in _OWN_KEY else []
            key += ["invoice_id"] if name != "invoices" else []
            self.names[name] = key + [c.name for c in _columns(name)]
        self.written = {name: 0 for name in TABLES}
        self.raw = self.engine.raw_connection()
        if not self.pg:
            self.raw.execute("PRAGMA cache_size=-1000000")  # seeding only: room for the index inserts

    def write(self, built: tuple[list[tuple], tuple[dict, dict]]) -> None:
        from app.timeliness import rollup

        encoded, (rollup_main, rollup_days) = built
        batch: dict[str, list[tuple]] = {name: [] for name in TABLES}
        ids = self.ids
        for invoice, lines, encounter, claim, events in encoded:
            ids["invoices"] += 1
            invoice_id = ids["invoices"]
            batch["invoices"].append((invoice_id, *invoice))
            for line in lines:
                ids["invoice_lines"] += 1
                batch["invoice_lines"].append((ids["invoice_lines"], invoice_id, *line))
            ids["encounters"] += 1
            batch["encounters"].append((ids["encounters"], invoice_id, *encounter))
            batch["claim_timeliness"].append((invoice_id, *claim))
            for event in events:
                ids["invoice_events"] += 1
                batch["invoice_events"].append((ids["invoice_events"], invoice_id, *event))
        cur = self.raw.cursor()
        try:
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE")
            for name in TABLES:
                rows, cols = batch[name], self.names[name]
                if not rows:
                    continue
                if self.pg:
                    with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                        for r in rows:
                            copy.write_row(r)
                else:
                    cur.executemany(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                    rows)
                self.written[name] += len(rows)
            self.raw.commit() if self.pg else cur.execute("COMMIT")
        finally:
            cur.close()
        with self.engine.begin() as conn:  # the rollup, upserted as the service does (rollup.write_deltas)
            rollup.write_deltas(conn, rollup_main, rollup_days)

    def finish(self) -> None:
        self.raw.close()
        with self.engine.begin() as conn:
            if self.pg:  # the sequences move past the ids given here, as if the rows had been posted
                for name in ("invoices", "invoice_lines", "encounters", "invoice_events"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                      f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"))
            else:
                conn.execute(text("ANALYZE"))
        if self.pg:  # as autovacuum leaves bulk-inserted tables: analyzed, and the visibility map set, without which
            # an index-only scan fetches every heap row (measured: /providers as_of 1,168 ms just seeded, 821 after)
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for name in (*self.TABLES, *ROLLUP_TABLES):
                    conn.execute(text(f"VACUUM ANALYZE {name}"))
        self.engine.dispose()


def fresh_database(database_url: str | None, tmp: str) -> str:
    """A new SQLite file in tmp, or the PostgreSQL database with its public schema dropped and re-migrated."""
    from app.migrate import upgrade

    if database_url is None or database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp}/timeliness.db"
    else:
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(database_url)
    return database_url


def seed(database_url: str, invoices: int, seed_value: int = 2026, processes: int | None = None,
         progress: bool = True) -> dict:
    """Invoices 0..invoices-1: min(invoices, BASES) base invoices and their copies (see copy_raw)."""
    today = _today()
    writer = _Writer(database_url)
    bases = min(invoices, BASES)
    per_chunk = max(1, CHUNK * bases // invoices)
    chunks = [(seed_value, s, min(s + per_chunk, bases), bases, invoices, today, True, writer.dialect_name)
              for s in range(0, bases, per_chunk)]
    processes = processes or min(2, os.cpu_count() or 1)
    started = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        for n, built in enumerate(pool.imap(_chunk_rows, chunks), 1):
            writer.write(built)
            if progress and (n % 10 == 0 or n == len(chunks)):
                done = writer.written["invoices"]
                print(f"  seeded {done:,} invoices ({time.perf_counter() - started:.0f} s)", file=sys.stderr,
                      flush=True)
    writer.finish()
    return {"seconds": time.perf_counter() - started, **writer.written}


# ---------------------------------------------------------------------------------------------------------------
# the seeded rows equal the rows the API stores for the same requests

_IGNORED = {"id", "invoice_id", "public_id", "received_at", "recorded_at", "created_at", "updated_at"}


def _table_rows(url: str) -> dict[str, list[tuple]]:
    from app.db import Base
    from app.models import register_all

    register_all()
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        numbers = dict(conn.execute(text("SELECT id, invoice_number FROM invoices")).all())
        for name in _Writer.TABLES:
            table = Base.metadata.tables[name]
            cols = [c for c in table.columns if c.name not in _IGNORED]
            key = table.c.id if "invoice_id" not in table.c else table.c.invoice_id
            rows = []
            for r in conn.execute(select(key, *cols)):
                rows.append((numbers[r[0]], *[json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v
                                               for v in r[1:]]))
            out[name] = sorted(rows, key=repr)
        for name in ROLLUP_TABLES:  # no invoice key: every row, every column
            out[name] = sorted((tuple(r) for r in conn.execute(select(Base.metadata.tables[name]))), key=repr)
        extra = {name: conn.scalar(text(f"SELECT COUNT(*) FROM {name}"))
                 for name in ("idempotency_keys", "event_idempotency_keys", "intake_rejections")}
    engine.dispose()
    out["other"] = [tuple(sorted(extra.items()))]
    return out


def verify_seeding(database_url: str | None, sample: int = 60, seed_value: int = 2026) -> int:
    """Post `sample` generated invoices and their events through the real API into one database, seed the same
    ones into another, and compare every stored column. Returns the number of rows compared."""
    from bench.http_intake import KEY, start_server

    today = _today()
    bases = sample // 2  # two copies of each base: the seeder's shortcut for copies is checked too
    pairs = [generate(seed_value, i, bases, today) for i in range(2 * bases)]
    tmp = tempfile.mkdtemp(prefix="bench-timeliness-verify-")
    urls = []
    try:
        for label in ("api", "seed"):
            if database_url is None or database_url.startswith("sqlite"):
                urls.append(_fresh_sqlite(tmp, label))
            else:
                urls.append(_fresh_pg_database(database_url, f"_verify_{label}"))
        api_url, seed_url = urls
        proc, base = start_server(api_url, 1)
        try:
            headers = {"Authorization": f"Bearer {KEY}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for raw, events in pairs:
                    r = client.post("/v1/invoices", json=raw)
                    assert r.status_code == 201, r.text
                    for body in events:
                        e = client.post(f"/v1/invoices/{r.json()['id']}/events", json=body)
                        assert e.status_code == 201, e.text
        finally:
            proc.terminate()
            proc.wait(30)
        writer = _Writer(seed_url)
        writer.write(_chunk_rows((seed_value, 0, bases, bases, 2 * bases, today, True, writer.dialect_name)))
        writer.finish()
        got, want = _table_rows(seed_url), _table_rows(api_url)
        compared = 0
        for name in want:
            if got[name] != want[name]:
                diff = [(a, b) for a, b in zip(got[name], want[name], strict=False) if a != b][:3]
                raise AssertionError(f"seeded {name} differ from the API's: {len(got[name])} vs {len(want[name])} "
                                     f"rows; first differences (seeded, api): {diff}")
            compared += len(want[name])
        return compared
    finally:
        if database_url is not None and not database_url.startswith("sqlite"):
            for suffix in ("_verify_api", "_verify_seed"):
                _drop_pg_database(database_url, suffix)
        shutil.rmtree(tmp, ignore_errors=True)


def _fresh_sqlite(tmp: str, label: str) -> str:
    from app.migrate import upgrade

    url = f"sqlite:///{tmp}/{label}.db"
    upgrade(url)
    return url


def _admin_engine(database_url: str):
    return create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _fresh_pg_database(database_url: str, suffix: str) -> str:
    from app.migrate import upgrade

    url = make_url(database_url)
    name = f"{url.database}{suffix}"
    admin = _admin_engine(database_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    new = url.set(database=name).render_as_string(hide_password=False)
    upgrade(new)
    return new


def _drop_pg_database(database_url: str, suffix: str) -> None:
    admin = _admin_engine(database_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}{suffix}" WITH (FORCE)'))
    admin.dispose()


# ---------------------------------------------------------------------------------------------------------------
# timing over HTTP

def _expected_counts(database_url: str) -> dict:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        out = {
            "claims": conn.scalar(text("SELECT COUNT(*) FROM claim_timeliness")),
            "cs": conn.scalar(text("SELECT COUNT(*) FROM claim_timeliness WHERE programs LIKE '%CS%'")),
            "providers": conn.scalar(text("SELECT COUNT(*) FROM (SELECT DISTINCT billing_npi, billing_tin "
                                          "FROM claim_timeliness) p")),
            "events": conn.scalar(text("SELECT COUNT(*) FROM invoice_events")),
        }
    engine.dispose()
    return out


def _timed(client: httpx.Client, path: str, params: dict, repeats: int = REPEATS) -> tuple[float, dict]:
    client.get(path, params=params)  # warm-up
    times, body = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        r = client.get(path, params=params)
        times.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise AssertionError(f"GET {path} {params}: {r.status_code} {r.text[:500]}")
        body = r.json()
    return statistics.median(times), body


def _all_providers(client: httpx.Client, params: dict) -> list[dict]:
    items, offset = [], 0
    while True:
        r = client.get("/v1/timeliness/providers", params={**params, "limit": 1000, "offset": offset})
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        offset += 1000
        if offset >= page["total"]:
            return items


VARIANTS = {"default": {}, "as_of": {"as_of": AS_OF.isoformat()},
            "as_of+program": {"as_of": AS_OF.isoformat(), "program": "CS"}}


def measure(database_url: str, invoices: int, workers: int = 1, repeats: int = REPEATS,
            variants: tuple[str, ...] = tuple(VARIANTS)) -> list[dict]:
    from bench.http_intake import KEY, start_server

    expected = _expected_counts(database_url)
    assert expected["claims"] == invoices, expected
    labels = {"default": "default", "as_of": f"as_of {AS_OF}", "as_of+program": f"as_of {AS_OF}, program CS"}
    variants = [(labels[v], VARIANTS[v]) for v in variants]
    out = []
    proc, base = start_server(database_url, workers)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=600) as client:
            for label, params in variants:
                want = expected["cs"] if "program" in params else invoices
                seconds, body = _timed(client, "/v1/timeliness/summary", params, repeats)
                assert body["state"]["claims"] == want, (label, body["state"]["claims"], want)
                assert sum(r["claims"] for r in body["state_by_regime"].values()) == want
                assert body["state"]["timely"] + body["state"]["late"] + body["state"]["pending"] == want
                assert body["federal"]["claims"] <= want
                out.append({"endpoint": "summary", "variant": label, "seconds": seconds})
                seconds, body = _timed(client, "/v1/timeliness/providers", params, repeats)
                assert len(body["items"]) == min(200, body["total"]), (len(body["items"]), body["total"])
                if "program" not in params:
                    assert body["total"] == expected["providers"], (body["total"], expected)
                everyone = _all_providers(client, params)
                assert sum(r["volume"] for r in everyone) == want, (label, sum(r["volume"] for r in everyone), want)
                out.append({"endpoint": "providers", "variant": label, "seconds": seconds})
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def _backend(database_url: str | None) -> str:
    return "SQLite" if database_url is None or database_url.startswith("sqlite") else "PostgreSQL"


def rows(invoices: int = 1_000_000, database_url: str | None = None, *, keep: bool = False,
         verify: bool = True, reuse: bool = False, repeats: int = REPEATS,
         variants: tuple[str, ...] = tuple(VARIANTS)) -> list[tuple]:
    """Seed (unless reuse), time both endpoints, and return bench.run rows (figure, measured, target, met)."""
    label = _backend(database_url)
    tmp = tempfile.mkdtemp(prefix="bench-timeliness-")
    try:
        if verify:
            compared = verify_seeding(database_url)
            print(f"seeding checked against the API: {compared} rows equal", file=sys.stderr)
        if reuse and database_url:
            url = database_url
        else:
            url = fresh_database(database_url, tmp)
            info = seed(url, invoices)
            print(f"seeded {label}: {info}", file=sys.stderr)
        results = measure(url, invoices, repeats=repeats, variants=variants)
    finally:
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    out = []
    for r in results:
        median = f"median of {repeats}" if repeats > 1 else "1 run"
        out.append((f"GET /v1/timeliness/{r['endpoint']} ({label}, {invoices:,} invoices, {r['variant']})",
                    f"{r['seconds'] * 1000:,.0f} ms ({median})", f"<= {TARGET_S * 1000:.0f} ms", r["seconds"] <= TARGET_S))
    return out


def main(argv=None) -> int:
    from bench.run import table

    parser = argparse.ArgumentParser(prog="python -m bench.timeliness_bench")
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="PostgreSQL URL of a database of the bench's own (its public schema is "
                                           "dropped and rebuilt)")
    parser.add_argument("--sqlite-file", help="seed this SQLite file (kept) instead of a temporary one")
    parser.add_argument("--reuse", action="store_true", help="time an already seeded database (--postgres or "
                                                             "--sqlite-file) without seeding it again")
    parser.add_argument("--no-verify", action="store_true", help="skip the seeded-rows-equal-API-rows check")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed requests per figure (median)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"some of {','.join(VARIANTS)}")
    parser.add_argument("--seed-only", action="store_true", help="seed --sqlite-file and stop (time it later with "
                                                                 "--reuse)")
    args = parser.parse_args(argv)
    started = time.time()
    variants = tuple(args.variants.split(","))
    url = args.postgres or (f"sqlite:///{Path(args.sqlite_file).resolve()}" if args.sqlite_file else None)
    if args.sqlite_file and not args.reuse:
        Path(args.sqlite_file).unlink(missing_ok=True)
        from app.migrate import upgrade

        upgrade(url)
        if not args.no_verify:
            print(f"seeding checked against the API: {verify_seeding(None)} rows equal", file=sys.stderr)
        print(f"seeded: {seed(url, args.invoices)}", file=sys.stderr)
        if args.seed_only:
            return 0
        print(table(rows(args.invoices, url, verify=False, reuse=True, repeats=args.repeats, variants=variants)))
    else:
        print(table(rows(args.invoices, url, verify=not args.no_verify, reuse=args.reuse, repeats=args.repeats,
                         variants=variants)))
    print(f"\n({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
