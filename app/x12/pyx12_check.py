"""pyx12 validation of our 837P text, findings mapped back to claims. pyx12's logger is silenced: its
messages carry data values (PHI)."""

import functools
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

_log = logging.getLogger("pyx12")
_log.addHandler(logging.NullHandler())
_log.propagate = False


@dataclass(frozen=True)
class Finding:
    st02: str | None
    segment_number: int | None  # 1-based in the whole file
    segment_id: str | None
    element: str | None
    code: str
    message: str

    def describe(self) -> str:
        where = f"segment {self.segment_number} ({self.segment_id})" if self.segment_number else "interchange"
        element = f", element {self.element}" if self.element else ""
        return f"{where}{element}: {self.message} [pyx12 {self.code}]"


@dataclass(frozen=True)
class ValidationReport:
    ok: bool
    findings: list[Finding]
    ack_999: str | None
    crashed: str | None = None


@functools.cache
def _params():
    import pyx12.map_if
    import pyx12.params

    # pyx12 re-parses its 1 MB map on every call; the maps never change, so load each once per process.
    if not hasattr(pyx12.map_if.load_map_file, "cache_info"):
        pyx12.map_if.load_map_file = functools.lru_cache(maxsize=16)(pyx12.map_if.load_map_file)
    return pyx12.params.params()


def _walk(node, ctx: dict, out: list[Finding]) -> None:
    """Flatten pyx12's JSON tree (interchanges > groups > transactions > segments > elements)."""
    if isinstance(node, list):
        for item in node:
            _walk(item, ctx, out)
        return
    if not isinstance(node, dict):
        return
    ctx = dict(ctx)
    if "trn_set_control_num" in node:
        ctx["st02"] = node["trn_set_control_num"]
    if "seg_id" in node:
        ctx.update(segment_number=node.get("cur_line"), segment_id=node["seg_id"], element=None)
    elif "cur_line" in node and "seg_id" not in node and "ele_pos" not in node:
        ctx.setdefault("segment_number", node.get("cur_line"))
    if "ele_pos" in node:
        sub = f"-{node['subele_pos']}" if node.get("subele_pos") else ""
        ctx["element"] = f"{ctx.get('segment_id') or ''}{int(node['ele_pos']):02d}{sub} {node.get('name', '')}".strip()
    for err in node.get("errors", []) or []:
        out.append(Finding(
            st02=ctx.get("st02"), segment_number=ctx.get("segment_number"), segment_id=ctx.get("segment_id"),
            element=ctx.get("element"), code=str(err.get("err_cde", "")), message=str(err.get("err_str", "")),
        ))
    for key, value in node.items():
        if key != "errors" and isinstance(value, list | dict):
            _walk(value, ctx, out)


def validate_837(text: str) -> ValidationReport:
    import pyx12.x12n_document

    ack, js = io.StringIO(), io.StringIO()
    try:
        ok = pyx12.x12n_document.x12n_document(param=_params(), src_file=io.StringIO(text), fd_997=ack,
                                               fd_html=None, fd_json=js)
    except Exception as exc:  # noqa: BLE001 - pyx12 crashes (IndexError) on odd composites
        return ValidationReport(False, [Finding(None, None, None, None, "crash",
                                                f"pyx12 could not read the file ({type(exc).__name__})")],
                                None, crashed=type(exc).__name__)
    findings: list[Finding] = []
    raw = js.getvalue()
    if raw:
        try:
            _walk(json.loads(raw), {}, findings)
        except ValueError:
            pass
    if not ok and not findings:
        findings.append(Finding(None, None, None, None, "envelope",
                                "the interchange envelope could not be read (ISA must be exactly 106 characters)"))
    return ValidationReport(bool(ok) and not findings, findings, ack.getvalue() or None)


def findings_by_claim(report: ValidationReport, claims: Sequence) -> dict[str, list[Finding]]:
    """Each finding goes to the claim whose segments hold it; a finding in a member loop's own segments goes
    to every claim of that loop; anything else (envelope, headers) goes to every claim."""
    out: dict[str, list[Finding]] = {}
    for f in report.findings:
        n = f.segment_number
        owners = [c for c in claims if n and c.first_segment <= n <= c.last_segment]
        if not owners and n:
            owners = [c for c in claims if c.member_loop_segment <= n < c.first_segment]
            if owners:
                loop = max(c.member_loop_segment for c in owners)
                owners = [c for c in claims if c.member_loop_segment == loop]
        for c in owners or claims:
            out.setdefault(c.encounter_id, []).append(f)
    return out
