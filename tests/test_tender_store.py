"""Storing tenders: upsert by notice, idempotence, rectificatifs, cancellations, awards, dedup."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from reference.text import fold
from store.db import session_scope
from store.tender_models import LotRow, TenderNotice, TenderRow
from tenders.model import Lot, NoticeKind, Reserved, Tender
from tenders.store import (
    Summary,
    dedupe_key,
    get_cursor,
    list_tenders,
    lots_by_tender,
    notices_of,
    row_to_tender,
    set_cursor,
    upsert_tenders,
)
from tenders.ted_ref import canonical_ted_ref

DEADLINE = datetime(2027, 4, 20, 11, 0, tzinfo=UTC)


def call(source_id: str = "27-1001", source: str = "boamp", **fields) -> Tender:
    values = dict(
        title="Entretien des espaces verts de la commune",
        buyer="Ville de Saint-Étienne",
        description="Tonte, taille et désherbage des espaces verts communaux.",
        cpv_codes=["77310000"],
        departements=["42"],
        published=date(2027, 3, 2),
        deadline=DEADLINE,
        estimated_value=120_000.0,
        procedure="adapted",
        lots=[Lot("1", "Parcs", ["77311000"], 70_000.0), Lot("2", "Cimetières", ["77310000"])],
        url=f"https://www.boamp.fr/pages/avis/?q=idweb:{source_id}",
    )
    values.update(fields)
    return Tender(source=source, source_id=source_id, **values)


def upsert(engine, tenders, **kwargs) -> Summary:
    with session_scope(engine) as session:
        return upsert_tenders(session, tenders, **kwargs)


def tenders_in(engine) -> list[TenderRow]:
    with session_scope(engine) as session:
        return list(session.execute(select(TenderRow).order_by(TenderRow.id)).scalars())


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2015/S 051-089000", "89000-2015"),
        ("2019/S 040-091489", "91489-2019"),
        ("091489-2019", "91489-2019"),
        ("00091489-2019", "91489-2019"),
        ("  91489-2019 ", "91489-2019"),
        ("", None),
        (None, None),
    ],
)
def test_ted_references_have_one_spelling(raw, expected):
    assert canonical_ted_ref(raw) == expected


def test_dedupe_folds_titles_with_the_one_folding_rule():
    # reference.text.fold, the only folding: "œ" is "oe" here as everywhere (issue 10 found a
    # second copy here that kept "œ").
    assert fold("Entretien des Espaces-Verts (Écoles), lot n°2 !") == (
        "entretien des espaces verts ecoles lot n 2"
    )
    a = call(title="Travaux de gros œuvre", buyer="Ville de Lœuilly")
    b = call(title="TRAVAUX DE GROS OEUVRE", buyer="Ville de Loeuilly")
    assert dedupe_key(a) == dedupe_key(b) is not None


def test_dedupe_key_uses_the_deadline_date_in_paris():
    late_evening_utc = datetime(2027, 4, 19, 22, 30, tzinfo=UTC)  # 00:30 on the 20th in Paris
    key = dedupe_key(call(deadline=late_evening_utc))
    assert key == "ville de saint etienne|entretien des espaces verts de la commune|2027-04-20"
    assert dedupe_key(call(deadline=None)) is None
    assert dedupe_key(call(buyer="")) is None


# --- storing ------------------------------------------------------------------------------------


def test_new_tenders_are_stored_with_lots_and_an_aware_utc_deadline(engine):
    paris_deadline = datetime(2027, 4, 20, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    summary = upsert(engine, [call(deadline=paris_deadline, reserved=Reserved.SIAE,
                                   social_clause=True)])
    assert (summary.new, summary.updated, summary.merged, summary.unchanged) == (1, 0, 0, 0)
    (row,) = tenders_in(engine)
    assert row.deadline == datetime(2027, 4, 20, 10, 0, tzinfo=UTC)
    assert row.deadline.tzinfo is not None and row.deadline.utcoffset() == timedelta(0)
    assert row.first_seen.tzinfo is not None
    assert (row.source, row.source_id, row.boamp_ref, row.ted_ref) == (
        "boamp", "27-1001", "27-1001", None)
    assert row.status == "open" and row.needs_matching
    assert row.cpv_codes == ["77310000"] and row.departements == ["42"]
    assert row.reserved == "siae" and row.social_clause
    assert row.dedupe_key.endswith("|2027-04-20")
    with session_scope(engine) as session:
        lots = lots_by_tender(session, [row.id])[row.id]
        assert [(lot.number, lot.title, lot.cpv_codes, lot.estimated_value) for lot in lots] == [
            ("1", "Parcs", ["77311000"], 70_000.0), ("2", "Cimetières", ["77310000"], None)]
        back = row_to_tender(row, lots)
    assert back.deadline == paris_deadline
    assert back.all_cpv_codes() == {"77310000", "77311000"}
    assert back.reserved == Reserved.SIAE


def test_a_deadline_on_the_second_compares_equal_to_the_same_instant(engine):
    """Bulk-inserted dates must compare in SQL like those SQLAlchemy writes (on SQLite both are
    text: "12:00:00" sorts before "12:00:00.000000")."""
    deadline = datetime(2027, 4, 20, 10, 0, tzinfo=UTC)
    upsert(engine, [call(deadline=deadline)])
    with session_scope(engine) as session:
        found = session.scalars(select(TenderRow.source_id).where(
            TenderRow.deadline >= deadline, TenderRow.deadline <= deadline)).all()
        assert found == ["27-1001"]
        later = session.scalars(select(TenderRow.source_id).where(
            TenderRow.first_seen <= datetime.now(UTC))).all()
        assert later == ["27-1001"]


def test_ingesting_the_same_data_twice_changes_nothing(engine):
    batch = [call(f"27-{i}", title=f"Marché numéro {i}") for i in range(30)]
    first = upsert(engine, batch)
    stamps = {row.id: (row.updated_at, row.content_hash) for row in tenders_in(engine)}
    second = upsert(engine, batch, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert first.new == 30
    assert second.changes == 0 and second.unchanged == 30
    assert {row.id: (row.updated_at, row.content_hash) for row in tenders_in(engine)} == stamps
    assert count(engine, TenderRow) == 30 and count(engine, LotRow) == 60
    assert count(engine, TenderNotice) == 30


def test_a_republished_notice_with_new_content_marks_its_tender_changed(engine):
    upsert(engine, [call()])
    with session_scope(engine) as session:
        session.execute(TenderRow.__table__.update().values(needs_matching=False))
    later = DEADLINE + timedelta(days=7)
    summary = upsert(engine, [call(deadline=later, lots=[])])
    assert (summary.updated, summary.new) == (1, 0)
    (row,) = tenders_in(engine)
    assert row.status == "changed" and row.needs_matching
    assert row.deadline == later
    assert count(engine, LotRow) == 2  # a republication without lots keeps the known ones


def test_a_rectificatif_updates_its_tender_and_is_idempotent(engine):
    upsert(engine, [call()])
    rectificatif = call(
        "27-2002", kind=NoticeKind.RECTIFICATION, refers_to="27-1001",
        deadline=DEADLINE + timedelta(days=10), description="", estimated_value=None,
        lots=[Lot("1", "Parcs et jardins", ["77311000"])],
    )
    summary = upsert(engine, [rectificatif])
    assert (summary.new, summary.updated) == (0, 1)
    (row,) = tenders_in(engine)
    assert row.status == "changed" and row.needs_matching and row.kind == "rectification"
    assert row.deadline == DEADLINE + timedelta(days=10)
    # Empty fields of the rectificatif do not erase what the call said.
    assert row.description.startswith("Tonte") and row.estimated_value == 120_000.0
    with session_scope(engine) as session:
        assert [lot.title for lot in lots_by_tender(session, [row.id])[row.id]] == [
            "Parcs et jardins"]
        assert [(n.source_id, n.kind) for n in notices_of(session, row.id)] == [
            ("27-1001", "call"), ("27-2002", "rectification")]
    again = upsert(engine, [call(), rectificatif])
    assert again.changes == 0 and again.unchanged == 2


def test_a_rectificatif_and_its_call_in_one_batch_make_one_tender(engine):
    rectificatif = call("27-2002", kind=NoticeKind.RECTIFICATION, refers_to="27-1001",
                        published=date(2027, 3, 9), title="Entretien des espaces verts (modifié)")
    # Given out of order: the store applies the call first (publication date, then kind).
    summary = upsert(engine, [rectificatif, call()], chunk_size=1)
    assert (summary.new, summary.updated) == (1, 1)
    (row,) = tenders_in(engine)
    assert row.source_id == "27-1001" and row.title == "Entretien des espaces verts (modifié)"
    assert row.status == "changed"


def test_a_rectificatif_seen_before_its_call_waits_for_it(engine):
    rectificatif = call("27-2002", kind=NoticeKind.RECTIFICATION, refers_to="27-1001",
                        title="Entretien des espaces verts (modifié)", deadline=None)
    first = upsert(engine, [rectificatif])
    assert first.new == 1
    (row,) = tenders_in(engine)
    assert row.status == "changed" and row.needs_matching
    second = upsert(engine, [call()])  # the original, fetched later
    assert (second.new, second.merged) == (0, 1)
    (row,) = tenders_in(engine)
    assert row.title == "Entretien des espaces verts (modifié)"  # the correction stays
    assert row.deadline == DEADLINE  # what the correction lacked comes from the call
    assert upsert(engine, [call(), rectificatif]).changes == 0


def test_a_cancellation_marks_the_tender_cancelled(engine):
    upsert(engine, [call()])
    summary = upsert(engine, [call("27-3003", kind=NoticeKind.CANCELLATION, refers_to="27-1001",
                                   lots=[])])
    assert summary.updated == 1
    (row,) = tenders_in(engine)
    assert row.status == "cancelled" and not row.needs_matching
    assert row_to_tender(row).kind == NoticeKind.CANCELLATION
    # A later rectificatif does not reopen it.
    upsert(engine, [call("27-4004", kind=NoticeKind.RECTIFICATION, refers_to="27-1001",
                         title="Nouveau titre")])
    (row,) = tenders_in(engine)
    assert row.status == "cancelled" and not row.needs_matching and row.title == "Nouveau titre"


def test_an_award_closes_the_tender_found_by_buyer_title_and_deadline(engine):
    upsert(engine, [call()])
    award = call("27-5005", kind=NoticeKind.AWARD, title="ENTRETIEN des espaces-verts de la "
                 "commune", published=date(2027, 6, 1))
    summary = upsert(engine, [award])
    assert (summary.new, summary.updated) == (0, 1)
    (row,) = tenders_in(engine)
    assert row.status == "closed" and not row.needs_matching


def test_an_award_of_an_unknown_tender_is_stored_closed(engine):
    upsert(engine, [call("27-5005", kind=NoticeKind.AWARD)])
    (row,) = tenders_in(engine)
    assert row.status == "closed" and not row.needs_matching


# --- the same tender on BOAMP and TED -----------------------------------------------------------


@pytest.mark.parametrize("boamp_first", [True, False])
def test_the_ted_reference_carried_by_boamp_joins_both_sources(engine, boamp_first):
    boamp = call("15-31001", ted_ref="2015/S 043-074262", cpv_codes=["22000000"])
    ted = call("074262-2015", source="ted", title="France-Nice: Imprimés", buyer="CHU de Nice",
               cpv_codes=["22100000"], departements=["06"], estimated_value=None,
               url="https://ted.europa.eu/fr/notice/-/detail/74262-2015")
    notices = [boamp, ted] if boamp_first else [ted, boamp]
    upsert(engine, notices[:1])
    summary = upsert(engine, notices[1:])
    assert (summary.new, summary.merged) == (0, 1)
    (row,) = tenders_in(engine)
    assert (row.boamp_ref, row.ted_ref) == ("15-31001", "74262-2015")
    assert row.source == ("boamp" if boamp_first else "ted")
    assert row.status == "open"
    assert set(row.cpv_codes) == {"22000000", "22100000"}
    assert set(row.departements) == {"42", "06"}
    assert row.estimated_value == 120_000.0
    assert upsert(engine, notices).changes == 0


def test_without_a_ted_reference_buyer_title_and_deadline_join_the_sources(engine):
    upsert(engine, [call("27-1001")])
    ted = call("12345-2027", source="ted", title="Entretien des Espaces Verts de la Commune.",
               buyer="VILLE DE SAINT ETIENNE", deadline=DEADLINE + timedelta(hours=1))
    summary = upsert(engine, [ted])
    assert summary.merged == 1
    (row,) = tenders_in(engine)
    assert (row.boamp_ref, row.ted_ref) == ("27-1001", "12345-2027")


def test_different_deadlines_or_the_same_source_keep_tenders_apart(engine):
    upsert(engine, [call("27-1001")])
    other_day = call("12345-2027", source="ted", deadline=DEADLINE + timedelta(days=1))
    same_source = call("27-1002")  # a buyer's second call with the same title
    summary = upsert(engine, [other_day, same_source])
    assert summary.new == 2
    assert count(engine, TenderRow) == 3


@dataclass(slots=True)
class TenderWithAliases(Tender):
    """What a source can give once Tender carries `aliases` (see tenders.store._aliases)."""

    aliases: list[str] = field(default_factory=list)


def test_a_change_notice_finds_its_tender_by_another_id_of_the_notice(engine):
    # eForms: the change notice names the notice it changes by its UUID, while the notice is
    # stored under its publication number.
    uuid = "f42be27e-09cf-4f0e-a745-63ec689631e6"
    notice = TenderWithAliases(**{name: getattr(call("91489-2019", source="ted"), name)
                                  for name in Tender.__dataclass_fields__}, aliases=[uuid])
    upsert(engine, [notice])
    change = call("12000-2019", source="ted", kind=NoticeKind.RECTIFICATION, refers_to=uuid,
                  deadline=DEADLINE + timedelta(days=3))
    summary = upsert(engine, [change])
    assert (summary.new, summary.updated) == (0, 1)
    (row,) = tenders_in(engine)
    assert row.source_id == "91489-2019" and row.status == "changed"
    assert row.deadline == DEADLINE + timedelta(days=3)


# --- bulk ---------------------------------------------------------------------------------------


def test_upsert_works_in_bulk_not_one_query_per_notice(engine):
    batch = [call(f"27-{i}", title=f"Marché {i}") for i in range(600)]
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        first = upsert(engine, batch, chunk_size=200)
        inserted = len(statements)
        statements.clear()
        second = upsert(engine, batch, chunk_size=200)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert first.new == 600 and second.unchanged == 600
    # Per chunk of 200: a few look-ups and one executemany per table (SQLAlchemy may split a
    # large executemany into batches, a handful at most).
    assert inserted <= 3 * 15
    assert len(statements) <= 3 * 2
    assert count(engine, TenderRow) == 600 and count(engine, LotRow) == 1200


def test_notices_without_an_id_or_a_title_are_skipped(engine):
    summary = upsert(engine, [call(""), call("27-9", title="  "), call("27-10")])
    assert summary.new == 1
    assert summary.skipped == [("?", "no valid source id"), ("27-9", "no title")]


def test_list_tenders_and_the_cursor(engine):
    upsert(engine, [call("27-1", published=date(2027, 3, 1)), call("27-2", title="Autre",
                                                                     published=date(2027, 3, 5)),
                    call("27-3", title="Sans date", published=None)])
    with session_scope(engine) as session:
        assert [t.source_id for t in list_tenders(session)] == ["27-2", "27-1", "27-3"]
        assert [t.source_id for t in list_tenders(session, status="open", limit=1)] == ["27-2"]
        assert [t.source_id for t in list_tenders(session, limit=1)] == ["27-2"]
        assert get_cursor(session, "boamp") is None
        set_cursor(session, "boamp", date(2027, 3, 5))
    with session_scope(engine) as session:
        set_cursor(session, "boamp", date(2027, 3, 1))  # never backwards
        assert get_cursor(session, "boamp") == date(2027, 3, 5)
        set_cursor(session, "boamp", date(2027, 3, 6))
    with session_scope(engine) as session:
        assert get_cursor(session, "boamp") == date(2027, 3, 6)
