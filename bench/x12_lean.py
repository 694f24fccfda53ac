"""A lower bound for the writer/floor ratio in CPython: the leanest render of the bench's claims we could write.

It writes the same provider, member, claim and line segments as `render_837p` (checked segment for segment by
`same_segments`), but does less than a writer must: no envelope or transaction sets (so no split at 5,000
claims, no member loop split at 100), no replacement or void claims, no rendering provider, no claim
splitting, no transliteration, one `isascii` in place of the delimiter checks, and a plain tuple per claim in
place of a ClaimRef. It is a probe, not a writer: its time over the floor says how far below the writer's ratio
any pure-Python writer over these objects could go."""

from collections.abc import Sequence
from operator import attrgetter

from app.x12.loops837p import EncounterInput
from app.x12.segments import amount, ccyymmdd

_T = "~\n"
_billing_key = attrgetter("npi", "tin", "name", "first_name", "last_name", "address", "city", "state", "zip",
                          "phone")
_cin = attrgetter("invoice.member.cin")
_charge = attrgetter("charge_amount")
_POINTERS = tuple(str(i) for i in range(1, 13))


def order(encounters: Sequence[EncounterInput]) -> list[tuple[tuple, list[EncounterInput]]]:
    """Billing provider, then member CIN, stable: grouped by provider (no key tuple per claim), then sorted."""
    groups: dict[tuple, list[EncounterInput]] = {}
    for e in encounters:
        key = _billing_key(e.invoice.billing_provider)
        group = groups.get(key)
        if group is None:
            groups[key] = [e]
        else:
            group.append(e)
    ordered = []
    for key in sorted(groups):
        group = groups[key]
        group.sort(key=_cin)
        ordered.append((key, group))
    return ordered


def lean_render(encounters: Sequence[EncounterInput]) -> tuple[str, list[tuple]]:
    dates: dict = {}
    amounts: dict = {}
    procedures: dict = {}
    pieces: list[str] = []
    refs: list[tuple] = []
    hl = count = 0
    for _, group in order(encounters):
        hl += 1
        provider_hl = hl
        p = group[0].invoice.billing_provider
        kind, last, first = ("1", p.last_name, p.first_name or "") if p.last_name else ("2", p.name, "")
        pieces.append(f"HL*{hl}**20*1{_T}NM1*85*{kind}*{last.upper()}*{first.upper()}****XX*{p.npi}{_T}"
                      f"N3*{p.address.upper()}{_T}N4*{p.city.upper()}*{p.state}*{p.zip}{_T}REF*EI*{p.tin}{_T}"
                      f"PER*IC*{p.name.upper()[:60]}*TE*{p.phone}")
        count += 6
        for e in group:
            inv = e.invoice
            m = inv.member
            lines, controls = inv.lines, e.line_control_numbers
            authorization, control_number, record = (inv.authorization_number, inv.control_number,
                                                     m.medical_record_number)
            clm01 = f"{e.claim_id_base}-01"
            codes: list[str] = []
            places = []
            for line in lines:
                codes += line.diagnosis_codes
                places.append(line.place_of_service)
            diagnoses = list(dict.fromkeys(codes))
            if not (f"{m.last_name}{m.first_name}{m.cin}{m.address}{m.city}{m.state}{m.zip}{clm01}"
                    f"{authorization or ''}{control_number or ''}{record or ''}{''.join(diagnoses)}"
                    f"{''.join(places)}{''.join(controls)}").isascii():
                raise ValueError("the lean probe takes ASCII only")
            pos = places[0]
            if places.count(pos) != len(places):
                pos = max(places, key=places.count)
            total = sum(map(_charge, lines))
            dob = m.date_of_birth
            hl += 1
            head = (f"HL*{hl}*{provider_hl}*22*0{_T}SBR*P*18*******MC{_T}"
                    f"NM1*IL*1*{m.last_name.upper()}*{m.first_name.upper()}****MI*{m.cin}{_T}"
                    f"N3*{m.address.upper()}{_T}N4*{m.city.upper()}*{m.state}*{m.zip}{_T}"
                    f"DMG*D8*{dates.get(dob) or dates.setdefault(dob, ccyymmdd(dob))}*U{_T}"
                    f"NM1*PR*2*{inv.payer_name.upper()}*****PI*{inv.primary_payer_identifier}{_T}"
                    f"CLM*{clm01}*{amount(total)}***{pos}:B:1*Y*A*Y*Y{_T}")
            extra = 0
            if authorization:
                head += f"REF*G1*{authorization}{_T}"
                extra += 1
            if control_number:
                head += f"REF*D9*{control_number}{_T}"
                extra += 1
            if record:
                head += f"REF*EA*{record}{_T}"
                extra += 1
            pieces.append(head + "HI*ABK:" + "*ABF:".join(diagnoses).replace(".", ""))
            pointer = dict(zip(diagnoses, _POINTERS)).__getitem__
            n = 0
            for line, control in zip(lines, controls):
                n += 1
                key = (line.procedure_code, line.modifiers)
                procedure = procedures.get(key)
                if procedure is None:
                    procedure = procedures[key] = ":".join(key[:1] + key[1])
                line_pos = line.place_of_service
                if line_pos == pos:
                    line_pos = ""
                start, end = line.service_start_date, line.service_end_date
                start_text = dates.get(start) or dates.setdefault(start, ccyymmdd(start))
                if start == end:
                    when = f"D8*{start_text}"
                else:
                    when = f"RD8*{start_text}-{dates.get(end) or dates.setdefault(end, ccyymmdd(end))}"
                charge, units = line.charge_amount, line.encounter_units
                charge_text = amounts.get(charge) or amounts.setdefault(charge, amount(charge))
                pieces.append(f"LX*{n}{_T}SV1*HC:{procedure}*{charge_text}"
                              f"*UN*{amounts.get(units) or amounts.setdefault(units, amount(units))}*{line_pos}**"
                              f"{':'.join(map(pointer, line.diagnosis_codes))}{_T}DTP*472*{when}{_T}REF*6R*{control}")
            first_segment = count + 8
            count += 8 + extra + 4 * n
            refs.append((e.encounter_id, clm01, controls, first_segment, count, total))
    return _T.join(pieces) + _T, refs


def _body(text: str) -> list[str]:
    """The segments from each 2000A on, without the HL segments (numbered per transaction set by the writer)."""
    envelope = ("ISA*", "GS*", "ST*", "BHT*", "NM1*41*", "PER*IC*EDI DESK*", "NM1*40*", "SE*", "GE*", "IEA*", "HL*")
    return [s for s in text.split(_T)[:-1] if not s.startswith(envelope)]


def same_segments(writer_text: str, lean_text: str) -> bool:
    return _body(writer_text) == _body(lean_text)
