"""scripts/replica.py's pieces that need no Litestream: reading its durations, finding the
settings. Its measuring is tested with the real binary in tests/test_litestream.py."""

from pathlib import Path

import pytest

from standins import script


@pytest.mark.parametrize("text, seconds", [
    ("0s", 0.0), ("729ms", 0.729), ("-16ms", -0.016), ("18s", 18.0), ("1.5s", 1.5), ("2m3s", 123.0),
    ("1h2m3.5s", 3723.5), ("850µs", 0.00085), ("12us", 0.000012), ("40ns", 4e-08),
])
def test_go_durations_as_litestream_prints_them(text, seconds):
    assert script("replica").parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1s2", "lag"])
def test_anything_else_is_not_a_duration(text):
    with pytest.raises(ValueError):
        script("replica").parse_duration(text)


def test_settings_come_from_the_credential_under_systemd_else_from_etc(tmp_path):
    replica = script("replica")
    assert replica.Setup.from_values({}) == replica.Setup(
        Path("/usr/local/bin/litestream"), Path("/etc/litestream.yml"), Path("/etc/litestream.env"))
    assert replica.Setup.from_values({"CREDENTIALS_DIRECTORY": str(tmp_path)}).env_file == Path("/etc/litestream.env")
    (tmp_path / "litestream.env").write_text("LITESTREAM_REPLICA_URL=s3://b/p\n")
    assert replica.Setup.from_values({"CREDENTIALS_DIRECTORY": str(tmp_path)}).env_file == tmp_path / "litestream.env"
    chosen = replica.Setup.from_values({"CREDENTIALS_DIRECTORY": str(tmp_path), "LITESTREAM_ENV_FILE": "/x.env"})
    assert chosen.env_file == Path("/x.env")


def test_the_sign_in_database_is_named_after_the_main_one():
    opsenv = script("opsenv")
    assert opsenv.auth_database("/var/lib/ctv-bookedbiz-db/production.db") == \
        Path("/var/lib/ctv-bookedbiz-db/production.auth.db")
    assert opsenv.auth_database("/d/ctvdb") == Path("/d/ctvdb.auth.db")
    assert opsenv.auth_database("/d/x.sqlite3") == Path("/d/x.auth.sqlite3")


def test_only_the_databases_that_exist_are_checked(tmp_path):
    replica = script("replica")
    main = tmp_path / "production.db"
    assert replica.databases_of(main) == [main]
    (tmp_path / "production.auth.db").touch()
    assert replica.databases_of(main) == [main, tmp_path / "production.auth.db"]
