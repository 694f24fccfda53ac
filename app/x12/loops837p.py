"""Accepted invoices -> 837P 005010X222A1, loop by loop, with the implementation guide's names.

Layout (member = subscriber, so no 2000C): ST, BHT, 1000A submitter, 1000B receiver, then per billing
provider 2000A/2010AA, per member 2000B/2010BA/2010BB, per claim 2300 (+2310B) and per line 2400.
Claims split at 50 lines or 12 diagnoses; member loops at 100 claims; transactions at 5,000 claims.
Same input, control numbers and `created` -> byte-identical text. Segments end with '~' and a newline."""

import gc
from operator import attrgetter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from app.invoices.domain import Invoice, Provider, ServiceLine
from app.invoices.fields import to_x12_ascii
from app.x12.segments import SEGMENT, X12ValueError, amount, ccyymmdd, check_named, is_clean, isa, join, segment

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


def _most_frequent(places: list[str]) -> str:
    """The claim's POS: the most frequent line POS (first seen wins a tie); other lines carry theirs in SV105."""
    counts: dict[str, int] = {}
    for pos in places:
        counts[pos] = counts.get(pos, 0) + 1
    return max(counts, key=counts.__getitem__)  # max keeps the first of equals; dicts keep first-seen order


class _Claim(NamedTuple):
    """One CLM: up to 50 lines and 12 diagnoses of one encounter (its line control numbers beside them)."""

    seq: int
    lines: Sequence[ServiceLine]
    controls: Sequence[str]
    diagnoses: list[str]


def split_claims(encounter: EncounterInput) -> list[_Claim]:
    if encounter.frequency not in ("1", "7", "8"):
        raise X12ValueError(f"claim frequency {encounter.frequency!r} is not 1, 7 or 8")
    if encounter.frequency in ("7", "8") and not encounter.original_reference:
        raise X12ValueError("a replacement or void needs the original's reference (REF*F8)")
    lines = encounter.invoice.lines
    controls = encounter.line_control_numbers
    if len(controls) != len(lines):
        raise X12ValueError("one line control number per invoice line is needed")
    codes: list[str] = []
    for line in lines:
        codes += line.diagnosis_codes
    diagnoses = list(dict.fromkeys(codes))
    if len(lines) <= MAX_LINES_PER_CLAIM and len(diagnoses) <= MAX_DIAGNOSES_PER_CLAIM:
        return [_Claim(1, lines, controls, diagnoses)]
    groups: list[tuple[list, list[str]]] = [([], [])]
    for line, control in zip(lines, controls):
        current, current_dx = groups[-1]
        merged = current_dx + [d for d in line.diagnosis_codes if d not in current_dx]
        if current and (len(current) >= MAX_LINES_PER_CLAIM or len(merged) > MAX_DIAGNOSES_PER_CLAIM):
            groups.append(([], []))
            current = groups[-1][0]
            merged = list(dict.fromkeys(line.diagnosis_codes))
        current.append((line, control))
        groups[-1] = (current, merged)
    return [_Claim(seq, [line for line, _ in group], [c for _, c in group], dx)
            for seq, (group, dx) in enumerate(groups, start=1)]


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


_billing_key: Callable[[Provider], tuple] = attrgetter(  # every field _loop_2010aa writes, as one tuple
    "npi", "tin", "name", "first_name", "last_name", "address", "city", "state", "zip", "phone")


def _renders_differently(inv: Invoice) -> bool:
    b, r = inv.billing_provider, inv.rendering_provider
    if r.npi:
        return r.npi != b.npi
    return (r.name, r.last_name) != (b.name, b.last_name)


_T = SEGMENT + "\n"  # between segments that are written together as one piece
_ZERO = Decimal("0")


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


_POINTERS = tuple(str(i) for i in range(1, 100))  # diagnosis pointers "1", "2", ... (at most 12 are used)

# Formatted dates and amounts, shared by every stream in the process: a cut repeats the same few hundred days
# and a few thousand amounts. Only exact `date`s and non-zero Decimals are stored, whose text is a function of
# the value (-0 and 0 are equal but print differently); each dict is emptied when it grows past its bound.
_DATES: dict = {}
_AMOUNTS: dict = {}
_CACHE_BOUND = 100_000


def _ymd(day) -> str:  # noqa: ANN001 - a date
    text = ccyymmdd(day)
    if type(day) is date:
        if len(_DATES) >= _CACHE_BOUND:
            _DATES.clear()
        _DATES[day] = text
    return text


def _amount(value: Decimal) -> str:
    text = amount(value)
    if type(value) is Decimal and value:
        if len(_AMOUNTS) >= _CACHE_BOUND:
            _AMOUNTS.clear()
        _AMOUNTS[value] = text
    return text


def _date(d) -> str:  # noqa: ANN001 - a date
    return _DATES.get(d) or _ymd(d)


def _loop_2010aa(p: Provider) -> str:
    """The billing provider's five segments as one piece (the same for every 2000A of this provider)."""
    if p.last_name:
        name = segment("NM1", "85", "1", _text(p.last_name), _text(p.first_name), "", "", "", "XX", p.npi)
    else:
        name = segment("NM1", "85", "2", _text(p.name), "", "", "", "", "XX", p.npi)
    return _T.join([name, segment("N3", _text(p.address)), segment("N4", _text(p.city), p.state, p.zip),
                    segment("REF", "EI", p.tin), segment("PER", "IC", _text(p.name)[:60], "TE", p.phone)])


def _loop_2010bb(inv: Invoice) -> str:
    payer = _text(inv.payer_name)
    check_named([("2010BB NM103 payer name", payer), ("2010BB NM109 payer identifier", inv.primary_payer_identifier)])
    return f"NM1*PR*2*{payer.strip()}*****PI*{inv.primary_payer_identifier.strip()}"


def _loop_2000b(hl: int, parent: int, inv: Invoice, payer_segment: str) -> str:
    """2000B (HL, SBR), 2010BA (subscriber) and 2010BB (payer): seven segments as one piece. The values from the
    invoice are checked together by one scan (is_clean); a failure names the element (check_named)."""
    m = inv.member
    last, first, address, city = _text(m.last_name), _text(m.first_name), _text(m.address), _text(m.city)
    if not is_clean(f"{last}{first}{m.cin}{address}{city}{m.state}{m.zip}"):
        check_named([("2010BA NM103 last name", last), ("2010BA NM104 first name", first),
                     ("2010BA NM109 CIN", m.cin), ("2010BA N301 address", address), ("2010BA N401 city", city),
                     ("2010BA N402 state", m.state), ("2010BA N403 zip", m.zip)])
    dob = m.date_of_birth
    return (f"HL*{hl}*{parent}*22*0{_T}SBR*P*18*******MC{_T}"
            f"NM1*IL*1*{last.strip()}*{first.strip()}****MI*{m.cin.strip()}{_T}N3*{address.strip()}{_T}"
            f"N4*{city.strip()}*{m.state.strip()}*{m.zip.strip()}{_T}DMG*D8*{_DATES.get(dob) or _ymd(dob)}*U{_T}"
            f"{payer_segment}")


def _name_2300(encounter: EncounterInput, clm01: str, lines: Sequence[ServiceLine], controls: Sequence[str],
               diagnoses: Sequence[str]) -> None:
    """The slow path of _loop_2300's check: each value on its own, so that the error names its element."""
    inv = encounter.invoice
    named = [("2300 CLM01 claim id", clm01), ("2300 REF*G1 authorization number", inv.authorization_number),
             ("2300 REF*F8 original reference", encounter.original_reference),
             ("2300 REF*D9 control number", inv.control_number),
             ("2300 REF*EA medical record number", inv.member.medical_record_number)]
    named += [(f"2300 HI diagnosis {i}", d) for i, d in enumerate(diagnoses, start=1)]
    for n, (line, control) in enumerate(zip(lines, controls), start=1):
        named += [(f"2400 line {n} SV101-02 procedure code", line.procedure_code),
                  *((f"2400 line {n} SV101 modifier {i}", m) for i, m in enumerate(line.modifiers, start=1)),
                  (f"2400 line {n} SV105 place of service", line.place_of_service),
                  (f"2400 line {n} REF*6R line control number", control)]
    check_named(named)


_charge = attrgetter("charge_amount")
_PROCEDURES: dict[tuple, str] = {}  # (procedure code, modifiers) -> SV101-02.. as written, checked once


def _procedure(encounter: EncounterInput, clm01: str, lines: Sequence[ServiceLine], controls: Sequence[str],
               diagnoses: Sequence[str], code: str, modifiers: tuple[str, ...]) -> str:
    if not is_clean(code + "".join(modifiers)):
        _name_2300(encounter, clm01, lines, controls, diagnoses)
    text = f"{code}:{':'.join(modifiers)}" if modifiers else code
    if len(_PROCEDURES) >= _CACHE_BOUND:
        _PROCEDURES.clear()
    _PROCEDURES[(code, modifiers)] = text
    return text


def _loop_2300(pieces: list[str], count: int, encounter: EncounterInput, clm01: str, lines: Sequence[ServiceLine],
               controls: Sequence[str], diagnoses: Sequence[str]) -> tuple[int, Decimal]:
    """The claim (2300, 2310B) and its lines (2400) appended to `pieces`; returns the segment count after the
    last line and the claim's total charge. Written as f-strings: numbers and dates are formatted by us and
    cannot hold a delimiter; every text value from the invoice is in the one string checked by is_clean()."""
    inv = encounter.invoice
    authorization, control_number, record = (inv.authorization_number, inv.control_number,
                                              inv.member.medical_record_number)
    places = [line.place_of_service for line in lines]
    pos = places[0]
    if places.count(pos) != len(places):
        pos = max(places, key=places.count) if len(places) <= 8 else _most_frequent(places)  # the same choice
    if not is_clean(f"{clm01}{authorization or ''}{encounter.original_reference or ''}{control_number or ''}"
                    f"{record or ''}{''.join(diagnoses)}{''.join(places)}{''.join(controls)}"):
        _name_2300(encounter, clm01, lines, controls, diagnoses)
    total = sum(map(_charge, lines), _ZERO)
    amounts = _AMOUNTS
    head = [f"CLM*{clm01}*{amount(total)}***{pos}:B:{encounter.frequency}*Y*A*Y*Y"]
    if authorization:
        head.append(f"REF*G1*{authorization.strip()}")
    if encounter.frequency in ("7", "8"):
        head.append(f"REF*F8*{encounter.original_reference.strip()}")
    if control_number:
        head.append(f"REF*D9*{control_number.strip()}")
    if record:
        head.append(f"REF*EA*{record.strip()}")
    head.append("HI*ABK:" + "*ABF:".join(diagnoses).replace(".", "") if diagnoses else "HI*")
    if _renders_differently(inv):
        r = inv.rendering_provider
        npi = ("XX", r.npi) if r.npi else ("", "")
        if r.last_name:
            head.append(segment("NM1", "82", "1", _text(r.last_name), _text(r.first_name), "", "", "", *npi))
        else:
            head.append(segment("NM1", "82", "2", _text(r.name), "", "", "", "", *npi))
    pieces.append(_T.join(head))
    pointer = dict(zip(diagnoses, _POINTERS)).__getitem__
    dates, procedures = _DATES, _PROCEDURES
    n = 0
    for line, control in zip(lines, controls):
        n += 1
        procedure = procedures.get((line.procedure_code, line.modifiers))
        if procedure is None:
            procedure = _procedure(encounter, clm01, lines, controls, diagnoses, line.procedure_code, line.modifiers)
        line_pos = line.place_of_service
        if line_pos == pos:
            line_pos = ""
        start, end = line.service_start_date, line.service_end_date
        if start == end:
            when = f"D8*{dates.get(start) or _ymd(start)}"
        else:
            when = f"RD8*{dates.get(start) or _ymd(start)}-{dates.get(end) or _ymd(end)}"
        charge, units = line.charge_amount, line.encounter_units
        pieces.append(f"LX*{n}{_T}SV1*HC:{procedure}*{amounts.get(charge) or _amount(charge)}*UN*"
                      f"{amounts.get(units) or _amount(units)}*{line_pos}**{':'.join(map(pointer, line.diagnosis_codes))}"
                      f"{_T}DTP*472*{when}{_T}REF*6R*{control}")
    return count + len(head) + 4 * n, total


def sort_key(encounter: EncounterInput) -> tuple:
    """The order claims are written in: billing provider (every field of its 2010AA), then member CIN."""
    return (_billing_key(encounter.invoice.billing_provider), encounter.invoice.member.cin)


def render_837p(
    encounters: Sequence[EncounterInput], *, envelope: Envelope, control: ControlNumbers,
    mode: Literal["claim", "encounter"], created: datetime, batch_id: str,
) -> RenderedBatch:
    """The whole interchange at once: `encounters` in any order (sorted here, stable), every claim kept."""
    refs: list[ClaimRef] = []
    was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived objects and no cycles: the collector would rescan the caller's heap
    try:
        keyed = [(sort_key(e), e) for e in encounters]
        keyed.sort(key=_first)  # stable: equal keys keep their input order
        stream = Stream837((), envelope=envelope, control=control, mode=mode, created=created,
                           batch_id=batch_id, on_claim=refs.append)
        stream._keyed = iter(keyed)  # the keys were just computed from these encounters: no need to redo them
        parts = [stream.header, *(t.text for t in stream.transactions()), stream.trailer]
        return RenderedBatch(text="".join(parts), claims=tuple(refs), transaction_count=stream.transaction_count,
                             segment_count=stream.segment_count, total_charge=stream.total_charge)
    finally:
        if was_enabled:
            gc.enable()


def _first(pair: tuple) -> object:
    return pair[0]


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
        self._providers: dict[tuple, str] = {}  # billing key -> its 2010AA, checked and written once
        self._payers: dict[tuple, str] = {}  # (payer name, identifier) -> its 2010BB NM1

    def _claims(self) -> Iterator[tuple]:
        """(encounter, key, claim) for each claim, pulling encounters one at a time."""
        keyed = getattr(self, "_keyed", None)
        if keyed is None:
            keyed = ((sort_key(e), e) for e in self._encounters)
        previous = None
        for key, encounter in keyed:
            if previous is not None and key < previous:
                raise X12ValueError("encounters are not in billing provider, member order")
            previous = key
            lines, controls = encounter.invoice.lines, encounter.line_control_numbers
            if encounter.frequency == "1" and len(lines) == len(controls) and len(lines) <= MAX_LINES_PER_CLAIM:
                codes: list[str] = []  # the fast path of split_claims: one claim
                for line in lines:
                    codes += line.diagnosis_codes
                diagnoses = list(dict.fromkeys(codes))
                if len(diagnoses) <= MAX_DIAGNOSES_PER_CLAIM:
                    yield encounter, key, 1, lines, controls, diagnoses
                    continue
            for claim in split_claims(encounter):
                yield encounter, key, *claim

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
        pieces, count = b.pieces, b.count
        providers, payers = self._providers, self._payers
        on_claim = self._on_claim
        per_member, limit = MAX_CLAIMS_PER_MEMBER_LOOP, MAX_CLAIMS_PER_TRANSACTION
        hl = provider_hl = member_at = in_member = 0
        provider_key = cin = None
        written = lines_written = 0
        charges = self.total_charge
        while pending is not None and written < limit:
            encounter, key, seq, lines, controls, diagnoses = pending
            inv = encounter.invoice
            if written == 0 or key[0] != provider_key:  # a new 2000A: same grouping as groupby over the chunk
                hl += 1
                provider_hl, provider_key, cin, in_member = hl, key[0], None, 0
                provider = providers.get(provider_key)
                if provider is None:
                    if len(providers) >= _CACHE_BOUND:
                        providers.clear()
                    provider = providers[provider_key] = _loop_2010aa(inv.billing_provider)
                pieces.append(f"HL*{provider_hl}**20*1{_T}{provider}")
                count += 6
            if key[1] != cin:
                cin, in_member = key[1], 0
            if in_member % per_member == 0:
                hl += 1
                payer_key = (inv.payer_name, inv.primary_payer_identifier)
                payer = payers.get(payer_key)
                if payer is None:
                    payer = payers[payer_key] = _loop_2010bb(inv)
                pieces.append(_loop_2000b(hl, provider_hl, inv, payer))
                member_at = count + 1
                count += 7
            in_member += 1
            clm01 = f"{encounter.claim_id_base}-{seq:02d}"
            first = count + 1
            count, total = _loop_2300(pieces, count, encounter, clm01, lines, controls, diagnoses)
            if on_claim is not None:
                on_claim(_new_ref(ClaimRef, (encounter.encounter_id, clm01, st02, tuple(controls), first, count,
                                             member_at, st_at, total)))
            charges += total
            lines_written += len(lines)
            written += 1
            pending = next(claims, None)
        b.count = count
        b.add("SE", b.count + 1 - st_at + 1, st02)
        self.total_charge = charges
        self.line_count += lines_written
        self.claim_count += written
        self.transaction_count += 1
        self.segment_count = b.count
        return Transaction(join(b.pieces), st02, st_at, b.count - st_at + 1), pending


_new_ref = tuple.__new__
