"""Agencies as people decide them (ctvdb/agencies.py) and `ctvdb agencies …`: merge, alias, rename,
undo — against the workbook of tests/test_customers.py imported for real; a later import books a
merged or aliased spelling's customers to the agency a person chose."""

from __future__ import annotations

import json

import pytest

from ctvdb import agencies, changes, cli, importer
from test_customers import ANA, NOV, TODAY, digest, loaded  # noqa: F401 - the same imported workbook
from xlsx_rows import Row, write


def agency_id(conn, name: str) -> int:
    return conn.execute("SELECT id FROM agencies WHERE name_key = ?", (name.lower(),)).fetchone()[0]


def booking(conn) -> dict:
    """Every customer's agency and every spot's, without the versions a change bumps."""
    def rows(sql):
        return sorted(tuple(r) for r in conn.execute(sql))
    return {"customers": rows("SELECT id, agency_id, agency_chain, name FROM customers"),
            "spots": rows("SELECT id, agency_id FROM spots"),
            "agencies": rows("SELECT id, name, name_key, merged_into FROM agencies")}


def test_a_merge_books_the_customers_through_the_survivor_and_an_undo_puts_them_back(loaded, tmp_path):
    path, conn = loaded
    worldlink, admerasia = agency_id(conn, "WorldLink"), agency_id(conn, "Admerasia")
    before = booking(conn)
    moved = [r[0] for r in conn.execute("SELECT id FROM customers WHERE agency_id = ?", (worldlink,))]
    assert moved
    change_id = agencies.merge(conn, ANA, admerasia, [worldlink])
    assert {r[0] for r in conn.execute("SELECT DISTINCT agency_id FROM customers WHERE id IN"
                                       " (SELECT value FROM json_each(?))", (json.dumps(moved),))} == {admerasia}
    # the spots keep the agency the import saw (no report reads it; a large customer's spots
    # are not rewritten), and the next import books them through the survivor
    assert booking(conn)["spots"] == before["spots"]
    assert agencies.get(conn, worldlink).merged_into == admerasia
    logged = changes.get(conn, change_id)
    assert logged.object_type == "agency" and logged.before["customers"] == {str(c): worldlink for c in moved}
    changes.undo(conn, ANA, change_id)
    assert booking(conn) == before
    with pytest.raises(changes.ChangeError, match="already undone"):
        changes.undo(conn, ANA, change_id)
    # Merged again, a later import of a WorldLink bill code books its new customer through Admerasia.
    agencies.merge(conn, ANA, admerasia, [worldlink])
    write(tmp_path / "later.xlsx", {"Commercials": [Row(bill_code="WorldLink:Brand New Client", month=NOV,
                                                        air_date=NOV, gross=80.0, line=1)]})
    importer.import_workbook(path, tmp_path / "later.xlsx", mode="manual", auto_setup=True, today=TODAY)
    new = conn.execute("SELECT agency_id FROM customers WHERE name = 'Brand New Client'").fetchone()[0]
    assert new == admerasia


def test_an_alias_books_another_spelling_to_the_agency(loaded, tmp_path):
    path, conn = loaded
    admerasia = agency_id(conn, "Admerasia")
    agencies.alias(conn, ANA, "Admerasia Inc", admerasia)
    write(tmp_path / "later.xlsx", {"Commercials": [Row(bill_code="Admerasia Inc:Pacific Bakery", month=NOV,
                                                        air_date=NOV, gross=50.0, line=1)]})
    importer.import_workbook(path, tmp_path / "later.xlsx", mode="manual", auto_setup=True, today=TODAY)
    row = conn.execute("SELECT agency_id, agency_chain FROM customers WHERE name = 'Pacific Bakery'").fetchone()
    assert tuple(row) == (admerasia, "Admerasia Inc")   # booked through Admerasia, spelt as the log spells it
    listed = {a["id"]: a for a in agencies.list_agencies(conn)}
    assert listed[admerasia]["spellings"] == "Admerasia Inc"


@pytest.mark.parametrize("action, sentence", [
    (lambda c, a: agencies.merge(c, ANA, a, [a]), "An agency cannot be merged into itself"),
    (lambda c, a: agencies.merge(c, ANA, 999999, [a]), "There is no agency 999999."),
    (lambda c, a: agencies.merge(c, ANA, a, []), "Choose at least one agency"),
    (lambda c, a: agencies.rename(c, ANA, a, "  "), "An agency needs a name."),
    (lambda c, a: agencies.rename(c, ANA, a, "worldlink"), "Another agency is called worldlink"),
    (lambda c, a: agencies.alias(c, ANA, "Admerasia", a), "“Admerasia” is Admerasia (agency"),
    (lambda c, a: agencies.rename(c, "", a, "X"), "Say who makes the change"),
    (lambda c, a: agencies.rename(c, ANA, a, "X", expected_version=99), "Admerasia (agency"),
])
def test_bad_input_is_one_sentence_and_changes_nothing(loaded, action, sentence):
    _, conn = loaded
    admerasia = agency_id(conn, "Admerasia")
    before = digest(conn)
    with pytest.raises(changes.ChangeError) as refused:
        action(conn, admerasia)
    assert str(refused.value).startswith(sentence) and digest(conn) == before


def test_the_agency_commands_print_one_line(loaded, capsys):
    path, conn = loaded
    admerasia, worldlink = agency_id(conn, "Admerasia"), agency_id(conn, "WorldLink")
    assert cli.main(["--db", str(path), "agencies", "rename", str(admerasia), "Admerasia USA", "--by", ANA]) == 0
    assert capsys.readouterr().out.strip().endswith("was renamed Admerasia USA.")
    assert cli.main(["--db", str(path), "agencies", "merge", str(admerasia), str(worldlink), "--by", ANA]) == 0
    assert "WorldLink (agency" in capsys.readouterr().out
    assert cli.main(["--db", str(path), "agencies", "list", "--json"]) == 0
    listed = {a["id"]: a for a in json.loads(capsys.readouterr().out)}
    assert worldlink not in listed and listed[admerasia]["name"] == "Admerasia USA"
    assert cli.main(["--db", str(path), "agencies", "merge", str(worldlink), str(admerasia), "--by", ANA]) == 1
    assert "was merged into Admerasia USA" in capsys.readouterr().err
