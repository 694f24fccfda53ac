"""Stream837: the interchange a transaction set at a time from encounters already in order, lazily."""

import pytest

from app.x12 import loops837p
from app.x12.loops837p import ControlNumbers, Envelope, Stream837, sort_key
from app.x12.pyx12_check import split_by_transaction, validate_837
from app.x12.segments import X12ValueError
from encounters837.test_loops837p import CREATED, render
from encounters837.test_splitting import one_line_invoices


def stream(encounters, **kw):
    return Stream837(encounters, envelope=Envelope(), control=ControlNumbers(7, 8, 9), mode="encounter",
                     created=CREATED, batch_id="B1", **kw)


def test_the_stream_is_render_837p_a_transaction_at_a_time(monkeypatch):
    monkeypatch.setattr(loops837p, "MAX_CLAIMS_PER_TRANSACTION", 7)
    monkeypatch.setattr(loops837p, "MAX_CLAIMS_PER_MEMBER_LOOP", 3)
    encounters = one_line_invoices(40, members=6)
    whole = render(encounters)
    pulled, claims = [], []

    def lazily():  # the stream asks for encounters only as it writes them
        for e in sorted(encounters, key=sort_key):
            pulled.append(e)
            yield e

    s = stream(lazily(), on_claim=claims.append)
    texts = []
    for t in s.transactions():
        assert len(pulled) <= 7 * (len(texts) + 1) + 1
        texts.append(t)
    assert s.header + "".join(t.text for t in texts) + s.trailer == whole.text
    assert tuple(claims) == whole.claims and s.transaction_count == whole.transaction_count == 6
    assert (s.segment_count, s.total_charge, s.claim_count) == (whole.segment_count, whole.total_charge, 40)
    pieces = split_by_transaction(whole.text)
    assert [(t.first_segment, t.segment_count) for t in texts] == [(p.first_segment, p.segment_count) for p in pieces]
    assert validate_837(whole.text).ok


def test_encounters_out_of_order_are_refused():
    encounters = sorted(one_line_invoices(3, members=3), key=sort_key)
    with pytest.raises(X12ValueError, match="not in billing provider, member order"):
        list(stream(reversed(encounters)).transactions())
