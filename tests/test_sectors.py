"""The sector list people edit (ctvdb/sectors.py) and `ctvdb sectors …`: add, rename, retire, bring
back, give customers a sector — each one change-log row; bad input one sentence and nothing changed;
the sector analysis follows at once."""

from __future__ import annotations

import json

import pytest

from ctvdb import changes, customers, db, sectors
from ctvdb.web import queries
from ctvdb.web.params import Filters
from test_changes import run
from test_customers import ANA, TODAY, cid, digest, loaded  # noqa: F401 - the same imported workbook


def test_the_seed_list_has_the_sectors_the_domain_names(loaded):
    _, conn = loaded
    names = {s.name for s in sectors.list_sectors(conn)}
    assert {"Political", "Education", "Casino & Gaming", "Automotive"} <= names
    assert all(s.active for s in sectors.list_sectors(conn))


def test_add_rename_retire_and_bring_back_each_one_change(loaded):
    _, conn = loaded
    first = sectors.add(conn, ANA, "pets", "Pet Care")
    assert sectors.get(conn, "PETS").name == "Pet Care"
    sectors.rename(conn, ANA, "PETS", "Pets & Vets")
    sectors.retire(conn, ANA, "PETS")
    assert not sectors.get(conn, "PETS").active and "PETS" not in {s.code for s in sectors.list_sectors(conn, retired=False)}
    last = sectors.restore(conn, ANA, "PETS")
    logged = [c for c in changes.list_changes(conn, object_type="sector", object_id=sectors.get(conn, "PETS").id)]
    assert [c.kind for c in logged] == ["restore", "retire", "rename", "add"] and [logged[-1].id, logged[0].id] == [first, last]
    assert logged[2].before == {"name": "Pet Care"} and logged[2].after == {"name": "Pets & Vets"}


@pytest.mark.parametrize("action, sentence", [
    (lambda c: sectors.add(c, ANA, "AUTO", "Cars"), "There is already a sector with the code AUTO (Automotive)."),
    (lambda c: sectors.add(c, ANA, "CARS", "automotive"), "Sector AUTO is already called Automotive."),
    (lambda c: sectors.add(c, ANA, "9X", "Nine"), "“9X” is not a sector code"),
    (lambda c: sectors.add(c, ANA, "NEW", "  "), "A sector needs a name."),
    (lambda c: sectors.rename(c, ANA, "NOPE", "Nope"), "There is no sector “NOPE”"),
    (lambda c: sectors.retire(c, "", "AUTO"), "Say who makes the change"),
    (lambda c: sectors.assign(c, ANA, [], "AUTO"), "Choose at least one customer"),
    (lambda c: sectors.assign(c, ANA, [999999], "AUTO"), "There is no customer 999999."),
])
def test_bad_input_is_one_sentence_and_changes_nothing(loaded, action, sentence):
    _, conn = loaded
    before = digest(conn)
    with pytest.raises(changes.ChangeError) as refused:
        action(conn)
    assert str(refused.value).startswith(sentence) and digest(conn) == before


def test_customers_given_a_sector_move_in_the_sector_analysis_and_political_ones_turn_irregular(loaded):
    _, conn = loaded
    mcd, pho = cid(conn, "admerasia:mcdonald's"), cid(conn, "phở hòa")
    gross = {i: conn.execute("SELECT total(gross_rate) FROM spots WHERE customer_id = ? AND broadcast_month / 100 = ?",
                             (i, TODAY.year)).fetchone()[0] for i in (mcd, pho)}
    change = sectors.assign(conn, ANA, [mcd, pho], "QSR")
    report = queries.sector_analysis(conn, filters=Filters(year=TODAY.year), today=TODAY)
    rows = {r["sector"]: r for r in report.table("sectors").rows}
    assert rows["Restaurants"]["customers"] == 2
    assert rows["Restaurants"]["amount"] == pytest.approx(gross[mcd] + gross[pho], abs=0.01)
    sectors.assign(conn, ANA, [pho], "POL")
    assert customers.get(conn, pho).revenue_class == "irregular" and customers.get(conn, mcd).revenue_class == "regular"
    with pytest.raises(changes.ChangeError, match="has sector Political already"):
        sectors.assign(conn, ANA, [pho], "POL")
    sectors.retire(conn, ANA, "QSR")
    with pytest.raises(changes.ChangeError, match="Sector Restaurants is retired"):
        sectors.assign(conn, ANA, [pho], "QSR")
    assert customers.get(conn, mcd).sector_code == "QSR"   # a retired sector keeps its customers
    # An undo of the assignment puts both customers back as they were.
    sectors.restore(conn, ANA, "QSR")
    assert {c.id for c in changes.list_changes(conn, mcd)} >= {change}   # one change, both customers
    assert change in {c.id for c in changes.list_changes(conn, pho)}
    political = next(c for c in changes.list_changes(conn, pho) if c.kind == "sector")
    customers.undo(conn, ANA, political.id)
    assert customers.get(conn, pho).sector_code == "QSR" and customers.get(conn, pho).revenue_class == "regular"


def test_the_sector_commands_print_one_line(loaded, capsys):
    path, conn = loaded
    pho = cid(conn, "phở hòa")
    status, out, _ = run(capsys, path, "sectors", "add", "PETS", "Pet Care", "--by", ANA)
    assert status == 0 and out.strip().endswith("Sector Pet Care (PETS) was added.")
    status, out, _ = run(capsys, path, "sectors", "assign", "PETS", pho, "--by", ANA)
    assert status == 0 and "was given sector Pet Care" in out
    status, out, _ = run(capsys, path, "sectors", "list", "--json")
    listed = {s["code"]: s for s in json.loads(out)}
    assert listed["PETS"]["customers"] == 1 and listed["PETS"]["active"] == 1
    status, out, err = run(capsys, path, "sectors", "retire", "NOPE", "--by", ANA)
    assert status == 1 and out == "" and "There is no sector “NOPE”" in err
    assert db.connect(path).execute("SELECT sector_code FROM customers WHERE id = ?", (pho,)).fetchone()[0] == "PETS"
