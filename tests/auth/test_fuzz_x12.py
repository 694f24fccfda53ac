"""Hostile strings against the X12 writer and the 999 reader: the writer either refuses a value
(X12ValueError) or writes exactly the elements it was given; the reader returns an Ack999 or raises
Ack999Error — never anything else, and a 999 posted to the API is never a 500."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.x12.ack_reader import Ack999, Ack999Error, read_999
from app.x12.pyx12_check import validate_837
from app.x12.segments import X12ValueError, segment
from factories import ecm_invoice

HOSTILE = st.text(alphabet=st.sampled_from(list(string.printable) + ["~", "*", ":", "^", "\x00", "\x1f", "\x7f", "é",
                                                                     "\u2028", "\ufeff", "ß", "\U0001f600"]),
                  max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(HOSTILE, min_size=1, max_size=8))
def test_writer_refuses_or_writes_exactly_the_elements_given(values):
    try:
        text = segment("NM1", *values)
    except X12ValueError:
        assert any(ch in "~*:^" or ord(ch) < 32 or ord(ch) >= 127 for v in values for ch in v)
        return
    parts = text.split("*")
    assert parts[0] == "NM1"
    expected = [v.strip() for v in values]
    while expected and expected[-1] == "":
        expected.pop()
    assert parts[1:] == expected
    assert all(ch not in "~:^" and 32 <= ord(ch) < 127 for ch in text)


def _rejecting_999() -> str:
    from encounters837.test_loops837p import encounter, render

    return validate_837(render([encounter(ecm_invoice())]).text.replace("*U~", "*Q~", 1)).ack_999


SAMPLE_999 = _rejecting_999()  # made before Hypothesis runs: pyx12 draws on `random`, which strategies must not


def sample_999() -> str:
    return SAMPLE_999


@st.composite
def mutated_999(draw):
    text = sample_999()
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(0, len(text) - 1)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif kind == "insert":
            text = text[:at] + draw(HOSTILE) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(st.sampled_from(["*", "~", ":", "^", "\n", "IK3", "AK2*837*", "9" * 12, ""])) + \
                text[at + 1:]
        elif kind == "truncate":
            text = text[:at]
        else:
            text = text[:at] + text[at:at + 60] + text[at:]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_999(), HOSTILE, st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_999_reader_returns_an_ack_or_raises_ack999error_only(text):
    try:
        assert isinstance(read_999(text), Ack999)
    except Ack999Error:
        pass


def test_hostile_999_bodies_posted_to_a_batch_are_4xx_problems_never_500(client):
    assert client.post("/v1/invoices", json=ecm_invoice()).status_code == 201
    batch = client.post("/v1/batches", json={}).json()
    mutate = mutated_999()
    bodies = ["", "ISA", "\x00" * 50, "ISA*" + "*" * 300, sample_999()[:200], sample_999().replace("~", ""),
              sample_999().replace("AK1*HC*", "AK1*HC*999"), *(mutate.example() for _ in range(25))]
    for body in bodies:
        r = client.post(f"/v1/batches/{batch['id']}/acknowledgments", content=body.encode("utf-8", "replace"),
                        headers={"content-type": "text/plain"})
        assert r.status_code < 500, (r.status_code, body[:80])
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
