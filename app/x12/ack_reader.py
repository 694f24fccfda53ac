"""Reading a 999 implementation acknowledgment. Pure; hostile text raises Ack999Error, nothing else."""

from dataclasses import dataclass, field

IK4_CODES = {"1": "required element missing", "2": "conditional required element missing",
             "3": "too many data elements", "4": "data element too short", "5": "data element too long",
             "6": "invalid character", "7": "invalid code value", "8": "invalid date", "9": "invalid time",
             "10": "exclusion condition violated", "12": "too many repetitions", "13": "too many components",
             "I10": "implementation not used element present", "I12": "implementation pattern match failure",
             "I13": "implementation not used data element present", "I6": "code value not used in implementation",
             "I9": "implementation dependent data element missing"}
IK3_CODES = {"1": "unrecognized segment", "2": "unexpected segment", "3": "required segment missing",
             "4": "loop occurs over maximum times", "5": "segment exceeds maximum use",
             "6": "segment not in defined transaction set", "7": "segment not in proper sequence",
             "8": "segment has data element errors", "I4": "implementation not used segment present",
             "I6": "implementation dependent segment missing", "I7": "implementation loop occurs under minimum times",
             "I8": "implementation segment below minimum use", "I9": "implementation dependent not used segment present"}


class Ack999Error(ValueError):
    pass


@dataclass
class SegmentError:
    segment_id: str
    position_in_st: int | None
    loop_id: str | None
    segment_error_code: str | None
    element_position: str | None = None
    element_error_code: str | None = None

    def describe(self) -> str:
        text = f"{self.segment_id} (segment {self.position_in_st} of the transaction)"
        if self.segment_error_code:
            text += f": {IK3_CODES.get(self.segment_error_code, 'error ' + self.segment_error_code)}"
        if self.element_position:
            what = IK4_CODES.get(self.element_error_code or "", f"error {self.element_error_code}")
            text += f"; element {self.segment_id}{self.element_position.zfill(2)}: {what}"
        return text


@dataclass
class TransactionAck:
    st02: str
    status: str  # A accepted, E accepted with errors, R rejected (and M/W/X treated as R)
    errors: list[SegmentError] = field(default_factory=list)


@dataclass
class Ack999:
    functional_id: str
    group_control_number: str
    version: str
    accepted_group: bool
    transactions: list[TransactionAck]


def read_999(text: str) -> Ack999:
    if not isinstance(text, str) or len(text) < 106 or not text.lstrip().startswith("ISA"):
        raise Ack999Error("a 999 starts with a 106-character ISA segment")
    text = text.lstrip()
    element, component, terminator = text[3], text[104], text[105]
    if len({element, component, terminator}) < 3 or any(c.isalnum() for c in (element, component, terminator)):
        raise Ack999Error("the ISA does not declare usable delimiters")
    segments = [s.strip().split(element) for s in text.split(terminator) if s.strip()]
    ak1 = next((s for s in segments if s[0] == "AK1"), None)
    ak9 = next((s for s in segments if s[0] == "AK9"), None)
    if not any(s[0] == "ST" and len(s) > 1 and s[1] == "999" for s in segments):
        raise Ack999Error("no ST*999 transaction in the text")
    if ak1 is None or len(ak1) < 3 or ak9 is None or len(ak9) < 2:
        raise Ack999Error("a 999 needs AK1 (group acknowledged) and AK9 (group result)")
    transactions: list[TransactionAck] = []
    current: TransactionAck | None = None
    last_error: SegmentError | None = None
    for seg in segments:
        tag = seg[0]
        if tag == "AK2":
            if len(seg) < 3:
                raise Ack999Error("AK2 without a transaction control number")
            current = TransactionAck(st02=seg[2], status="")
            transactions.append(current)
        elif tag == "IK3" and current is not None:
            position = seg[2] if len(seg) > 2 else ""
            last_error = SegmentError(
                segment_id=seg[1] if len(seg) > 1 else "", loop_id=seg[3] if len(seg) > 3 and seg[3] else None,
                position_in_st=int(position) if position.isdigit() else None,
                segment_error_code=seg[4] if len(seg) > 4 and seg[4] else None,
            )
            current.errors.append(last_error)
        elif tag == "IK4" and last_error is not None:
            position = seg[1].split(component)[0] if len(seg) > 1 else ""
            if last_error.element_position is None:
                last_error.element_position, last_error.element_error_code = position, seg[3] if len(seg) > 3 else None
            else:
                extra = SegmentError(last_error.segment_id, last_error.position_in_st, last_error.loop_id,
                                     last_error.segment_error_code, position, seg[3] if len(seg) > 3 else None)
                current.errors.append(extra)
        elif tag == "IK5" and current is not None:
            if len(seg) < 2 or not seg[1]:
                raise Ack999Error("IK5 without an acknowledgment code")
            current.status = seg[1] if seg[1] in ("A", "E") else "R"
    if any(not t.status for t in transactions):
        raise Ack999Error("an AK2 has no IK5 result")
    return Ack999(functional_id=ak1[1], group_control_number=ak1[2], version=ak1[3] if len(ak1) > 3 else "",
                  accepted_group=ak9[1] in ("A", "E"), transactions=transactions)
