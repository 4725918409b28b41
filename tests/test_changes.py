"""The change log (one row per change, before and after) and the `ctvdb customers` / `ctvdb changes`
commands: their one-line outputs and exit codes."""

from __future__ import annotations

import json

from ctvdb import changes, cli, customers, db
from test_customers import ANA, cid, loaded  # noqa: F401 - the same imported workbook


def run(capsys, path, *args) -> tuple[int, str, str]:
    status = cli.main(["--db", str(path), *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_each_change_is_one_row_with_what_it_replaced_and_what_it_set(loaded):
    path, conn = loaded
    mcd, direct = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds")
    merge_id = customers.merge(conn, ANA, mcd, [direct])
    class_id = customers.set_class(conn, ANA, mcd, "irregular")
    logged = changes.list_changes(conn)
    assert [c.id for c in logged] == [class_id, merge_id]
    merge = changes.get(conn, merge_id)
    assert (merge.actor, merge.kind, merge.object_id) == (ANA, "merge", mcd)
    assert merge.before["codes"] == {"mcdonalds": direct} and merge.after["codes"] == {"mcdonalds": mcd}
    assert merge.before["customers"][str(direct)]["merged_into"] is None
    assert merge.after["customers"][str(direct)]["merged_into"] == mcd
    assert changes.get(conn, class_id).before["customers"][str(mcd)]["revenue_class"] == "regular"
    # the merged customer's history holds the merge, the survivor's both changes
    assert [c.id for c in changes.list_changes(conn, direct)] == [merge_id]
    assert [c.id for c in changes.list_changes(conn, mcd)] == [class_id, merge_id]


def test_commands_print_one_line_and_exit_0_or_one_sentence_and_exit_1(loaded, capsys):
    path, conn = loaded
    mcd, direct, pho = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds"), cid(conn, "phở hòa")
    status, out, _ = run(capsys, path, "customers", "merge", mcd, direct, "--by", ANA, "--name", "McDonald's USA")
    assert status == 0 and out.count("\n") == 1
    assert "was merged into" in out and "McDonald's USA" in out
    status, out, _ = run(capsys, path, "customers", "alias", "PHO HOA", pho, "--by", ANA)
    assert status == 0 and "alias of PHỞ HÒA" in out   # the spelling first imported
    status, out, _ = run(capsys, path, "customers", "move", pho, "--agency", "IW Group", "--by", ANA)
    assert status == 0 and "moved to agency IW Group" in out
    status, out, _ = run(capsys, path, "customers", "class", pho, "irregular", "--by", ANA)
    assert status == 0 and "irregular" in out
    status, out, _ = run(capsys, path, "customers", "rename", pho, "Pho Hoa Restaurants", "--by", ANA)
    assert status == 0 and "renamed Pho Hoa Restaurants" in out
    status, out, err = run(capsys, path, "customers", "merge", mcd, mcd, "--by", ANA)
    assert status == 1 and out == "" and err.strip().splitlines()[-1].startswith("ctvdb: error: A customer cannot")

    status, out, _ = run(capsys, path, "customers", "list", "--json")
    listed = {c["id"]: c for c in json.loads(out)}
    assert direct not in listed   # merged away
    assert listed[mcd]["name"] == "McDonald's USA" and "McDonalds" in listed[mcd]["aliases"]
    status, out, _ = run(capsys, path, "customers", "list", "--unreviewed")
    assert status == 0 and len(out.splitlines()) == len(listed)   # nobody was confirmed

    status, out, _ = run(capsys, path, "changes", "list", "--json")
    logged = json.loads(out)
    assert [c["kind"] for c in logged] == ["rename", "class", "move", "alias", "merge"]
    merge_id = logged[-1]["id"]
    status, out, _ = run(capsys, path, "changes", "undo", merge_id, "--by", ANA)
    assert status == 0 and f"Change {merge_id} was undone" in out
    assert customers.get(db.connect(path), direct).merged_into is None
    status, out, err = run(capsys, path, "changes", "undo", merge_id, "--by", ANA)
    assert status == 1 and "was already undone by ana@example.com" in err
    status, out, _ = run(capsys, path, "changes", "list")
    assert status == 0 and len(out.splitlines()) == 6 and f"(undone by change {merge_id + 5})" in out


def test_split_deactivate_reactivate_and_review_commands(loaded, capsys):
    path, conn = loaded
    pho = cid(conn, "phở hòa")
    own = cid(conn, "pho hoa")
    status, out, _ = run(capsys, path, "customers", "alias", "PHO HOA", pho, "--by", ANA)
    assert status == 0
    spots_of = lambda customer: conn.execute(   # noqa: E731
        "SELECT count(*) FROM spots WHERE customer_id = ?", (customer,)).fetchone()[0]
    together = spots_of(pho)
    status, out, _ = run(capsys, path, "customers", "split", "PHO HOA", "--by", ANA)
    assert status == 0 and out.count("\n") == 1
    assert spots_of(own) > 0 and spots_of(pho) + spots_of(own) == together
    status, out, _ = run(capsys, path, "customers", "deactivate", pho, "--by", ANA)
    assert status == 0 and not customers.get(conn, pho).active
    status, out, _ = run(capsys, path, "customers", "reactivate", pho, "--by", ANA)
    assert status == 0 and customers.get(conn, pho).active
    status, out, _ = run(capsys, path, "customers", "review", pho, "--by", ANA)
    assert status == 0 and customers.get(conn, pho).reviewed_at is not None
    status, out, err = run(capsys, path, "customers", "review", 999999, "--by", ANA)
    assert status == 1 and out == "" and "999999" in err.strip().splitlines()[-1]
    assert [c.kind for c in changes.list_changes(conn)][:4] == ["review", "reactivate", "deactivate", "split"]
