"""Accepted invoices -> 837P 005010X222A1, loop by loop, with the implementation guide's names.

Layout (member = subscriber, so no 2000C): ST, BHT, 1000A submitter, 1000B receiver, then per billing
provider 2000A/2010AA, per member 2000B/2010BA/2010BB, per claim 2300 (+2310B) and per line 2400.
Claims split at 50 lines or 12 diagnoses; member loops at 100 claims; transactions at 5,000 claims.
Same input, control numbers and `created` -> byte-identical text. Segments end with '~' and a newline."""

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from app.invoices.domain import Invoice, Provider, ServiceLine
from app.invoices.fields import to_x12_ascii
from app.x12.segments import SEGMENT, Raw, X12ValueError, amount, ccyymmdd, check_all, composite, isa, join, segment

MAX_LINES_PER_CLAIM = 50
MAX_DIAGNOSES_PER_CLAIM = 12
MAX_CLAIMS_PER_MEMBER_LOOP = 100
MAX_CLAIMS_PER_TRANSACTION = 5000
VERSION = "005010X222A1"


@dataclass(frozen=True)
class EncounterInput:
    invoice: Invoice
    claim_id_base: str
    line_control_numbers: tuple[str, ...]
    encounter_id: str = ""
    frequency: str = "1"
    original_reference: str | None = None


@dataclass(frozen=True)
class Envelope:
    sender_qualifier: str = "ZZ"
    sender_id: str = "ENCSVCTEST"
    receiver_qualifier: str = "ZZ"
    receiver_id: str = "MCPTEST"
    gs_sender: str = "ENCSVCTEST"
    gs_receiver: str = "MCPTEST"
    usage: str = "T"
    submitter_name: str = "ENCOUNTER SERVICE TEST SUBMITTER"
    submitter_etin: str = "ENCSVCTEST"
    submitter_contact: str = "EDI DESK"
    submitter_phone: str = "9165550199"
    receiver_name: str = "TEST MEDI-CAL MANAGED CARE PLAN"
    receiver_etin: str = "MCPTEST"


@dataclass(frozen=True)
class ControlNumbers:
    isa13: int
    gs06: int
    st02_first: int


class ClaimRef(NamedTuple):
    encounter_id: str
    clm01: str
    st02: str
    line_control_numbers: tuple[str, ...]
    first_segment: int  # the CLM segment, 1-based in the whole file (ISA = 1)
    last_segment: int
    member_loop_segment: int  # the 2000B HL this claim sits under
    st_segment: int  # its ST
    total_charge: Decimal


@dataclass(frozen=True)
class RenderedBatch:
    text: str
    claims: tuple[ClaimRef, ...]
    transaction_count: int
    segment_count: int
    total_charge: Decimal


class _Claim:
    """One CLM: up to 50 lines and 12 diagnoses of one encounter."""

    __slots__ = ("encounter", "seq", "lines", "diagnoses", "clm01", "total", "place_of_service")

    def __init__(self, encounter: EncounterInput, seq: int, lines: list[tuple[ServiceLine, str]],
                 diagnoses: list[str]):
        self.encounter, self.seq, self.lines, self.diagnoses = encounter, seq, lines, diagnoses
        self.clm01 = f"{encounter.claim_id_base}-{seq:02d}"
        self.total = sum([line.charge_amount for line, _ in lines], Decimal("0"))
        self.place_of_service = _most_frequent([line.place_of_service for line, _ in lines])


def _most_frequent(places: list[str]) -> str:
    """The claim's POS: the most frequent line POS (first seen wins a tie); other lines carry theirs in SV105."""
    counts: dict[str, int] = {}
    for pos in places:
        counts[pos] = counts.get(pos, 0) + 1
    return max(counts, key=counts.__getitem__)  # max keeps the first of equals; dicts keep first-seen order


def split_claims(encounter: EncounterInput) -> list[_Claim]:
    if encounter.frequency not in ("1", "7", "8"):
        raise X12ValueError(f"claim frequency {encounter.frequency!r} is not 1, 7 or 8")
    if encounter.frequency in ("7", "8") and not encounter.original_reference:
        raise X12ValueError("a replacement or void needs the original's reference (REF*F8)")
    lines = encounter.invoice.lines
    if len(encounter.line_control_numbers) != len(lines):
        raise X12ValueError("one line control number per invoice line is needed")
    pairs = list(zip(lines, encounter.line_control_numbers))
    diagnoses = list(dict.fromkeys(d for line in lines for d in line.diagnosis_codes))
    if len(pairs) <= MAX_LINES_PER_CLAIM and len(diagnoses) <= MAX_DIAGNOSES_PER_CLAIM:
        return [_Claim(encounter, 1, pairs, diagnoses)]
    groups: list[tuple[list, list[str]]] = [([], [])]
    for line, control in pairs:
        current, current_dx = groups[-1]
        merged = current_dx + [d for d in line.diagnosis_codes if d not in current_dx]
        if current and (len(current) >= MAX_LINES_PER_CLAIM or len(merged) > MAX_DIAGNOSES_PER_CLAIM):
            groups.append(([], []))
            current = groups[-1][0]
            merged = list(dict.fromkeys(line.diagnosis_codes))
        current.append((line, control))
        groups[-1] = (current, merged)
    return [_Claim(encounter, seq, group, dx) for seq, (group, dx) in enumerate(groups, start=1)]


def _text(value: str | None) -> str:
    """Free text as the 837P carries it: transliterated to ASCII and upper-cased."""
    if value is None:
        return ""
    if value.isascii():
        return value.upper()
    ascii_form = to_x12_ascii(value)
    if ascii_form is None:
        raise X12ValueError("a value has letters with no ASCII spelling")
    return ascii_form.upper()


def _date(d) -> str:
    return ccyymmdd(d)


def _billing_key(p: Provider) -> tuple:
    return (p.npi, p.tin, p.name, p.first_name, p.last_name, p.address, p.city, p.state, p.zip, p.phone)


def _renders_differently(inv: Invoice) -> bool:
    b, r = inv.billing_provider, inv.rendering_provider
    if r.npi:
        return r.npi != b.npi
    return (r.name, r.last_name) != (b.name, b.last_name)


_T = SEGMENT + "\n"  # between segments that are written together as one piece


class _Builder:
    """Pieces of text, each one or more segments; `count` is the file segment number of the last (ISA = 1)."""

    __slots__ = ("pieces", "count")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.count = 0

    def add(self, tag: str, *elements: object) -> int:
        self.pieces.append(segment(tag, *elements))
        self.count += 1
        return self.count

    def write(self, segments: list[str]) -> int:
        self.pieces.append(_T.join(segments))
        self.count += len(segments)
        return self.count


def _loop_2010aa(b: _Builder, p: Provider) -> None:
    if p.last_name:
        b.add("NM1", "85", "1", _text(p.last_name), _text(p.first_name), "", "", "", "XX", p.npi)
    else:
        b.add("NM1", "85", "2", _text(p.name), "", "", "", "", "XX", p.npi)
    b.add("N3", _text(p.address))
    b.add("N4", _text(p.city), p.state, p.zip)
    b.add("REF", "EI", p.tin)
    b.add("PER", "IC", _text(p.name)[:60], "TE", p.phone)


def _loop_2010ba_2010bb(b: _Builder, inv: Invoice) -> None:
    m = inv.member
    last, first, address, city, payer = (_text(m.last_name), _text(m.first_name), _text(m.address), _text(m.city),
                                         _text(inv.payer_name))
    check_all([last, first, m.cin, address, city, m.state, m.zip, payer, inv.primary_payer_identifier])
    b.write([
        f"NM1*IL*1*{last.strip()}*{first.strip()}****MI*{m.cin.strip()}", f"N3*{address.strip()}",
        f"N4*{city.strip()}*{m.state.strip()}*{m.zip.strip()}", f"DMG*D8*{_date(m.date_of_birth)}*U",
        f"NM1*PR*2*{payer.strip()}*****PI*{inv.primary_payer_identifier.strip()}",
    ])


def _loop_2300(b: _Builder, claim: _Claim) -> tuple[int, int]:
    """The claim and its lines, written as f-strings for speed: numbers and dates are formatted by us and
    cannot hold a delimiter; every text value from the invoice goes through one check_all() first."""
    enc, inv = claim.encounter, claim.encounter.invoice
    lines = claim.lines
    check_all([claim.clm01, inv.authorization_number or "", enc.original_reference or "", inv.control_number or "",
               inv.member.medical_record_number or "", *claim.diagnoses,
               *(v for line, control in lines
                 for v in (line.procedure_code, *line.modifiers, line.place_of_service, control))])
    pos = claim.place_of_service
    head = [f"CLM*{claim.clm01}*{amount(claim.total)}***{pos}:B:{enc.frequency}*Y*A*Y*Y"]
    if inv.authorization_number:
        head.append(f"REF*G1*{inv.authorization_number.strip()}")
    if enc.frequency in ("7", "8"):
        head.append(f"REF*F8*{enc.original_reference.strip()}")
    if inv.control_number:
        head.append(f"REF*D9*{inv.control_number.strip()}")
    if inv.member.medical_record_number:
        head.append(f"REF*EA*{inv.member.medical_record_number.strip()}")
    pointer_of = {d: str(i) for i, d in enumerate(claim.diagnoses, start=1)}
    head.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{d.replace('.', '')}"
                                 for i, d in enumerate(claim.diagnoses)))
    first = b.count + 1
    b.write(head)
    if _renders_differently(inv):
        r = inv.rendering_provider
        npi = ("XX", r.npi) if r.npi else ("", "")
        if r.last_name:
            b.add("NM1", "82", "1", _text(r.last_name), _text(r.first_name), "", "", "", *npi)
        else:
            b.add("NM1", "82", "2", _text(r.name), "", "", "", "", *npi)
    pieces = []
    for n, (line, control) in enumerate(lines, start=1):
        procedure = ":".join(("HC", line.procedure_code, *line.modifiers))
        pointers = ":".join([pointer_of[d] for d in line.diagnosis_codes])
        line_pos = line.place_of_service if line.place_of_service != pos else ""
        start, end = line.service_start_date, line.service_end_date
        dates = f"D8*{ccyymmdd(start)}" if start == end else f"RD8*{ccyymmdd(start)}-{ccyymmdd(end)}"
        pieces.append(f"LX*{n}{_T}SV1*{procedure}*{amount(line.charge_amount)}*UN*{amount(line.encounter_units)}*"
                      f"{line_pos}**{pointers}{_T}DTP*472*{dates}{_T}REF*6R*{control}")
    b.pieces.append(_T.join(pieces))
    b.count += 4 * len(lines)
    return first, b.count


def sort_key(encounter: EncounterInput) -> tuple:
    """The order claims are written in: billing provider (every field of its 2010AA), then member CIN."""
    return (_billing_key(encounter.invoice.billing_provider), encounter.invoice.member.cin)


def render_837p(
    encounters: Sequence[EncounterInput], *, envelope: Envelope, control: ControlNumbers,
    mode: Literal["claim", "encounter"], created: datetime, batch_id: str,
) -> RenderedBatch:
    """The whole interchange at once: `encounters` in any order (sorted here, stable), every claim kept."""
    refs: list[ClaimRef] = []
    stream = Stream837(sorted(encounters, key=sort_key), envelope=envelope, control=control, mode=mode,
                       created=created, batch_id=batch_id, on_claim=refs.append)
    parts = [stream.header, *(t.text for t in stream.transactions()), stream.trailer]
    return RenderedBatch(text="".join(parts), claims=tuple(refs), transaction_count=stream.transaction_count,
                         segment_count=stream.segment_count, total_charge=stream.total_charge)


class Transaction(NamedTuple):
    text: str  # ST..SE, each segment followed by '~' and a newline
    st02: str
    first_segment: int  # the ST, 1-based in the whole file (ISA = 1)
    segment_count: int  # ST..SE


class Stream837:
    """The interchange a transaction set (ST..SE) at a time, from encounters already in `sort_key` order (an
    encounter out of order raises X12ValueError). Only the encounters and text of the current transaction set
    are held: `encounters` may be a lazy iterator, and each claim's ClaimRef goes to `on_claim` as it is
    written. The text is `header`, then every transaction's text, then `trailer` (set once `transactions()`
    is exhausted) — byte for byte what render_837p returns for the same encounters."""

    def __init__(self, encounters: Iterable[EncounterInput], *, envelope: Envelope, control: ControlNumbers,
                 mode: Literal["claim", "encounter"], created: datetime, batch_id: str,
                 on_claim: Callable[[ClaimRef], object] | None = None):
        if mode not in ("claim", "encounter"):
            raise X12ValueError(f"mode {mode!r} is not claim or encounter")
        self._encounters, self._envelope, self._control, self._mode = encounters, envelope, control, mode
        self._created, self._batch_id, self._on_claim = created, batch_id, on_claim
        b = _Builder()
        b.pieces.append(isa(sender_qualifier=envelope.sender_qualifier, sender_id=envelope.sender_id,
                            receiver_qualifier=envelope.receiver_qualifier, receiver_id=envelope.receiver_id,
                            date6=created.strftime("%y%m%d"), time4=created.strftime("%H%M"),
                            control=control.isa13, usage=envelope.usage))
        b.count = 1
        b.add("GS", "HC", envelope.gs_sender, envelope.gs_receiver, created.strftime("%Y%m%d"),
              created.strftime("%H%M"), control.gs06, "X", VERSION)
        self.header: str = join(b.pieces)
        self.trailer: str | None = None
        self.segment_count = b.count  # so far
        self.transaction_count = 0
        self.claim_count = 0
        self.line_count = 0
        self.total_charge = Decimal("0")

    def _claims(self) -> Iterator[tuple[_Claim, tuple]]:
        previous = None
        for encounter in self._encounters:
            key = sort_key(encounter)
            if previous is not None and key < previous:
                raise X12ValueError("encounters are not in billing provider, member order")
            previous = key
            for claim in split_claims(encounter):
                yield claim, key

    def transactions(self) -> Iterator[Transaction]:
        claims = self._claims()
        pending = next(claims, None)
        while pending is not None:
            was_enabled = gc.isenabled()
            gc.disable()  # millions of short-lived strings and no cycles: see render_837p's history
            try:
                transaction, pending = self._transaction(pending, claims)
            finally:
                if was_enabled:
                    gc.enable()
            yield transaction
        b = _Builder()
        b.count = self.segment_count
        b.add("GE", self.transaction_count, self._control.gs06)
        b.add("IEA", 1, f"{self._control.isa13:09d}")
        self.segment_count = b.count
        self.trailer = join(b.pieces)

    def _transaction(self, pending, claims) -> tuple[Transaction, tuple | None]:  # noqa: ANN001
        envelope, created = self._envelope, self._created
        b = _Builder()
        b.count = self.segment_count
        st02 = f"{self._control.st02_first + self.transaction_count:04d}"
        st_at = b.add("ST", "837", st02, VERSION)
        b.add("BHT", "0019", "00", self._batch_id, created.strftime("%Y%m%d"), created.strftime("%H%M"),
              "RP" if self._mode == "encounter" else "CH")
        b.add("NM1", "41", "2", envelope.submitter_name, "", "", "", "", "46", envelope.submitter_etin)
        b.add("PER", "IC", envelope.submitter_contact, "TE", envelope.submitter_phone)
        b.add("NM1", "40", "2", envelope.receiver_name, "", "", "", "", "46", envelope.receiver_etin)
        hl = provider_hl = member_at = in_member = 0
        provider_key = cin = None
        written = 0
        while pending is not None and written < MAX_CLAIMS_PER_TRANSACTION:
            claim, key = pending
            inv = claim.encounter.invoice
            if written == 0 or key[0] != provider_key:  # a new 2000A: same grouping as groupby over the chunk
                hl += 1
                provider_hl, provider_key, cin, in_member = hl, key[0], None, 0
                b.add("HL", provider_hl, "", "20", "1")
                _loop_2010aa(b, inv.billing_provider)
            if key[1] != cin:
                cin, in_member = key[1], 0
            if in_member % MAX_CLAIMS_PER_MEMBER_LOOP == 0:
                hl += 1
                member_at = b.write([f"HL*{hl}*{provider_hl}*22*0", "SBR*P*18*******MC"]) - 1
                _loop_2010ba_2010bb(b, inv)
            in_member += 1
            first, last = _loop_2300(b, claim)
            if self._on_claim is not None:
                self._on_claim(ClaimRef(
                    encounter_id=claim.encounter.encounter_id, clm01=claim.clm01, st02=st02,
                    line_control_numbers=tuple(c for _, c in claim.lines), first_segment=first,
                    last_segment=last, member_loop_segment=member_at, st_segment=st_at, total_charge=claim.total,
                ))
            self.total_charge += claim.total
            self.line_count += len(claim.lines)
            written += 1
            pending = next(claims, None)
        b.add("SE", b.count + 1 - st_at + 1, st02)
        self.claim_count += written
        self.transaction_count += 1
        self.segment_count = b.count
        return Transaction(join(b.pieces), st02, st_at, b.count - st_at + 1), pending
