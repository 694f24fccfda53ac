"""pyx12 validation of our 837P text, findings mapped back to claims. pyx12's logger is silenced: its
messages carry data values (PHI).

pyx12 is single-threaded pure Python, so a large interchange is validated one transaction set (ST) per task
in worker processes: each ST is wrapped in the interchange's own ISA/GS and GE/IEA, and the findings'
segment numbers are shifted back to positions in the whole file."""

import collections
import functools
import io
import json
import logging
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

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


def warm_up() -> None:
    """Load the 837P maps once, so that processes forked afterwards start with them in memory."""
    import pyx12.map_if

    params = _params()
    for map_file in ("x12.control.00501.xml", "837.5010.X222.A1.xml"):
        pyx12.map_if.load_map_file(map_file, params, None)


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


@dataclass(frozen=True)
class _Piece:
    text: str
    first_segment: int  # the ST's number in the whole file (ISA = 1)
    segment_count: int  # ST..SE
    file_segment_count: int


def _segments(text: str, terminator: str) -> Iterator[str]:
    """The non-empty segments, stripped, one at a time: [s.strip() for s in text.split(terminator) if s.strip()]
    without the list (a 100,000-claim file has over a million segments)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find(terminator, start)
        if end < 0:
            end = size
        seg = text[start:end].strip()
        if seg:
            yield seg
        start = end + 1


def iter_transactions(text: str) -> tuple[int, Iterator[_Piece]]:
    """split_by_transaction, lazily: how many pieces there are, and the pieces one at a time (one ST's
    segments are held at once, not the file's)."""
    terminator = text[105] if len(text) > 105 else "~"
    count, head, tail, pieces, open_st = 0, [], [], 0, False
    for seg in _segments(text, terminator):
        count += 1
        if count <= 2:
            head.append(seg)
        tail = [tail[-1], seg] if tail else [seg]
        if seg.startswith("ST*"):
            open_st = True
        elif seg.startswith("SE*") and open_st:
            pieces, open_st = pieces + 1, False
    if count < 4 or not (head[0].startswith("ISA") and tail[0].startswith("GE")):
        return 0, iter(())
    ge = tail[0].split("*")
    trailer = [f"GE*1*{ge[2] if len(ge) > 2 else ''}", tail[1]]

    def generate() -> Iterator[_Piece]:
        current: list[str] | None = None
        start = 0
        for i, seg in enumerate(_segments(text, terminator)):
            if seg.startswith("ST*"):
                current, start = [seg], i
            elif current is not None:
                current.append(seg)
                if seg.startswith("SE*"):
                    body = [head[0], head[1], *current, *trailer]
                    yield _Piece((terminator + "\n").join(body) + terminator + "\n", start + 1, i + 1 - start, count)
                    current = None

    return pieces, generate()


def split_by_transaction(text: str) -> list[_Piece]:
    """One stand-alone interchange per ST: the file's ISA and GS, the ST..SE, GE*1 and the file's IEA."""
    return list(iter_transactions(text)[1])


def _to_file_position(finding: Finding, piece: _Piece) -> Finding:
    n = finding.segment_number
    if not n or n <= 2:  # ISA, GS: the same in the piece and the file
        return finding
    if n <= 2 + piece.segment_count:
        return replace(finding, segment_number=piece.first_segment + n - 3)
    return replace(finding, segment_number=piece.file_segment_count - (2 + piece.segment_count + 2 - n))


_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _executor(processes: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # Workers fork from a clean forkserver, not from this process: a server has threads (and database
            # connections) a plain fork would copy; and unlike spawn, no caller's __main__ is re-imported.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["app.x12.pyx12_worker"])
            _pool = ProcessPoolExecutor(processes, mp_context=context)
            _pool_size = processes
        return _pool


def _discard_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def start_workers(processes: int | None = None) -> None:
    """Start the worker processes of validate_837_parallel and TransactionValidator now rather than on their first
    use, which waits seconds for the forkserver and each worker's imports."""
    processes = processes or default_processes()
    if processes > 1:
        pool = _executor(processes)
        # (the pool spawns a worker for each task submitted while none is idle)
        for future in [pool.submit(os.getpid) for _ in range(processes)]:
            future.result()


def validate_837_parallel(text: str, processes: int | None = None) -> ValidationReport:
    """Like validate_837, with the transaction sets checked side by side in `processes` worker processes
    (default: every core this process may use). No 999 is produced on this path. The pieces are made and
    handed to the workers a few at a time, so only those in flight are held beside the text."""
    processes = processes or default_processes()
    count, pieces = iter_transactions(text)
    if processes <= 1 or count <= 1:
        return validate_837(text)
    workers = min(processes, count)
    in_flight: collections.deque = collections.deque()
    results: list[tuple[_Piece, ValidationReport]] = []
    pool: ProcessPoolExecutor | None = _executor(workers)

    def settle_oldest() -> None:
        nonlocal pool
        piece, future = in_flight.popleft()
        if pool is not None:
            try:
                results.append((piece, future.result()))
                return
            except BrokenProcessPool:  # a worker died (killed, out of memory): check here rather than not at all
                _discard_pool()
                pool = None
        results.append((piece, validate_837(piece.text)))

    for piece in pieces:
        if pool is None:
            while in_flight:
                settle_oldest()
            results.append((piece, validate_837(piece.text)))
            continue
        try:
            in_flight.append((piece, pool.submit(validate_837, piece.text)))
        except BrokenProcessPool:
            _discard_pool()
            pool = None
            while in_flight:
                settle_oldest()
            results.append((piece, validate_837(piece.text)))
        while len(in_flight) > 2 * workers:
            settle_oldest()
    while in_flight:
        settle_oldest()
    findings = [_to_file_position(f, piece) for piece, report in results for f in report.findings]
    crashed = next((r.crashed for _, r in results if r.crashed), None)
    return ValidationReport(all(r.ok for _, r in results), findings, None, crashed=crashed)


class TransactionValidator:
    """validate_837_parallel fed one transaction set at a time, as a writer produces them, so that the whole
    file is never needed: each ST (its text exactly as written, segments ending in '~' and a newline) is wrapped
    in the interchange's ISA/GS (`header`) and GE*1/IEA, the same stand-alone interchange split_by_transaction
    makes of the whole file, and handed to a worker at once. At most 2 x `processes` pieces are in flight
    (add() waits for the oldest beyond that). finish() returns the report with segment numbers in the file.
    With one process (or a dead pool) each piece is checked here, one after another: still every ST."""

    def __init__(self, header: str, *, group_control: int | str, interchange_control: int,
                 processes: int | None = None):
        self._header = header
        self._trailer = f"GE*1*{group_control}~\nIEA*1*{interchange_control:09d}~\n"
        self._processes = processes or default_processes()
        self._pool: ProcessPoolExecutor | None = _executor(self._processes) if self._processes > 1 else None
        self._in_flight: collections.deque = collections.deque()
        self._results: list[tuple[tuple[int, int], ValidationReport]] = []
        self.transactions = 0

    def add(self, transaction: str, first_segment: int, segment_count: int) -> None:
        text = self._header + transaction + self._trailer
        where = (first_segment, segment_count)
        self.transactions += 1
        if self._pool is not None:
            try:
                self._in_flight.append((where, text, self._pool.submit(validate_837, text)))
            except BrokenProcessPool:
                self._lose_pool()
        if self._pool is None:
            self._drain()
            self._results.append((where, validate_837(text)))
        while len(self._in_flight) > 2 * self._processes:
            self._settle_oldest()

    def _lose_pool(self) -> None:  # a worker died (killed, out of memory): check here rather than not at all
        _discard_pool()
        self._pool = None

    def _settle_oldest(self) -> None:
        where, text, future = self._in_flight.popleft()
        if self._pool is not None:
            try:
                self._results.append((where, future.result()))
                return
            except BrokenProcessPool:
                self._lose_pool()
        self._results.append((where, validate_837(text)))

    def _drain(self) -> None:
        while self._in_flight:
            self._settle_oldest()

    def finish(self, file_segment_count: int) -> ValidationReport:
        self._drain()
        findings = [_to_file_position(f, _Piece("", first, count, file_segment_count))
                    for (first, count), report in self._results for f in report.findings]
        crashed = next((r.crashed for _, r in self._results if r.crashed), None)
        return ValidationReport(all(r.ok for _, r in self._results), findings, None, crashed=crashed)

    def abandon(self) -> None:
        """Stop waiting for pieces in flight (the cut is being given up)."""
        for _, _, future in self._in_flight:
            future.cancel()
        self._in_flight.clear()


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
