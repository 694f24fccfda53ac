"""id_in(): the cut's "id IN (...)" conditions. On PostgreSQL one array parameter (= ANY), elsewhere an IN list;
both select exactly the ids given."""

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.batches.models import EncounterRow
from app.db import id_in


def test_postgresql_gets_one_array_parameter_and_sqlite_an_in_list():
    ids = list(range(1, 1001))
    pg = select(EncounterRow.id).where(id_in(EncounterRow.id, ids, postgresql.dialect())).compile(
        dialect=postgresql.dialect())
    assert "= ANY (" in pg.string and len(pg.params) == 1 and list(pg.params.values()) == [ids]
    lite = select(EncounterRow.id).where(id_in(EncounterRow.id, ids, sqlite.dialect())).compile(
        dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
    assert " IN (" in lite.string and len(lite.params) == 1000


def test_it_selects_exactly_the_ids_given(app, client):
    from factories import ecm_invoice

    for n in range(4):
        assert client.post("/v1/invoices", json=ecm_invoice(number=f"IDIN{n}", cin=f"9123456{n}A")).status_code == 201
    with app.state.database.sessionmaker() as session:
        every = session.scalars(select(EncounterRow.id).order_by(EncounterRow.id)).all()
        wanted = [every[0], every[2]]
        got = session.scalars(select(EncounterRow.id).where(
            id_in(EncounterRow.id, wanted, session.get_bind().dialect)).order_by(EncounterRow.id)).all()
    assert got == wanted
