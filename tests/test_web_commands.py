"""The web side's commands: sectors and budgets loads, serve's start-up check, the demo build."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from ctvdb import cli
from ctvdb.auth_web import SESSION_COOKIE
from ctvdb.config import Config
from ctvdb.web import commands
from ctvdb.web.app import create_app

YEAR = 2026


@pytest.fixture
def database(imported_sample, private_copy):
    return private_copy(imported_sample(rows=3000, months="Jan-25..Dec-26").database)


def page(database, session_token, url):
    client = Client(create_app(Config(database_path=database)))
    client.set_cookie(SESSION_COOKIE, session_token(database))
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def customers(database):
    import sqlite3
    conn = sqlite3.connect(database)
    rows = conn.execute("SELECT id, agency_chain, name FROM customers ORDER BY id").fetchall()
    conn.close()
    return [(i, f"{a}:{n}" if a else n) for i, a, n in rows]


def test_sectors_load_assigns_sectors_and_the_report_shows_them(database, tmp_path, capsys, session_token):
    (first_id, first), (_, second), *_ = customers(database)
    csv_file = tmp_path / "sectors.csv"
    csv_file.write_text(f"customer,sector\n\"{first}\",AUTO\n{first_id + 1},Real Estate\n")
    before = page(database, session_token, f"/reports/sector-analysis?year={YEAR}&format=json").json
    total = before["tables"]["sectors"]["totals"]["amount"]
    assert cli.main(["--db", str(database), "sectors", "load", str(csv_file)]) == 0
    out = capsys.readouterr()
    assert f"database {database}" in out.err and "2 customers given a sector" in out.out
    after = page(database, session_token, f"/reports/sector-analysis?year={YEAR}&format=json").json
    names = {r["sector"] for r in after["tables"]["sectors"]["rows"]}
    assert {"Automotive", "Real Estate", "Unassigned"} >= names and "Unassigned" in names
    assert after["tables"]["sectors"]["totals"]["amount"] == total


@pytest.mark.parametrize("content, message", [
    ("customer,sector\nNobody At All,AUTO\n", "line 2, column customer: no customer “Nobody At All”"),
    ("customer,sector\n1,AUTO\n2,Rocketry\n", "line 3, column sector: unknown sector “Rocketry”"),
    ("client,sector\n1,AUTO\n", "line 1: the header lacks column(s) customer"),
])
def test_sectors_load_refuses_a_bad_line_and_loads_nothing(database, tmp_path, capsys, content, message):
    csv_file = tmp_path / "sectors.csv"
    csv_file.write_text(content)
    assert cli.main(["--db", str(database), "sectors", "load", str(csv_file)]) == 1
    err = capsys.readouterr().err
    assert message in err and "nothing was loaded" in err
    assert len([line for line in err.splitlines() if line.startswith("ctvdb: error")]) == 1
    import sqlite3
    conn = sqlite3.connect(database)
    assert conn.execute("SELECT count(*) FROM customers WHERE sector_code IS NOT NULL").fetchone()[0] == 0
    conn.close()


def test_budgets_load_drives_management_performance(database, tmp_path, capsys, session_token):
    csv_file = tmp_path / "budgets.csv"
    csv_file.write_text("ae,month,amount\n Frank Tran ,Jan-26,\"$10,000\"\nFRANK TRAN,2026-02,5000.50\n"
                        "frank tran,202603,4999.50\nGrace Liu,2026-04,7000\n")
    assert cli.main(["--db", str(database), "budgets", "load", str(csv_file)]) == 0
    assert "4 AE-month budgets stored" in capsys.readouterr().out
    data = page(database, session_token, f"/reports/management-performance?year={YEAR}&format=json").json
    q1 = next(r for r in data["tables"]["quarters"]["rows"] if r["ae"] == "FRANK TRAN" and r["quarter"] == f"Q1 {YEAR}")
    assert q1["budget"] == 20000.0
    assert q1["pacing"] == round(100 * q1["booked"] / 20000.0, 1)
    assert data["tables"]["aes"]["totals"]["budget"] == 27000.0
    html = page(database, session_token, f"/reports/management-performance?year={YEAR}").get_data(as_text=True)
    assert "No budget is loaded" not in html and "27,000.00" in html


def test_budgets_load_names_the_bad_cell(database, tmp_path, capsys):
    csv_file = tmp_path / "budgets.csv"
    csv_file.write_text("ae,month,amount\nFrank Tran,Jan-26,100\nFrank Tran,Jan-26,lots\n")
    assert cli.main(["--db", str(database), "budgets", "load", str(csv_file)]) == 1
    assert "line 3, column amount: “lots” is not an amount" in capsys.readouterr().err
    csv_file.write_text("ae,month,amount\nFrank Tran,Januar,100\n")
    assert cli.main(["--db", str(database), "budgets", "load", str(csv_file)]) == 1
    assert "line 2, column month: The budget month “Januar” is not a month" in capsys.readouterr().err


def test_serve_refuses_a_missing_database_in_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.db"
    assert cli.main(["--db", str(missing), "serve", "--port", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ctvdb: database {missing}",
                   f"ctvdb: error: cannot start the web app: database {missing} does not exist"
                   " (check DATABASE_PATH, or create it with `ctvdb init`)"]


def test_serve_runs_uvicorn_with_the_guarded_protocol_as_production_does(database, monkeypatch):
    import uvicorn
    from uvicorn.importer import import_from_string
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from ctvdb.web.guard import GuardedH11Protocol

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    monkeypatch.setenv("DATABASE_PATH", "restored after the test")   # serve sets it for the workers
    assert cli.main(["--db", str(database), "serve", "--port", "8123"]) == 0
    assert calls == [("ctvdb.web.asgi:app", {"host": "127.0.0.1", "port": 8123, "workers": 1,
                                              "log_level": "info", **commands.UVICORN_OPTIONS})]
    protocol = import_from_string(commands.UVICORN_OPTIONS["http"])   # as uvicorn's Config.load does
    assert protocol is GuardedH11Protocol and issubclass(protocol, H11Protocol)


def test_demo_builds_once_then_is_current(tmp_path, monkeypatch, capsys, session_token):
    import datetime as dt
    monkeypatch.setattr(commands, "DEMO_SPOTS_PER_MONTH", 40)
    monkeypatch.setattr(commands, "DEMO_YEARS", 2)
    path = tmp_path / "var" / "demo.db"
    path.parent.mkdir()
    assert commands.build_demo(path, today=dt.date(2026, 11, 24)) is True
    assert commands.build_demo(path, today=dt.date(2026, 11, 24)) is False
    assert "is current" in capsys.readouterr().out
    data = page(path, session_token, "/reports/monthly/revenue-summary?year=2025&format=json").json
    assert {r["status"] for r in data["tables"]["months"]["rows"]} == {"CLOSED"}
    data = page(path, session_token, "/reports/management-performance?year=2026&format=json").json
    assert data["tables"]["aes"]["totals"]["budget"] > 0
    data = page(path, session_token, "/reports/sector-analysis?year=2026&format=json").json
    assert len(data["tables"]["sectors"]["rows"]) > 2
    # The workbench has decisions to show: five customers confirmed, a merge, an irregular one.
    from ctvdb import changes, db
    conn = db.connect_readonly(path)
    try:
        kinds = [c.kind for c in changes.list_changes(conn)]
        assert kinds.count("review") == 5 and kinds.count("class") == 1
        assert conn.execute("SELECT count(*) FROM customers WHERE reviewed_at IS NOT NULL").fetchone()[0] == 5
        # Issue 15: the accounts have people's data: eight customers assigned (two reassigned this
        # month), their contacts, calls, emails and follow-ups (two overdue), two agencies' terms.
        from ctvdb import accounts_read
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "account_assignments", "account_contacts", "account_addresses", "account_activities", "account_follow_ups")}
        assert counts == {"account_assignments": 10, "account_contacts": 10, "account_addresses": 8,
                          "account_activities": 16, "account_follow_ups": 8}
        assert len(accounts_read.follow_ups(conn, dt.date(2026, 11, 24), within_days=-1)) == 2
        assert conn.execute("SELECT count(*) FROM accounts WHERE commission_pct = 15").fetchone()[0] == 2
    finally:
        conn.close()
