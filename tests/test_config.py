"""Configuration is read from the environment once, into a frozen object."""

import dataclasses
from pathlib import Path

import pytest

from ctvdb import config


def test_defaults_are_under_var():
    cfg = config.load({})
    assert cfg.database_path == Path("var/ctvdb.db")
    assert cfg.max_rejected_ratio == 0.01


def test_environment_overrides_and_the_object_is_frozen():
    cfg = config.load({"DATABASE_PATH": "/srv/prod.db", "DATA_PATH": "/srv/in", "CTVDB_MAX_REJECTED_RATIO": "0.05",
                       "CTVDB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.2", "CTVDB_IMPORT_CLOCK": "2026-11-02"})
    assert (cfg.database_path, cfg.data_path, cfg.max_rejected_ratio) == (Path("/srv/prod.db"), Path("/srv/in"), 0.05)
    assert cfg.trusted_proxies == ("127.0.0.1", "10.0.0.2")
    assert cfg.import_clock == "2026-11-02"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.database_path = Path("x")
    assert cfg.with_database("/tmp/other.db").database_path == Path("/tmp/other.db")
    assert cfg.with_database(None) is cfg


def test_connection_limits_have_defaults_and_come_from_the_environment():
    cfg = config.load({})
    assert (cfg.request_timeout, cfg.send_timeout) == (10.0, 60.0)
    assert (cfg.max_connections, cfg.max_connections_per_address) == (2000, 200)
    cfg = config.load({"CTVDB_REQUEST_TIMEOUT": "2.5", "CTVDB_SEND_TIMEOUT": "30",
                       "CTVDB_MAX_CONNECTIONS": "500", "CTVDB_MAX_CONNECTIONS_PER_ADDRESS": "50"})
    assert (cfg.request_timeout, cfg.send_timeout) == (2.5, 30.0)
    assert (cfg.max_connections, cfg.max_connections_per_address) == (500, 50)
