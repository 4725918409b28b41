"""scripts/opsenv.py: env files read as systemd reads them, and the run lock."""

import fcntl
import os
import subprocess

import pytest

from standins import SCRIPTS, script

opsenv = script("opsenv")


def test_plain_assignments_comments_and_blank_lines():
    text = "# settings\n; also a comment\n\nNTFY_TOPIC=ctv-alerts\n  DATABASE_PATH = /var/lib/x.db  \n"
    assert opsenv.parse_env(text) == {"NTFY_TOPIC": "ctv-alerts", "DATABASE_PATH": "/var/lib/x.db"}


def test_quotes_keep_spaces_and_join_like_the_shell():
    text = "A=\"two  words \"\nB='single $HOME'\nC=\"x\"'y'z\nD=\"say \\\"hi\\\" \\n\"\n"
    assert opsenv.parse_env(text) == {"A": "two  words ", "B": "single $HOME", "C": "xyz", "D": 'say "hi" \\n'}


def test_a_hash_inside_a_value_is_not_a_comment():
    assert opsenv.parse_env("SLACK_WEBHOOK_URL=https://h/x#frag # not a comment\n") == {
        "SLACK_WEBHOOK_URL": "https://h/x#frag # not a comment"}


def test_backslash_newline_continues_the_value():
    assert opsenv.parse_env("EXTRA=--one \\\n--two\nNEXT=1") == {"EXTRA": "--one --two", "NEXT": "1"}


def test_lines_without_equals_and_invalid_names_are_ignored():
    text = "export\nexport A=1\n1BAD=x\nGOOD=\nGOOD2"
    assert opsenv.parse_env(text) == {"GOOD": ""}


def test_the_file_overrides_the_process_environment(tmp_path):
    env_file = tmp_path / "ctv.env"
    env_file.write_text("DATABASE_PATH=/from/file.db\n")
    settings = opsenv.load_settings(env_file, {"DATABASE_PATH": "/from/env.db", "OTHER": "kept"})
    assert settings == {"DATABASE_PATH": "/from/file.db", "OTHER": "kept"}


def test_the_lock_refuses_a_second_holder_and_dies_with_its_process(tmp_path):
    lock = tmp_path / "run.lock"
    fd = opsenv.hold_lock(lock)
    with pytest.raises(opsenv.AlreadyRunning):
        opsenv.hold_lock(lock)
    os.close(fd)
    other = os.open(lock, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once its holder is gone
    os.close(other)


def test_the_script_prints_settings_with_secrets_hidden(tmp_path):
    env_file = tmp_path / "ctv.env"
    env_file.write_text("NTFY_TOPIC=alerts\nNTFY_TOKEN=tk_secret\n")
    result = subprocess.run([SCRIPTS / "opsenv.py", env_file], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["NTFY_TOPIC='alerts'", "NTFY_TOKEN=(set, hidden)"]
